//! Bad input and bad environments, table-driven, across `init primary`, `join cluster`, `cleanup`
//! and `render`: each case names the message and the fix a user reads and the exit code a
//! pipeline sees, and leaves nothing behind: no IAM role, policy or OIDC provider, no workspace or
//! bucket, no Kubernetes write, no helm install or uninstall, no rendered folder.

mod common;
mod support;

use std::process::Output;

use common::{World, block_on, stderr, stdout_json};
use support::fake_kube::Kubeconfig;
use support::moto::Moto;

const REGION: &str = "us-east-2";
const OTHER_REGION: &str = "eu-west-1";

/// What the environment of a case lacks or has wrong; the arguments say the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Env {
    /// The world's own: credentials, region, a kubeconfig with one context per cluster.
    Normal,
    /// No AWS credentials anywhere (no AWS_* keys, no profile, no instance metadata).
    NoCredentials,
    /// No region from the environment or a profile, and no --region.
    NoRegion,
    /// KUBECONFIG names a file that does not exist.
    MissingKubeconfig,
    /// helm is not on PATH and --helm is not given.
    NoHelmOnPath,
}

/// Whether the fleet exists when a case runs: `init primary` made it with `prod` as primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fleet {
    Absent,
    Made,
}

struct Case {
    what: &'static str,
    fleet: Fleet,
    env: Env,
    /// Split on whitespace; `{name}` placeholders are filled from the world (see `Vars`).
    /// Commands that change something also get `--yes`, so only the error stops them, and
    /// `--helm {helm}` unless the case is about helm.
    args: &'static str,
    code: i32,
    message: &'static str,
    /// What the error's `fix:` line (or clap's usage hint) says.
    fix: &'static str,
}

const fn case(
    what: &'static str,
    args: &'static str,
    code: i32,
    message: &'static str,
    fix: &'static str,
) -> Case {
    Case {
        what,
        fleet: Fleet::Absent,
        env: Env::Normal,
        args,
        code,
        message,
        fix,
    }
}

impl Case {
    const fn with_fleet(self) -> Case {
        Case {
            fleet: Fleet::Made,
            ..self
        }
    }

    const fn env(self, env: Env) -> Case {
        Case { env, ..self }
    }
}

