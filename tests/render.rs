//! `kcfed render` end to end, offline: the files it writes, its JSON report, and what the real helm
//! merges from the values files in the order the written `helm-install.sh` gives them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const ACCOUNT: &str = "111122223333";
const WORKSPACE: &str = "ws-12345678-abcd-1234-abcd-123456789012";
/// The primary's bucket, which agents are told.
const FLEET_BUCKET: &str = "kcfed-111122223333-us-east-1-kubecost-etl";
const ISSUER: &str = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

/// kcfed with no AWS or Kubernetes environment at all: render must not need one.
/// The flags of a render for the primary `prod` in us-east-1 of the test fleet.
const PRIMARY_PROD: [&str; 10] = [
    "--role",
    "primary",
    "--cluster",
    "prod",
    "--region",
    "us-east-1",
    "--account-id",
    ACCOUNT,
    "--workspace-id",
    WORKSPACE,
];

fn kcfed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kcfed"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run kcfed")
}

fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `kcfed render ARGS --out DIR --output json` and returns its report. Without a
/// `--chart-version` in `args` it renders 1.103.4, the line most of these tests were written for
/// (what render does without the flag has a test of its own).
fn render(out: &Path, args: &[&str]) -> Value {
    let out_arg = out.display().to_string();
    let mut all = vec!["render"];
    all.extend_from_slice(args);
    all.extend(["--out", &out_arg, "--output", "json"]);
    if !args.contains(&"--chart-version") {
        all.extend(["--chart-version", "1.103.4"]);
    }
    render_as_typed(&all)
}

