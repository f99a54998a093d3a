//! Pod Identity fleets end to end, with the real helm and the real 2.8.7 chart: the fleet
//! account's IAM stays the same size whatever the number of clusters, clusters of another
//! account chain to the fleet's roles through their own, each service account gets one
//! association, a cluster without the agent add-on is stopped before any change, and cleanup
//! leaves nothing in either account. The test bench's proxy serves EKS Pod Identity and add-ons,
//! which moto lacks.

mod common;
mod support;

use serde_json::{Value, json};

use common::{RUN_LIMIT, World, assert_exit, block_on, output_within, plan_step, stdout_json};
use support::helm::{helm_binary, skip_without_charts, with_real_chart};
use support::moto::{AwsAccount, Moto};

const REGION: &str = "us-west-2";
const EDGE_REGION: &str = "eu-west-1";
const CHART_VERSION: &str = "2.8.7";
const NAMESPACE: &str = "kubecost";
const ROLE: &str = "OrganizationAccountAccessRole";
const AGENT: &str = "eks-pod-identity-agent";

/// `prod` and `lab` in the fleet's account, `edge` and `bare` in another; every cluster but
/// `bare` runs the Pod Identity agent.
fn world() -> (World, AwsAccount) {
    let moto = Moto::shared();
    let mut world = World::new(moto, REGION, &["prod", "lab@us-east-1"]);
    let other = moto.new_account();
    world.add_cluster_in(&other, "edge", EDGE_REGION);
    world.add_cluster_in(&other, "bare", EDGE_REGION);
    world.write_kubeconfig();
    world.serve_eks_extensions();
    let extensions = world.eks_extensions();
    extensions.install_addon(&world.account.account_id, REGION, "prod", AGENT);
    extensions.install_addon(&world.account.account_id, "us-east-1", "lab", AGENT);
    extensions.install_addon(&other.account_id, EDGE_REGION, "edge", AGENT);
    (world, other)
}

fn arn(account: &AwsAccount, region: &str, name: &str) -> String {
    format!("arn:aws:eks:{region}:{}:cluster/{name}", account.account_id)
}

/// kcfed's roles in `account` (under its IAM path), by name.
fn kcfed_roles(account: &AwsAccount) -> Vec<aws_sdk_iam::types::Role> {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let listed = iam
            .list_roles()
            .path_prefix("/kcfed/")
            .send()
            .await
            .expect("ListRoles");
        listed.roles().to_vec()
    })
}

fn oidc_providers(account: &AwsAccount) -> usize {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let listed = iam
            .list_open_id_connect_providers()
            .send()
            .await
            .expect("ListOpenIDConnectProviders");
        listed.open_id_connect_provider_list().len()
    })
}

fn decoded(document: &str) -> Value {
    common::decode(document)
}

/// The managed policies attached to a role, by name.
fn attached(account: &AwsAccount, role: &str) -> Vec<String> {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let listed = iam
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .expect("ListAttachedRolePolicies");
        let mut names: Vec<String> = listed
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_name().map(str::to_owned))
            .collect();
        names.sort();
        names
    })
}

/// The keys of the fleet's member record.
fn member_keys(world: &World, bucket: &str) -> Vec<String> {
    block_on(async {
        let s3 = aws_sdk_s3::Client::new(&world.sdk(REGION).await);
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("kcfed/members/")
            .send()
            .await
            .expect("ListObjectsV2");
        listed
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect()
    })
}

fn run(world: &World, args: &[&str]) -> (i32, Value) {
    let args = with_real_chart(args, &helm_binary(), CHART_VERSION);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = output_within(world.command(&args), RUN_LIMIT);
    let code = output.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "{output:?}");
    (code, stdout_json(&output))
}

fn ok(world: &World, args: &[&str]) -> Value {
    let (code, report) = run(world, args);
    assert_eq!(code, 0, "{report:#}");
    report
}