const CORRECT: &str = "correct the value and run the command again";
const CLAP: &str = "For more information, try '--help'.";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // init primary: names
    case("cluster name starting with '-'", "init primary --cluster=-prod", 2, r#"invalid cluster name "-prod": an EKS cluster name has 1-100 letters"#, CORRECT),
    case("cluster name with a dot", "init primary --cluster prod.eu", 2, r#"invalid cluster name "prod.eu""#, CORRECT),
    case("cluster name of 101 characters", "init primary --cluster {name-101}", 2, "invalid cluster name", CORRECT),
    case("namespace in capitals", "init primary --cluster prod --namespace Kubecost", 2, r#"invalid namespace "Kubecost": a namespace is a DNS label"#, CORRECT),
    case("namespace of 64 characters", "init primary --cluster prod --namespace {name-64}", 2, "at most 63 lowercase letters", CORRECT),
    case("release name with '_'", "init primary --cluster prod --release kube_cost", 2, r#"invalid release name "kube_cost""#, CORRECT),
    case("release name of 54 characters", "init primary --cluster prod --release {name-54}", 2, "at most 53 lowercase letters", CORRECT),
    case("bucket name with capitals and '_'", "init primary --cluster prod --bucket Not_A_Bucket", 2, r#"invalid bucket name "Not_A_Bucket""#, CORRECT),
    case("bucket name of 64 characters", "init primary --cluster prod --bucket {name-64}", 2, "a bucket name has 3 to 63 characters", CORRECT),
    case("bucket name shaped like an IP address", "init primary --cluster prod --bucket 192.168.1.1", 2, "must not look like an IP address", CORRECT),
    case("unknown region", "init primary --cluster prod --region us-east-9", 2, r#"invalid region "us-east-9": not an AWS region kcfed knows"#, CORRECT),
    case("unknown workspace region", "init primary --cluster prod --workspace-region eu-west-9", 2, r#"invalid region "eu-west-9""#, CORRECT),
    case("workspace id of the wrong shape", "init primary --cluster prod --workspace-id kubecost-amp", 2, r#"invalid workspace id "kubecost-amp""#, "correct the value"),
    case("empty workspace alias", "init primary --cluster prod --workspace-alias=", 2, r#"invalid workspace alias """#, CORRECT),
    case("chart 2.x newer than the bridge", "init primary --cluster prod --chart-version 2.10.0", 2, "the 2.x line ends at 2.9, the step to Kubecost 3", CORRECT),
    case("chart 2.9 without a bucket", "init primary --cluster prod --chart-version 2.9.7 --quick-start", 2, r#"invalid chart version "2.9.7": 2.9 runs the FinOps agent, which writes to the federated bucket"#, "drop --quick-start"),
    case("chart 2.x older than kcfed knows", "init primary --cluster prod --chart-version 2.3.0", 2, "2.4 to 2.8", CORRECT),
    case("chart 3.x newer than kcfed knows", "init primary --cluster prod --chart-version 3.3.0", 2, r#"invalid chart version "3.3.0": kcfed knows the values of Kubecost 3.0 to 3.2"#, CORRECT),
    case("chart 3.x without a bucket", "init primary --cluster prod --chart-version 3.2.1 --quick-start", 2, r#"invalid chart version "3.2.1": Kubecost 3 has no AMP"#, "drop --quick-start"),
    case("chart version that is no version", "init primary --cluster prod --chart-version latest", 2, "a chart version looks like 2.8.7", CORRECT),
    case("chart older than kcfed knows", "init primary --cluster prod --chart-version 1.99.0", 2, "1.103 to 1.108", CORRECT),
    case("Pod Identity with chart 1.x", "init primary --cluster prod --identity pod-identity", 2, "--identity pod-identity cannot serve this fleet", "Prometheus 2.35 to 2.48"),
    case("Pod Identity with chart 2.4.2", "init primary --cluster prod --identity pod-identity --chart-version 2.4.2", 2, "--identity pod-identity cannot serve this fleet", "unpinned Prometheus image"),
    case("Pod Identity without a bucket", "init primary --cluster prod --identity pod-identity --chart-version 2.8.7 --quick-start", 2, "--identity pod-identity cannot serve this fleet", "drop --quick-start, or use --identity irsa"),
    case("render: an AMP line without the fleet's workspace", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --chart-version 2.8.7 --out {out}", 2, "chart 2.8.7 writes to the fleet's AMP workspace", "pass the fleet's --workspace-id"),
    case("render: Pod Identity with chart 1.x", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --identity pod-identity --out {out}", 2, "--identity pod-identity cannot serve this fleet", "use --identity irsa"),
    case("unknown identity mode", "init primary --cluster prod --identity kiam", 2, "invalid value 'kiam' for '--identity <IDENTITY>'", CLAP),
    case("values file that is missing", "init primary --cluster prod --values {no-such-file}", 2, "invalid values file", CORRECT),
    case("--bucket with --quick-start", "init primary --cluster prod --bucket b-1 --quick-start", 2, "'--bucket <BUCKET>' cannot be used with '--quick-start'", CLAP),
    case("--workspace-id with --workspace-alias", "init primary --cluster prod --workspace-id ws-1 --workspace-alias a", 2, "cannot be used with", CLAP),
    // init primary: things named that do not exist or do not fit
    case("EKS cluster that does not exist", "init primary --cluster ghost", 2, r#"EKS cluster "ghost" was not found in region us-east-2"#, "aws eks list-clusters --region us-east-2"),
    case("workspace id that does not exist", "init primary --cluster prod --workspace-id ws-00000000-0000-0000-0000-000000000000", 2, r#"AMP workspace "ws-00000000-0000-0000-0000-000000000000" was not found in region us-east-2"#, "--workspace-region"),
    case("workspace id of another region", "init primary --cluster prod --workspace-id {eu-workspace}", 2, "was not found in region us-east-2", "pass --workspace-region when the workspace is in another region"),
    case("bucket name another account owns", "init primary --cluster prod --bucket {taken-bucket}", 1, "S3 bucket {taken-bucket} exists but kcfed cannot use it: S3 answers 403 Forbidden: another AWS account owns the name", "choose other names"),
    case("missing --kubeconfig file", "init primary --cluster prod --kubeconfig {no-such-file}", 2, "kubeconfig: no kubeconfig at", "aws eks update-kubeconfig --name CLUSTER --region REGION"),
    case("KUBECONFIG names a missing file", "init primary --cluster prod", 2, "kubeconfig: no kubeconfig at {no-such-file}", "aws eks update-kubeconfig").env(Env::MissingKubeconfig),
    case("kubeconfig that is not YAML", "init primary --cluster prod --kubeconfig {garbage-kubeconfig}", 2, "kubeconfig: cannot read", "repair the file"),
    case("unknown kube context", "init primary --cluster prod --kube-context nope", 2, r#"context "nope" is not in the kubeconfig (contexts: "#, "pass one of the contexts listed to --kube-context"),
    case("kube context of another EKS cluster", "init primary --cluster prod --kube-context {staging}", 2, "points at cluster {staging}, not {prod}", "pass the context of {prod} to --kube-context"),
    case("no kube context for the cluster", "init primary --cluster prod --kubeconfig {staging-only-kubeconfig}", 2, "no context in the kubeconfig points at {prod}", "aws eks update-kubeconfig --name prod --region us-east-2"),
    case("no --cluster and a current context that is not EKS", "init primary --kubeconfig {minikube-kubeconfig}", 2, "no --cluster given and the current kube context is not an EKS cluster", "pass --cluster NAME"),
    case("AWS profile that does not exist", "init primary --cluster prod --profile nope", 2, r#"the AWS profile "nope" is not in the AWS config files"#, "aws configure list-profiles"),
    case("no AWS credentials", "init primary --cluster prod", 2, "sts:GetCallerIdentity on the calling identity failed: no usable AWS credentials", "`aws sts get-caller-identity` must work").env(Env::NoCredentials),
    // A name the kubeconfig's EKS contexts do not know: nothing gives its region.
    case("no AWS region", "init primary --cluster elsewhere", 2, "no AWS region is configured", "pass --region, set AWS_REGION").env(Env::NoRegion),
    case("--helm that does not exist", "init primary --cluster prod --helm /nonexistent/helm", 2, r#"helm was not found at "/nonexistent/helm""#, "or pass --helm PATH"),
    case("--helm that is not a program", "init primary --cluster prod --helm {not-a-program}", 2, "helm was not found at", "install helm"),
    case("--storage-class that is not a name", "init primary --cluster prod --storage-class Fast_SSD", 2, r#"invalid storage class "Fast_SSD""#, "correct the value"),
    case("helm older than 3.8", "init primary --cluster prod --helm {helm-3.7}", 2, r#"reports "v3.7.2+g663a896": kcfed needs helm 3.8 or newer"#, "install helm 3.8 or newer, 3.x or 4.x"),
    case("helm whose version cannot be read", "join cluster --cluster staging --helm {helm-unreadable}", 2, r#"reports "Version 12": kcfed cannot read that version"#, "nothing was changed").with_fleet(),
    case("no helm on PATH", "init primary --cluster prod", 2, r#"helm was not found at "helm""#, "install helm 3.8 or newer").env(Env::NoHelmOnPath),
    case("join: another identity mode than the fleet's", "join cluster --cluster staging --identity pod-identity", 2, "--identity pod-identity: the fleet uses irsa", "kcfed init primary --identity pod-identity").with_fleet(),
    case("a second primary for the fleet", "init primary --cluster staging", 1, "the fleet's primary is {prod}", "kcfed join cluster").with_fleet(),
    // join cluster
    case("join before the fleet exists", "join cluster --cluster staging", 2, r#"AMP workspace "kubecost-amp" was not found in region us-east-2"#, "kcfed init primary"),
    case("join: more --kube-context than --cluster", "join cluster --cluster staging --kube-context a --kube-context b", 2, "2 --kube-context values for 1 --cluster values", "give one --kube-context per --cluster"),
    case("join: malformed cluster name", "join cluster --cluster=-staging", 2, "invalid cluster name", CORRECT),
    case("join: cluster ARN of an unknown region", "join cluster --cluster arn:aws:eks:us-east-9:111122223333:cluster/x", 2, r#"invalid region "us-east-9""#, CORRECT),
    case("join: chart 3.x newer than kcfed knows", "join cluster --cluster staging --chart-version 3.4.0", 2, "invalid chart version", CORRECT),
    case("join: no --cluster", "join cluster", 2, "the following required arguments were not provided", CLAP),
    case("join without its subcommand", "join --cluster staging", 2, "`kcfed join` is `kcfed join cluster`", "run `kcfed join cluster --cluster staging"),
    case("cluster id in capitals", "init primary --cluster prod --cluster-id Prod", 2, r#"invalid cluster id "Prod": a cluster id is a DNS label"#, CORRECT),
    case("join: cluster id of 64 characters", "join cluster --cluster staging --cluster-id {name-64}", 2, "1 to 63 lowercase letters, digits or '-'", CORRECT),
    case("join: more --cluster-id than --cluster", "join cluster --cluster staging --cluster-id a --cluster-id b", 2, "2 --cluster-id values for 1 --cluster values", "give one --cluster-id per --cluster"),
    case("join: a cluster id another cluster has", "join cluster --cluster staging --cluster-id prod", 2, r#"invalid cluster id "prod": cluster {prod} of the fleet already has this id"#, CORRECT).with_fleet(),
    case("render: cluster id with '_'", "render --role agent --cluster prod --cluster-id prod_eu --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --out {out}", 2, r#"invalid cluster id "prod_eu""#, CORRECT),
    case("join the primary as an agent", "join cluster --cluster prod", 2, "cluster prod is the fleet's primary", "kcfed init primary").with_fleet(),
    case("join: kube context of another EKS cluster", "join cluster --cluster staging --kube-context {prod}", 2, "points at cluster {prod}, not {staging}", "--kube-context").with_fleet(),
    case("join: EKS cluster that does not exist", "join cluster --cluster ghost", 2, r#"EKS cluster "ghost" was not found"#, "aws eks list-clusters").with_fleet(),
    case("join: no AWS credentials", "join cluster --cluster staging", 2, "no usable AWS credentials", "aws sts get-caller-identity").with_fleet().env(Env::NoCredentials),
    // cleanup
    case("cleanup: neither --cluster nor --all", "cleanup", 2, "the following required arguments were not provided:\n  <--cluster <CLUSTER>|--all|--amp-workspace>", CLAP),
    case("cleanup: --all with --cluster", "cleanup --all --cluster prod", 2, "cannot be used with", CLAP),
    case("cleanup: more --kube-context than --cluster", "cleanup --cluster prod --kube-context a --kube-context b", 2, "2 --kube-context values for 1 --cluster values", "give one --kube-context per --cluster"),
    case("cleanup: malformed cluster name", "cleanup --cluster=-prod", 2, "invalid cluster name", CORRECT),
    case("cleanup: a flag only installs use", "cleanup --all --chart-version 2.8.7", 2, "unexpected argument '--chart-version'", CLAP),
    case("cleanup: a cluster neither in the fleet nor in EKS", "cleanup --cluster ghost", 2, r#"cluster "ghost" was not found in the fleet"#, "the fleet's clusters are prod ({prod})").with_fleet(),
    case("cleanup: unknown region", "cleanup --all --region mars-1", 2, r#"invalid region "mars-1""#, CORRECT),
    case("cleanup: workspace id of the wrong shape", "cleanup --all --workspace-id prod", 2, "invalid workspace id", CORRECT),
    case("cleanup: unknown kube context", "cleanup --cluster prod --kube-context nope", 2, r#"context "nope" is not in the kubeconfig"#, "--kube-context").with_fleet(),
    case("cleanup: kube context of another EKS cluster", "cleanup --cluster prod --kube-context {staging}", 2, "points at cluster {staging}, not {prod}", "--kube-context").with_fleet(),
    case("cleanup: no AWS credentials", "cleanup --all", 2, "no usable AWS credentials", "aws sts get-caller-identity").with_fleet().env(Env::NoCredentials),
    case("cleanup: no helm on PATH", "cleanup --all", 2, "helm was not found", "install helm").with_fleet().env(Env::NoHelmOnPath),
    // render
    case("render: account id of 11 digits", "render --role primary --cluster prod --region us-east-2 --account-id 11112222333 --workspace-id ws-1 --out {out}", 2, r#"invalid account id "11112222333": an AWS account id has exactly 12 digits"#, CORRECT),
    case("render: unknown region", "render --role agent --cluster prod --region us-east-9 --account-id 111122223333 --workspace-id ws-1 --out {out}", 2, r#"invalid region "us-east-9""#, CORRECT),
    case("render: workspace id of the wrong shape", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id 1234 --out {out}", 2, r#"invalid workspace id "1234""#, CORRECT),
    case("render: chart 2.10", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --chart-version 2.10.1 --out {out}", 2, "the 2.x line ends at 2.9", CORRECT),
    case("render: chart 3.x without a bucket", "render --role agent --cluster edge --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --chart-version 3.2.1 --quick-start --out {out}", 2, "Kubecost 3 has no AMP", "drop --quick-start"),
    case("render: --bucket with --quick-start", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --bucket b-1 --quick-start --out {out}", 2, "cannot be used with", CLAP),
    case("render: unknown role", "render --role federator --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --out {out}", 2, "invalid value 'federator' for '--role <ROLE>'", CLAP),
    case("render: --out is a file", "render --role primary --cluster prod --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --out {not-a-program}", 2, "is a file, not a folder", "name a folder"),
    case("render: an agent without the fleet's bucket", "render --role agent --cluster edge --region us-east-2 --account-id 111122223333 --workspace-id ws-1 --out {out}", 2, "an agent writes its ETL files to the fleet's bucket", "pass the fleet's --bucket and --bucket-region"),
];

/// The world every case runs in: clusters `prod` and `staging` in us-east-2, a workspace of this
/// account in eu-west-1, a bucket name owned by another account, and odd kubeconfig files.
struct Vars(Vec<(&'static str, String)>);

impl Vars {
    fn new(moto: &Moto, world: &World) -> Vars {
        let dir = world.dir.path();
        let write = |name: &str, content: &str| {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            path.display().to_string()
        };
        // A helm that answers `version` with TEXT and exits 0.
        let helm_reporting = |name: &str, text: &str| {
            use std::os::unix::fs::PermissionsExt;
            let path = write(name, &format!("#!/bin/sh\necho '{text}'\n"));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let staging = world.cluster("staging");
        let staging_only = dir.join("staging-only-kubeconfig");
        Kubeconfig::new()
            .context(&staging.arn, &staging.arn, &staging.kube)
            .current(&staging.arn)
            .write(&staging_only);
        let minikube = dir.join("minikube-kubeconfig");
        Kubeconfig::new()
            .context("minikube", "minikube", &staging.kube)
            .current("minikube")
            .write(&minikube);

        let eu_workspace = block_on(async {
            let config = world.sdk(OTHER_REGION).await;
            aws_sdk_amp::Client::new(&config)
                .create_workspace()
                .alias("kubecost-amp")
                .send()
                .await
                .unwrap()
                .workspace_id
        });
        let other_account = moto.new_account();
        let taken_bucket = format!("kcfed-taken-{}", other_account.account_id);
        block_on(async {
            let config = other_account.sdk_config(REGION).await;
            aws_sdk_s3::Client::new(&config)
                .create_bucket()
                .bucket(&taken_bucket)
                .create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(REGION.into())
                        .build(),
                )
                .send()
                .await
                .unwrap();
        });

        Vars(vec![
            ("{helm}", world.helm_path()),
            ("{prod}", world.cluster("prod").arn.clone()),
            ("{staging}", staging.arn.clone()),
            ("{eu-workspace}", eu_workspace),
            ("{taken-bucket}", taken_bucket),
            (
                "{no-such-file}",
                dir.join("no-such-file").display().to_string(),
            ),
            (
                "{garbage-kubeconfig}",
                write("garbage-kubeconfig", "clusters: [unclosed\n"),
            ),
            (
                "{staging-only-kubeconfig}",
                staging_only.display().to_string(),
            ),
            ("{minikube-kubeconfig}", minikube.display().to_string()),
            ("{not-a-program}", write("not-a-program", "just text\n")),
            ("{helm-3.7}", helm_reporting("helm-3.7", "v3.7.2+g663a896")),
            (
                "{helm-unreadable}",
                helm_reporting("helm-unreadable", "Version 12"),
            ),
            ("{out}", dir.join("rendered").display().to_string()),
            ("{name-101}", "c".repeat(101)),
            ("{name-64}", "a".repeat(64)),
            ("{name-54}", "r".repeat(54)),
        ])
    }

    fn fill(&self, text: &str) -> String {
        self.0.iter().fold(text.to_owned(), |text, (name, value)| {
            text.replace(name, value)
        })
    }
}

/// Everything a case could have made, as names and counts.
#[derive(Debug, PartialEq, Eq)]
struct Footprint {
    roles: Vec<String>,
    policies: Vec<String>,
    providers: Vec<String>,
    workspaces: Vec<String>,
    buckets: Vec<String>,
    kube_writes: Vec<usize>,
    helm_changes: usize,
    rendered: bool,
}

fn footprint(world: &World, vars: &Vars) -> Footprint {
    block_on(async {
        let config = world.sdk(REGION).await;
        let iam = aws_sdk_iam::Client::new(&config);
        let roles = iam
            .list_roles()
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap();
        let policies = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap();
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        let buckets = aws_sdk_s3::Client::new(&config)
            .list_buckets()
            .send()
            .await
            .unwrap();
        let mut workspaces = Vec::new();
        for region in [REGION, OTHER_REGION] {
            let config = world.sdk(region).await;
            let listed = aws_sdk_amp::Client::new(&config)
                .list_workspaces()
                .send()
                .await
                .unwrap();
            workspaces.extend(
                listed
                    .workspaces()
                    .iter()
                    .map(|w| w.workspace_id().to_owned()),
            );
        }
        let sorted = |mut names: Vec<String>| {
            names.sort();
            names
        };
        Footprint {
            roles: sorted(
                roles
                    .roles()
                    .iter()
                    .map(|r| r.role_name().to_owned())
                    .collect(),
            ),
            policies: sorted(
                policies
                    .policies()
                    .iter()
                    .filter_map(|p| p.policy_name().map(str::to_owned))
                    .collect(),
            ),
            providers: sorted(
                providers
                    .open_id_connect_provider_list()
                    .iter()
                    .filter_map(|p| p.arn().map(str::to_owned))
                    .collect(),
            ),
            workspaces: sorted(workspaces),
            buckets: sorted(
                buckets
                    .buckets()
                    .iter()
                    .filter_map(|b| b.name().map(str::to_owned))
                    .collect(),
            ),
            kube_writes: world
                .clusters
                .iter()
                .map(|c| c.kube.write_count())
                .collect(),
            helm_changes: world
                .helm
                .calls()
                .iter()
                .filter(|call| matches!(call[0].as_str(), "upgrade" | "uninstall"))
                .count(),
            rendered: std::path::Path::new(&vars.fill("{out}")).exists(),
        }
    })
}

fn run(world: &World, vars: &Vars, case: &Case) -> Output {
    let mut args: Vec<String> = case.args.split_whitespace().map(|a| vars.fill(a)).collect();
    if args[0] != "render" {
        args.push("--yes".to_owned());
        if case.env != Env::NoHelmOnPath && !args.iter().any(|a| a == "--helm") {
            args.extend(["--helm".to_owned(), vars.fill("{helm}")]);
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = world.command(&args);
    match case.env {
        Env::Normal => {}
        Env::NoCredentials => {
            for name in [
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ] {
                command.env_remove(name);
            }
        }
        Env::NoRegion => {
            command.env_remove("AWS_REGION");
        }
        Env::MissingKubeconfig => {
            command.env("KUBECONFIG", vars.fill("{no-such-file}"));
        }
        Env::NoHelmOnPath => {
            command.env("PATH", world.dir.path().join("empty-path"));
        }
    }
    command.output().expect("run kcfed")
}

/// Runs the cases of one phase; returns a description of each one that did not behave.
fn check(world: &World, vars: &Vars, fleet: Fleet) -> Vec<String> {
    let mut failures = Vec::new();
    for case in CASES.iter().filter(|c| c.fleet == fleet) {
        let before = footprint(world, vars);
        let output = run(world, vars, case);
        let after = footprint(world, vars);
        let stderr = stderr(&output);
        let message = vars.fill(case.message);
        let fix = vars.fill(case.fix);
        let mut wrong = Vec::new();
        if output.status.code() != Some(case.code) {
            wrong.push(format!(
                "exit {:?}, wanted {}",
                output.status.code(),
                case.code
            ));
        }
        if !stderr.contains(&message) {
            wrong.push(format!("no message {message:?}"));
        }
        if !stderr.contains(&fix) {
            wrong.push(format!("no fix {fix:?}"));
        }
        if before != after {
            wrong.push(format!("left something behind:\n{before:#?}\n{after:#?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr:\n{stderr}--- stdout:\n{}",
                case.what,
                wrong.join("; "),
                String::from_utf8_lossy(&output.stdout)
            ));
        }
    }
    failures
}

#[test]
fn bad_input_and_environments_fail_clearly_and_leave_nothing_behind() {
    assert!(CASES.len() >= 30, "{} cases", CASES.len());
    let moto = Moto::shared();
    let world = World::new(moto, REGION, &["prod", "staging"]);
    let vars = Vars::new(moto, &world);

    let mut failures = check(&world, &vars, Fleet::Absent);
    let made = world.kcfed(&[
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &vars.fill("{helm}"),
        "--yes",
        "--output",
        "json",
    ]);
    assert_eq!(stdout_json(&made)["changed"], true, "{}", stderr(&made));
    failures.extend(check(&world, &vars, Fleet::Made));
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
}