fn render_as_typed(all: &[&str]) -> Value {
    let output = kcfed(all);
    assert_exit(&output, 0);
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// Every one of `expected` is among the `files` the report lists.
fn assert_lists(files: &[String], expected: &[&str]) {
    for name in expected {
        assert!(files.iter().any(|f| f == name), "{name} in {files:?}");
    }
}

/// The file names the report lists, after checking each one is in `out` and exists.
fn reported_files(report: &Value, out: &Path) -> Vec<String> {
    report["files"]
        .as_array()
        .expect("the report lists files")
        .iter()
        .map(|file| {
            let path = PathBuf::from(file["path"].as_str().expect("a file has a path"));
            assert_eq!(path.parent(), Some(out), "{}", path.display());
            assert!(path.is_file(), "{} was not written", path.display());
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

/// Splits a command line the way `sh` would, for the quoting kcfed writes (plain words and
/// single-quoted words).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                }
                in_word = false;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(!quoted, "unbalanced quotes in {line:?}");
    if in_word {
        words.push(word);
    }
    words
}

/// The `-f` files of the `helm upgrade` line in `helm-install.sh`, in order.
fn install_values_files(out: &Path) -> Vec<PathBuf> {
    let script = std::fs::read_to_string(out.join("helm-install.sh")).expect("helm-install.sh");
    let line = script
        .lines()
        .find(|line| line.starts_with("helm upgrade --install "))
        .unwrap_or_else(|| panic!("no helm upgrade line in:\n{script}"));
    let words = shell_words(line);
    words
        .windows(2)
        .filter(|pair| pair[0] == "-f")
        .map(|pair| PathBuf::from(&pair[1]))
        .collect()
}

/// What the real helm merges from the files `helm-install.sh` names, in its order.
fn merged_by_helm(out: &Path) -> (Vec<String>, Value) {
    let files = install_values_files(out);
    let names = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    // The script runs from its own folder: its paths are relative to it.
    let args: Vec<String> = files
        .iter()
        .flat_map(|f| ["-f".to_owned(), out.join(f).display().to_string()])
        .collect();
    let values = support::helm::template_values(&support::helm::values_echo_chart(), &args);
    (names, values)
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{path:?} is not JSON: {err}"))
}

/// The settings every install has, federated or not: AMP in the workspace's region, the cluster's
/// name, and the service accounts kcfed makes.
fn assert_common_values(values: &Value, cluster: &str, workspace_region: &str) {
    let host = format!("aps-workspaces.{workspace_region}.amazonaws.com");
    let amp = &values["global"]["amp"];
    assert_eq!(amp["enabled"], true);
    assert_eq!(
        amp["remoteWriteService"],
        format!("https://{host}/workspaces/{WORKSPACE}/api/v1/remote_write")
    );
    assert_eq!(amp["sigv4"]["region"], workspace_region);
    assert_eq!(
        amp["prometheusServerEndpoint"],
        format!("http://localhost:8005/workspaces/{WORKSPACE}")
    );
    assert_eq!(values["sigV4Proxy"]["host"], host.as_str());
    assert_eq!(values["sigV4Proxy"]["region"], workspace_region);

    assert_eq!(
        values["prometheus"]["server"]["global"]["external_labels"]["cluster_id"],
        cluster
    );
    assert_eq!(values["kubecostProductConfigs"]["clusterName"], cluster);
    assert_eq!(values["kubecostProductConfigs"]["projectID"], ACCOUNT);

    assert_eq!(values["serviceAccount"]["create"], false);
    assert_eq!(
        values["serviceAccount"]["name"],
        "kubecost-cost-analyzer-amp"
    );
    let server = &values["prometheus"]["serviceAccounts"]["server"];
    assert_eq!(server["create"], false);
    assert_eq!(server["name"], "kubecost-prometheus-server-amp");
}

fn assert_federated_values(values: &Value, primary: bool) {
    let etl = &values["federatedETL"];
    assert_eq!(etl["primaryCluster"], primary);
    assert_eq!(etl["federatedCluster"], true);
    assert_eq!(etl["useExistingS3Config"], false);
    assert_eq!(
        values["kubecostModel"]["federatedStorageConfigSecret"],
        "kubecost-object-store"
    );
    // Set at first install it breaks the combined folder (README, "Federation").
    let federator = &etl["federator"];
    assert!(
        federator.get("primaryClusterID").is_none(),
        "primaryClusterID must not be set: {federator}"
    );
    if primary {
        assert_eq!(federator["enabled"], true);
    } else {
        assert!(federator.is_null(), "an agent runs no federator: {etl}");
    }
}

fn assert_trust_policy(path: &Path, service_account: &str) {
    let trust = read_json(path);
    let statement = &trust["Statement"][0];
    let host = ISSUER.trim_start_matches("https://");
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Principal"]["Federated"],
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{host}")
    );
    let conditions = statement["Condition"]["StringEquals"]
        .as_object()
        .expect("StringEquals conditions");
    assert_eq!(conditions.len(), 2, "{conditions:?}");
    assert_eq!(
        conditions[&format!("{host}:sub")],
        format!("system:serviceaccount:kubecost:{service_account}")
    );
    assert_eq!(conditions[&format!("{host}:aud")], "sts.amazonaws.com");
}

/// Render reads no fleet: without --chart-version it renders what a new fleet gets, Kubecost
/// 3.2.1 with Pod Identity (no AMP), or 2.8.7 on AMP with --quick-start.
#[test]
fn without_a_chart_version_render_shows_what_a_new_fleet_gets() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (extra, expected, absent) in [
        (&[][..], "3-primary.yaml", "2-amp.yaml"),
        (&["--quick-start"][..], "2-amp.yaml", "3-primary.yaml"),
    ] {
        let out = dir.path().join(format!("new-fleet{}", extra.len()));
        let out_arg = out.display().to_string();
        let args = [
            &["render"][..],
            &PRIMARY_PROD,
            extra,
            &["--out", &out_arg, "--output", "json"],
        ]
        .concat();
        let files = reported_files(&render_as_typed(&args), &out);
        assert_lists(&files, &[expected]);
        assert!(!files.iter().any(|f| f == absent), "{absent} in {files:?}");
    }
}

#[test]
fn primary_renders_federated_values_for_helm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("primary");
    let report = render(&out, &PRIMARY_PROD);
    assert_eq!(report["command"], "render");
    let files = reported_files(&report, &out);
    assert_lists(
        &files,
        &[
            "1-eks-cost-monitoring.yaml",
            "2-amp.yaml",
            "3-primary-federator.yaml",
            "4-overrides.yaml",
            "federated-store.yaml",
            "policy-federated-store.json",
            "bucket-policy-tls-only.json",
            "policy-amp-query.json",
            "policy-amp-remote-write.json",
            "helm-install.sh",
        ],
    );
    // Without --oidc-issuer there is nothing to pin the trust to, so no trust policies.
    assert!(!out.join("trust-cost-analyzer.json").exists());

    let (order, values) = merged_by_helm(&out);
    assert_eq!(
        order,
        [
            "1-eks-cost-monitoring.yaml",
            "2-amp.yaml",
            "3-primary-federator.yaml",
            "4-overrides.yaml"
        ]
    );
    assert_common_values(&values, "prod", "us-east-1");
    assert_federated_values(&values, true);

    let store: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(out.join("federated-store.yaml")).unwrap())
            .expect("federated-store.yaml is YAML");
    assert_eq!(
        store["config"]["bucket"],
        format!("kcfed-{ACCOUNT}-us-east-1-kubecost-etl")
    );
    assert_eq!(store["config"]["region"], "us-east-1");
}