#[test]
fn a_pod_identity_fleet_over_two_accounts_keeps_iam_flat_and_cleans_up_whole() {
    if skip_without_charts() {
        return;
    }
    let (world, other) = world();
    let fleet_account = world.account.clone();
    let (prod, lab, edge, bare) = (
        arn(&fleet_account, REGION, "prod"),
        arn(&fleet_account, "us-east-1", "lab"),
        arn(&other, EDGE_REGION, "edge"),
        arn(&other, EDGE_REGION, "bare"),
    );

    // A new fleet on chart 2.8.7 is a Pod Identity fleet: no OIDC provider, two roles.
    let init = ok(&world, &["init", "primary", "--cluster", "prod"]);
    assert_eq!(
        plan_step(&init, "pod-identity-association", Some("prod"))["action"],
        "create"
    );
    assert_eq!(oidc_providers(&fleet_account), 0);
    let roles_for_one: Vec<String> = kcfed_roles(&fleet_account)
        .iter()
        .map(|role| role.role_name().to_owned())
        .collect();
    assert_eq!(roles_for_one.len(), 2, "{roles_for_one:?}");

    let join_args = [
        "join",
        "cluster",
        "--cluster",
        &lab,
        "--cluster",
        &edge,
        "--account-role",
        ROLE,
    ];
    let join = ok(&world, &join_args);
    assert_eq!(join["changed"], true, "{join:#}");
    // Three clusters over two accounts: the fleet account has its two roles and the two that
    // other accounts' clusters reach; the other account two of its own.
    let fleet_roles = kcfed_roles(&fleet_account);
    let names: Vec<String> = fleet_roles
        .iter()
        .map(|r| r.role_name().to_owned())
        .collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(roles_for_one.iter().all(|name| names.contains(name)));
    assert_eq!(oidc_providers(&fleet_account), 0);
    assert_eq!(oidc_providers(&other), 0);
    let other_roles = kcfed_roles(&other);
    assert_eq!(other_roles.len(), 2);

    // The roles of the fleet's clusters trust EKS Pod Identity for their one service account;
    // the targets trust the other accounts' shared roles, whatever their number, by path.
    let (targets, fleet_roles): (Vec<_>, Vec<_>) = fleet_roles
        .into_iter()
        .partition(|role| role.role_name().ends_with("-xa"));
    for role in &fleet_roles {
        let trust = decoded(role.assume_role_policy_document().unwrap());
        let statements = trust["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{trust:#}");
        assert_eq!(
            statements[0]["Principal"]["Service"],
            "pods.eks.amazonaws.com"
        );
        assert_eq!(
            statements[0]["Action"],
            serde_json::json!(["sts:AssumeRole", "sts:TagSession"])
        );
    }
    for role in &targets {
        let trust = decoded(role.assume_role_policy_document().unwrap());
        let pattern = trust["Statement"][0]["Condition"]["ArnLike"]["aws:PrincipalArn"]
            .as_str()
            .unwrap();
        assert!(
            pattern.starts_with("arn:aws:iam::*:role/kcfed/"),
            "{pattern}"
        );
    }
    // The acting roles' grants: least privilege per service account, the targets' the same.
    for target in &targets {
        let own = fleet_roles
            .iter()
            .find(|role| format!("{}-xa", role.role_name()) == target.role_name())
            .unwrap();
        assert_eq!(
            attached(&fleet_account, target.role_name()),
            attached(&fleet_account, own.role_name())
        );
    }
    let cost_analyzer = fleet_roles
        .iter()
        .find(|r| r.role_name().ends_with("-cost-analyzer"))
        .unwrap();
    let prometheus = fleet_roles
        .iter()
        .find(|r| r.role_name().ends_with("-prometheus"))
        .unwrap();
    let grants = attached(&fleet_account, cost_analyzer.role_name());
    assert!(
        grants.iter().any(|p| p.ends_with("-amp-query")),
        "{grants:?}"
    );
    assert!(
        grants.iter().any(|p| p.ends_with("-federated-store")),
        "{grants:?}"
    );
    assert_eq!(grants.len(), 2);
    let grants = attached(&fleet_account, prometheus.role_name());
    assert_eq!(grants.len(), 1);
    assert!(grants[0].ends_with("-amp-remote-write"), "{grants:?}");

    // One association per service account; in the other account, its own role first, then the
    // fleet's as the target.
    let extensions = world.eks_extensions();
    let associations = |account: &AwsAccount, region: &str, cluster: &str| {
        extensions.pod_identity_associations(&account.account_id, region, cluster)
    };
    for (account, region, cluster) in [
        (&fleet_account, REGION, "prod"),
        (&fleet_account, "us-east-1", "lab"),
        (&other, EDGE_REGION, "edge"),
    ] {
        let found = associations(account, region, cluster);
        assert_eq!(found.len(), 2, "{cluster}: {found:?}");
        for association in &found {
            assert_eq!(association.namespace, NAMESPACE);
            let kind = if association.service_account.contains("prometheus") {
                "-prometheus"
            } else {
                "-cost-analyzer"
            };
            let of_kind = |roles: &[aws_sdk_iam::types::Role]| {
                let suffix = |role: &aws_sdk_iam::types::Role| {
                    role.role_name().trim_end_matches("-xa").ends_with(kind)
                };
                roles
                    .iter()
                    .find(|role| suffix(role))
                    .unwrap()
                    .arn()
                    .to_owned()
            };
            if account.account_id == fleet_account.account_id {
                assert_eq!(association.role_arn, of_kind(&fleet_roles));
                assert_eq!(association.target_role_arn, None);
            } else {
                assert!(
                    association
                        .role_arn
                        .contains(&format!(":{}:role/kcfed/", other.account_id)),
                    "{association:?}"
                );
                assert_eq!(
                    association.target_role_arn.as_deref(),
                    Some(of_kind(&targets).as_str())
                );
            }
            assert_eq!(
                association.tags.get("kcfed:managed-by").map(String::as_str),
                Some("kcfed")
            );
        }
    }
    // The other account's roles may only assume the fleet's.
    for role in &other_roles {
        let trust = decoded(role.assume_role_policy_document().unwrap());
        assert_eq!(trust["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(attached(&other, role.role_name()), Vec::<String>::new());
    }
    // The service accounts carry no IRSA annotation: web identity would win over Pod Identity.
    for name in ["prod", "lab", "edge"] {
        let kube = &world.cluster(name).kube;
        for account in [
            "kubecost-cost-analyzer-amp",
            "kubecost-prometheus-server-amp",
        ] {
            let found = kube
                .get("serviceaccounts", Some(NAMESPACE), account)
                .unwrap_or_else(|| panic!("{name}: no {account}"));
            assert!(
                found["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
                "{name}: {found:#}"
            );
        }
    }

    // The fleet's member record: one key per cluster, read in one listing.
    let bucket = init["resources"]["bucket"]["bucket"]
        .as_str()
        .unwrap_or_else(|| panic!("the report names the bucket: {:#}", init["resources"]))
        .to_owned();
    let records = member_keys(&world, &bucket);
    assert_eq!(records.len(), 3, "{records:?}");
    for (account, region, name) in [
        (&fleet_account.account_id, REGION, "prod"),
        (&fleet_account.account_id, "us-east-1", "lab"),
        (&other.account_id, EDGE_REGION, "edge"),
    ] {
        let key = format!("kcfed/members/{account}/{region}/{name}/{name}/pod-identity");
        assert!(records.contains(&key), "{key} in {records:?}");
    }

    // A re-join changes nothing.
    let again = ok(&world, &join_args);
    assert_eq!(again["changed"], false, "{again:#}");

    // A cluster without the agent is stopped at plan time, with the command that adds it.
    let requests = world.aws_proxy.as_ref().unwrap().log().len();
    let (code, stopped) = run(
        &world,
        &[
            "join",
            "cluster",
            "--cluster",
            &bare,
            "--account-role",
            ROLE,
        ],
    );
    assert_eq!(code, 1, "{stopped:#}");
    let agent = plan_step(&stopped, "eks-addon", Some("bare"));
    assert_eq!(agent["action"], "conflict");
    assert!(
        agent["details"][0].as_str().unwrap().contains(
            "aws eks create-addon --cluster-name bare --addon-name eks-pod-identity-agent"
        ),
        "{agent:#}"
    );
    let writes: Vec<_> = world.aws_proxy.as_ref().unwrap().log()[requests..]
        .iter()
        .filter(|exchange| exchange.is_mutating())
        .cloned()
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert_eq!(world.cluster("bare").kube.write_count(), 0);

    // status finds all three members from the record.
    let helm = helm_binary().display().to_string();
    let status = world.kcfed(&[
        "status",
        "--output",
        "json",
        "--helm",
        &helm,
        "--account-role",
        ROLE,
    ]);
    let status = stdout_json(&status);
    let found: Vec<&str> = status["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|cluster| cluster["cluster"].as_str().or(cluster["arn"].as_str()))
        .collect();
    for member in [&prod, &lab, &edge] {
        assert!(
            status.to_string().contains(member.as_str()),
            "status misses {member}: {found:?}"
        );
    }

    // cleanup --all leaves nothing of kcfed's in either account.
    let cleanup = output_within(
        world.command(&[
            "cleanup",
            "--all",
            "--helm",
            &helm,
            "--account-role",
            ROLE,
            "--yes",
        ]),
        RUN_LIMIT,
    );
    assert_exit(&cleanup, 0);
    assert_eq!(kcfed_roles(&fleet_account).len(), 0);
    assert_eq!(kcfed_roles(&other).len(), 0);
    for (account, region, cluster) in [
        (&fleet_account, REGION, "prod"),
        (&fleet_account, "us-east-1", "lab"),
        (&other, EDGE_REGION, "edge"),
    ] {
        assert_eq!(associations(account, region, cluster).len(), 0, "{cluster}");
    }
}

/// A fleet of thousands is rolled out by a CI matrix, many runs at once: 8 `join cluster`
/// processes, each for a cluster of the fleet's account and one of another, into one Pod
/// Identity fleet. Every cluster ends up whole, the fleet's documents are what every cluster
/// needs, and running all of them again changes nothing.
#[test]
fn eight_joins_at_once_converge() {
    let moto = Moto::shared();
    let regions = ["us-west-2", "us-east-1", "eu-west-1", "eu-central-1"];
    let mut world = World::new(moto, REGION, &["prod"]);
    let other = moto.new_account();
    let mut pairs = Vec::new();
    for index in 0..8 {
        let region = regions[index % regions.len()];
        let (own, theirs) = (format!("own{index}"), format!("their{index}"));
        world.add_cluster_in(&world.account.clone(), &own, region);
        world.add_cluster_in(&other, &theirs, region);
        pairs.push((
            arn(&world.account, region, &own),
            arn(&other, region, &theirs),
        ));
    }
    world.write_kubeconfig();
    world.serve_eks_extensions();
    for cluster in &world.clusters {
        let (region, account, name) = parse_arn(&cluster.arn);
        world
            .eks_extensions()
            .install_addon(&account, &region, &name, AGENT);
    }
    let helm = world.helm_path();
    let flags = [
        "--chart-version",
        CHART_VERSION,
        "--account-role",
        ROLE,
        "--yes",
        "--output",
        "json",
    ];
    let init = world.init_primary(&["--chart-version", CHART_VERSION, "--yes"]);
    assert_exit(&init, 0);

    let join_all = || {
        let children: Vec<_> = pairs
            .iter()
            .map(|(own, theirs)| {
                world
                    .join_command(&helm, &[own, theirs], &flags)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("start kcfed")
            })
            .collect();
        children
            .into_iter()
            .map(|child| {
                let output = child.wait_with_output().expect("kcfed ran");
                assert_exit(&output, 0);
                stdout_json(&output)
            })
            .collect::<Vec<_>>()
    };
    let first = join_all();
    assert!(first.iter().all(|report| report["changed"] == true));

    // Every cluster is whole: two associations to the right roles, and a record.
    let extensions = world.eks_extensions();
    for cluster in &world.clusters {
        let (region, account, name) = parse_arn(&cluster.arn);
        let found = extensions.pod_identity_associations(&account, &region, &name);
        assert_eq!(found.len(), 2, "{name}: {found:?}");
        for association in &found {
            assert!(
                association
                    .role_arn
                    .contains(&format!(":{account}:role/kcfed/")),
                "{association:?}"
            );
            assert_eq!(
                association.target_role_arn.is_some(),
                account == other.account_id,
                "{association:?}"
            );
        }
    }
    let bucket = block_on(async {
        let s3 = aws_sdk_s3::Client::new(&world.sdk(REGION).await);
        let buckets = s3.list_buckets().send().await.expect("ListBuckets");
        buckets
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .find(|name| name.starts_with("kcfed-"))
            .expect("the fleet's bucket")
            .to_owned()
    });
    assert_eq!(member_keys(&world, &bucket).len(), 17);
    // The fleet's documents hold what all of them need: the same four roles, the targets'
    // one trust statement, each other-account role's one inline grant.
    assert_eq!(kcfed_roles(&world.account).len(), 4);
    assert_eq!(kcfed_roles(&other).len(), 2);
    for role in kcfed_roles(&world.account) {
        let trust = decoded(role.assume_role_policy_document().unwrap());
        assert_eq!(trust["Statement"].as_array().unwrap().len(), 1, "{trust:#}");
    }

    let again = join_all();
    for report in &again {
        assert_eq!(report["changed"], false, "{report:#}");
    }
}

/// (region, account, name) of an EKS cluster ARN.
fn parse_arn(arn: &str) -> (String, String, String) {
    let parts: Vec<&str> = arn.split(':').collect();
    let name = parts[5].trim_start_matches("cluster/");
    (parts[3].to_owned(), parts[4].to_owned(), name.to_owned())
}

/// A running IRSA fleet moves to Pod Identity and back, cluster by cluster; meanwhile every
/// cluster keeps credentials of one mode or the other, and cleanup removes what both made.
#[test]
fn a_running_fleet_moves_from_irsa_to_pod_identity_and_back() {
    let mut world = World::new(Moto::shared(), REGION, &["prod", "lab@us-east-1"]);
    world.serve_eks_extensions();
    let account = world.account.clone();
    world
        .eks_extensions()
        .install_addon(&account.account_id, REGION, "prod", AGENT);
    world
        .eks_extensions()
        .install_addon(&account.account_id, "us-east-1", "lab", AGENT);
    let lab = arn(&account, "us-east-1", "lab");
    let chart = [
        "--chart-version",
        CHART_VERSION,
        "--yes",
        "--output",
        "json",
    ];
    let init = |identity: &str| {
        let output = world.init_primary(&[&["--identity", identity][..], &chart].concat());
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let join = |extra: &[&str]| {
        let output = world.join(&[&lab], &[extra, &chart].concat());
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let annotation = |cluster: &str| {
        world
            .cluster(cluster)
            .kube
            .get(
                "serviceaccounts",
                Some(NAMESPACE),
                "kubecost-cost-analyzer-amp",
            )
            .expect("the service account")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .clone()
    };
    // The mode each of the cluster's workloads that run as kcfed's service accounts was
    // (re)started in, as their pod templates say.
    let started_in = |cluster: &str| -> Vec<Value> {
        let kube = &world.cluster(cluster).kube;
        let mut modes: Vec<Value> = ["deployments", "statefulsets", "daemonsets"]
            .into_iter()
            .flat_map(|plural| kube.list(plural))
            .filter(|workload| {
                let account = &workload["spec"]["template"]["spec"]["serviceAccountName"];
                account.as_str().is_some_and(|name| name.ends_with("-amp"))
            })
            .map(|workload| {
                workload["spec"]["template"]["metadata"]["annotations"]["kcfed/identity"].clone()
            })
            .collect();
        modes.dedup();
        modes
    };
    let associations = |region: &str, cluster: &str| {
        world
            .eks_extensions()
            .pod_identity_associations(&account.account_id, region, cluster)
            .len()
    };

    init("irsa");
    join(&[]);
    assert!(annotation("prod").is_string() && annotation("lab").is_string());
    assert_eq!(oidc_providers(&account), 2);
    // What the chart runs (the helm stand-in installs nothing): the cost-analyzer and the
    // Prometheus server on kcfed's service accounts, Grafana on its own.
    for cluster in ["prod", "lab"] {
        let kube = &world.cluster(cluster).kube;
        for (plural, name, account) in [
            (
                "deployments",
                "kubecost-cost-analyzer",
                "kubecost-cost-analyzer-amp",
            ),
            (
                "statefulsets",
                "kubecost-prometheus-server",
                "kubecost-prometheus-server-amp",
            ),
            ("deployments", "kubecost-grafana", "kubecost-grafana"),
        ] {
            kube.insert(
                plural,
                json!({
                    "metadata": {"name": name, "namespace": NAMESPACE},
                    "spec": {"template": {"spec": {"serviceAccountName": account}}},
                }),
            );
        }
    }
    let rerun = init("irsa");
    assert_eq!(
        rerun["changed"], false,
        "nothing restarted in a fleet that stays: {rerun:#}"
    );
    assert_eq!(started_in("prod"), [Value::Null]);

    // The primary moves with the fleet; lab keeps IRSA until it is joined again.
    let moved = init("pod-identity");
    assert_eq!(
        plan_step(&moved, "amp-workspace", None)["action"],
        "update",
        "the fleet's mode is recorded"
    );
    assert_eq!(associations(REGION, "prod"), 2);
    assert!(annotation("prod").is_null());
    assert!(annotation("lab").is_string(), "lab is not moved yet");
    assert_eq!(started_in("prod"), ["pod-identity"], "{moved:#}");
    assert_eq!(started_in("lab"), [Value::Null]);
    // Once its pods restarted, prod's IRSA roles and provider go; lab's stay in use.
    let role_names = || -> Vec<String> {
        let mut names: Vec<String> = kcfed_roles(&account)
            .iter()
            .map(|role| role.role_name().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(oidc_providers(&account), 1, "{moved:#}");
    let after_prod = role_names();
    assert_eq!(
        after_prod.len(),
        4,
        "lab's two and the two shared: {after_prod:?}"
    );
    assert!(
        after_prod.iter().all(|name| !name.contains("prod")),
        "{after_prod:?}"
    );
    // A join that asks for the old mode is bad input, naming the fleet's.
    let refused = world.join(&[&lab], &[&["--identity", "irsa"][..], &chart].concat());
    assert_exit(&refused, 2);
    join(&[]);
    assert_eq!(associations("us-east-1", "lab"), 2);
    assert!(annotation("lab").is_null());
    assert_eq!(started_in("lab"), ["pod-identity"]);
    assert_eq!(oidc_providers(&account), 0);
    assert_eq!(role_names().len(), 2, "the shared roles alone");

    // And back: the annotations return; web identity wins over the associations.
    init("irsa");
    join(&["--identity", "irsa"]);
    assert!(annotation("prod").is_string() && annotation("lab").is_string());
    assert_eq!(started_in("prod"), ["irsa"]);
    assert_eq!(started_in("lab"), ["irsa"]);
    let rerun = join(&[]);
    assert_eq!(rerun["changed"], false, "{rerun:#}");

    let cleanup = world.cleanup(&["--all", "--yes"]);
    assert_exit(&cleanup, 0);
    assert_eq!(kcfed_roles(&account).len(), 0);
    assert_eq!(oidc_providers(&account), 0);
    assert_eq!(associations(REGION, "prod"), 0);
    assert_eq!(associations("us-east-1", "lab"), 0);
}