#[test]
fn agent_in_another_region_uses_the_workspace_region_and_pins_its_trust() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("agent");
    let report = render(
        &out,
        &[
            "--role",
            "agent",
            "--cluster",
            "edge-eu",
            "--region",
            "eu-west-1",
            "--workspace-region",
            "us-east-1",
            "--account-id",
            ACCOUNT,
            "--workspace-id",
            WORKSPACE,
            "--oidc-issuer",
            ISSUER,
            "--bucket",
            FLEET_BUCKET,
            "--bucket-region",
            "us-east-1",
        ],
    );
    let files = reported_files(&report, &out);
    assert_lists(
        &files,
        &[
            "3-agent-federated.yaml",
            "federated-store.yaml",
            "trust-cost-analyzer.json",
            "trust-prometheus-server.json",
            "helm-install.sh",
        ],
    );
    assert!(!files.iter().any(|f| f == "3-primary-federator.yaml"));

    let helm_command = report["helm_command"].as_str().expect("helm_command");
    assert!(
        helm_command.contains(&format!(
            "--kube-context arn:aws:eks:eu-west-1:{ACCOUNT}:cluster/edge-eu"
        )),
        "{helm_command}"
    );

    let (order, values) = merged_by_helm(&out);
    assert_eq!(
        order,
        [
            "1-eks-cost-monitoring.yaml",
            "2-amp.yaml",
            "3-agent-federated.yaml",
            "4-overrides.yaml"
        ]
    );
    assert_common_values(&values, "edge-eu", "us-east-1");
    assert!(
        !values.to_string().contains("aps-workspaces.eu-west-1"),
        "nothing points at an AMP endpoint in the cluster's region: {values}"
    );
    assert_federated_values(&values, false);

    assert_trust_policy(
        &out.join("trust-cost-analyzer.json"),
        "kubecost-cost-analyzer-amp",
    );
    assert_trust_policy(
        &out.join("trust-prometheus-server.json"),
        "kubecost-prometheus-server-amp",
    );
}

#[test]
fn quick_start_has_no_federation_and_no_store() {
    for role in ["primary", "agent"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join(role);
        let report = render(
            &out,
            &[
                "--role",
                role,
                "--cluster",
                "small",
                "--region",
                "us-west-2",
                "--account-id",
                ACCOUNT,
                "--workspace-id",
                WORKSPACE,
                "--quick-start",
            ],
        );
        let files = reported_files(&report, &out);
        for absent in [
            "federated-store.yaml",
            "policy-federated-store.json",
            "bucket-policy-tls-only.json",
        ] {
            assert!(!files.iter().any(|f| f == absent), "{absent} in {files:?}");
            assert!(!out.join(absent).exists(), "{absent} was written");
        }

        let (order, values) = merged_by_helm(&out);
        assert_eq!(
            order,
            [
                "1-eks-cost-monitoring.yaml",
                "2-amp.yaml",
                "4-overrides.yaml"
            ]
        );
        assert_common_values(&values, "small", "us-west-2");
        assert!(
            values.get("federatedETL").is_none(),
            "{role}: {}",
            values["federatedETL"]
        );
        assert!(
            values["kubecostModel"]
                .get("federatedStorageConfigSecret")
                .is_none()
        );
    }
}

#[test]
fn invalid_account_id_is_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out");
    let out_arg = out.display().to_string();
    let output = kcfed(&[
        "render",
        "--role",
        "primary",
        "--cluster",
        "prod",
        "--region",
        "us-east-1",
        "--account-id",
        "11112222333",
        "--workspace-id",
        WORKSPACE,
        "--out",
        &out_arg,
    ]);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid account id"), "{stderr}");
    assert!(output.stdout.is_empty(), "nothing on stdout");
    assert!(!out.exists(), "nothing is written for bad input");
}

/// The folder is an install on its own: the script runs from any directory (its files are found
/// beside it), applies the Kubernetes objects kcfed would make, then installs the real chart
/// with the real helm into a cluster; a render into the same folder removes the files it no
/// longer writes.
#[test]
fn the_folder_installs_from_anywhere_and_holds_no_stale_files() {
    if support::helm::skip_without_charts() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("install");
    let arn = format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/prod");
    let chart = support::helm::chart_archive("1.103.4")
        .display()
        .to_string();
    let args = [
        "--role",
        "primary",
        "--cluster",
        &arn,
        "--account-id",
        ACCOUNT,
        "--workspace-id",
        WORKSPACE,
        "--chart",
        &chart,
        "--chart-version",
        "1.103.4",
    ];
    render(&out, &args);
    let script = out.join("helm-install.sh");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&script).unwrap().permissions().mode() & 0o777,
        0o755
    );

    // What kcfed would apply: the namespace and its annotated service accounts and secret.
    let objects = read_json(&out.join("kubernetes-objects.json"));
    let items = objects["items"].as_array().expect("a List");
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["Namespace", "ServiceAccount", "ServiceAccount", "Secret"]
    );
    for account in &items[1..3] {
        let role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap();
        assert!(
            role.starts_with(&format!(
                "arn:aws:iam::{ACCOUNT}:role/kcfed/{WORKSPACE}/kcfed-prod-"
            )),
            "{role}"
        );
    }

    // Run from elsewhere against a cluster: kubectl (not on the bench) records its call, and
    // the objects it would apply are put in place; the real helm installs the real chart.
    let fake = support::fake_kube::FakeKube::start();
    let kubeconfig = dir.path().join("kubeconfig");
    support::fake_kube::Kubeconfig::new()
        .context(&arn, &arn, &fake)
        .current(&arn)
        .write(&kubeconfig);
    let plurals = [
        "namespaces",
        "serviceaccounts",
        "serviceaccounts",
        "secrets",
    ];
    for (plural, item) in plurals.iter().zip(items) {
        fake.insert(plural, item.clone());
    }
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let kubectl_calls = dir.path().join("kubectl-calls");
    std::fs::write(
        bin.join("kubectl"),
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", kubectl_calls.display()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("kubectl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(support::helm::helm_binary(), bin.join("helm")).unwrap();
    let elsewhere = tempfile::tempdir().expect("another working directory");
    let installed = Command::new(&script)
        .current_dir(elsewhere.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir.path())
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .expect("run helm-install.sh");
    assert_exit(&installed, 0);
    let kubectl = std::fs::read_to_string(&kubectl_calls).unwrap();
    assert_eq!(
        kubectl.trim(),
        format!(
            "apply --server-side --field-manager=kcfed --context {arn} -f ./kubernetes-objects.json"
        )
    );
    let deployment = fake
        .get("deployments", Some("kubecost"), "kubecost-cost-analyzer")
        .expect("helm installed the chart from the folder's values");
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );

    // Rendered again as a quick-start primary: the federated files go, the rest stays current.
    let mut quick = args.to_vec();
    quick.push("--quick-start");
    let report = render(&out, &quick);
    for gone in [
        "3-primary-federator.yaml",
        "federated-store.yaml",
        "policy-federated-store.json",
    ] {
        assert!(!out.join(gone).exists(), "{gone} is stale");
    }
    assert!(
        report["notes"]
            .to_string()
            .contains("removed 3-primary-federator.yaml"),
        "{report:#}"
    );
    assert!(out.join("4-overrides.yaml").exists());
}

#[test]
fn an_agent_without_the_fleets_bucket_and_an_out_file_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("out").display().to_string();
    let base = [
        "render",
        "--cluster",
        "edge",
        "--region",
        "eu-west-1",
        "--account-id",
        ACCOUNT,
        "--workspace-id",
        WORKSPACE,
    ];
    let mut agent = base.to_vec();
    agent.extend(["--role", "agent", "--out", &out]);
    let output = kcfed(&agent);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("the fleet's bucket"), "{stderr}");
    assert!(stderr.contains("--bucket"), "{stderr}");
    assert!(!Path::new(&out).exists(), "nothing was written");

    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let file_arg = file.display().to_string();
    let mut primary = base.to_vec();
    primary.extend(["--role", "primary", "--out", &file_arg]);
    let output = kcfed(&primary);
    assert_exit(&output, 2);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is a file, not a folder"), "{stderr}");
}

/// The user's --values files are copied into the folder and named in the script after the EKS
/// defaults, so the folder needs nothing outside it.
#[test]
fn user_values_files_are_copied_in_and_used_in_helms_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mine = dir.path().join("mine.yaml");
    std::fs::write(&mine, "kubecostFrontend:\n  replicas: 2\n").unwrap();
    let out = dir.path().join("out");
    let mine_arg = mine.display().to_string();
    let report = render(
        &out,
        &[&PRIMARY_PROD[..], &["--values", &mine_arg]].concat(),
    );
    let files = reported_files(&report, &out);
    assert!(files.iter().any(|f| f == "1-user-1.yaml"), "{files:?}");
    assert_eq!(
        std::fs::read_to_string(out.join("1-user-1.yaml")).unwrap(),
        std::fs::read_to_string(&mine).unwrap()
    );
    let (order, values) = merged_by_helm(&out);
    assert_eq!(order[..2], ["1-eks-cost-monitoring.yaml", "1-user-1.yaml"]);
    assert_eq!(values["kubecostFrontend"]["replicas"], 2);
}

/// A Pod Identity fleet rendered for an agent of another account: the service accounts carry no
/// IRSA annotation, the trust files are Pod Identity's (the fleet's roles, its target roles and
/// the account's own roles with their one grant), and the install script makes the
/// associations first, with the aws CLI, as kcfed does.
#[test]
fn a_pod_identity_agent_of_another_account_renders_its_roles_and_associations() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("edge");
    let cluster = "arn:aws:eks:eu-west-1:444455556666:cluster/edge";
    let report = render(
        &out,
        &[
            "--role",
            "agent",
            "--cluster",
            cluster,
            "--account-id",
            ACCOUNT,
            "--workspace-id",
            WORKSPACE,
            "--workspace-region",
            "us-east-1",
            "--bucket",
            "kcfed-etl",
            "--bucket-region",
            "us-east-1",
            "--chart-version",
            "2.8.7",
            "--identity",
            "pod-identity",
        ],
    );
    let files = reported_files(&report, &out);
    assert_lists(
        &files,
        &[
            "trust-cost-analyzer.json",
            "target-trust-cost-analyzer.json",
            "444455556666-trust-cost-analyzer.json",
            "444455556666-policy-assume-kubecost-cost-analyzer-amp.json",
        ],
    );
    let trust = read_json(&out.join("trust-cost-analyzer.json"));
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
    let grant = read_json(&out.join("444455556666-policy-assume-kubecost-cost-analyzer-amp.json"));
    let target = grant["Statement"][0]["Resource"].as_str().unwrap();
    assert!(
        target.starts_with(&format!("arn:aws:iam::{ACCOUNT}:role/kcfed/{WORKSPACE}/"))
            && target.ends_with("-cost-analyzer-xa"),
        "{target}"
    );
    let objects = read_json(&out.join("kubernetes-objects.json"));
    for item in objects["items"].as_array().unwrap() {
        assert!(
            item["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].is_null(),
            "{item:#}"
        );
    }
    let script = std::fs::read_to_string(out.join("helm-install.sh")).unwrap();
    let associations: Vec<&str> = script
        .lines()
        .filter(|line| line.starts_with("aws eks create-pod-identity-association"))
        .collect();
    assert_eq!(associations.len(), 2, "{script}");
    for line in &associations {
        let words = shell_words(line);
        let flag = |name: &str| {
            let at = words.iter().position(|w| w == name).unwrap();
            words[at + 1].clone()
        };
        assert_eq!(flag("--cluster-name"), "edge");
        assert_eq!(flag("--region"), "eu-west-1");
        assert!(flag("--role-arn").starts_with("arn:aws:iam::444455556666:role/kcfed/"));
        assert_eq!(
            flag("--target-role-arn"),
            target.replace(
                "cost-analyzer-xa",
                &format!(
                    "{}-xa",
                    if line.contains("prometheus") {
                        "prometheus"
                    } else {
                        "cost-analyzer"
                    }
                )
            )
        );
    }
}

/// A Kubecost 3 agent: its chart's own values files (no AMP file), the bucket's policy alone (no
/// AMP policy), one service account with its IRSA role, and the install script pulling the
/// `kubecost` chart.
#[test]
fn a_kubecost_3_agent_renders_the_bucket_and_nothing_of_amp() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("edge");
    let report = render(
        &out,
        &[
            "--role",
            "agent",
            "--cluster",
            "edge",
            "--region",
            "eu-west-1",
            "--account-id",
            ACCOUNT,
            "--workspace-id",
            WORKSPACE,
            "--bucket",
            "kcfed-etl",
            "--chart-version",
            "3.2.1",
            "--identity",
            "irsa",
            "--oidc-issuer",
            ISSUER,
        ],
    );
    let files = reported_files(&report, &out);
    assert_lists(
        &files,
        &[
            "1-eks-cost-monitoring.yaml",
            "3-agent.yaml",
            "4-overrides.yaml",
            "policy-federated-store.json",
            "trust-cost-analyzer.json",
        ],
    );
    for absent in [
        "2-amp.yaml",
        "policy-amp-query.json",
        "policy-amp-remote-write.json",
        "trust-prometheus-server.json",
    ] {
        assert!(!files.iter().any(|f| f == absent), "{absent} in {files:?}");
    }
    let (_, values) = merged_by_helm(&out);
    assert_eq!(values["global"]["clusterId"], "edge");
    assert_eq!(
        values["global"]["federatedStorage"]["existingSecret"],
        "kubecost-object-store"
    );
    assert_eq!(values["aggregator"]["enabled"], false);
    assert_eq!(
        values["finopsagent"]["serviceAccount"]["name"],
        "kubecost-cost-analyzer-amp"
    );
    let objects = read_json(&out.join("kubernetes-objects.json"));
    let accounts: Vec<&Value> = objects["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["kind"] == "ServiceAccount")
        .collect();
    assert_eq!(accounts.len(), 1, "{objects:#}");
    let script = std::fs::read_to_string(out.join("helm-install.sh")).unwrap();
    assert!(
        script.contains("oci://public.ecr.aws/kubecost/kubecost"),
        "{script}"
    );
}
