//! kcfed's values against the real cost-analyzer charts (../shared/reference/charts): for each chart
//! line kcfed installs (1.103.4, 2.4.2, 2.8.7, 2.9.7, 3.2.1), primary and agent, federated and
//! quick-start where the line has it,
//! `kcfed render` writes the values files and the real helm 4 renders the chart with them, in the
//! order kcfed passes them. No template may fail, and what a fleet depends on must be in the
//! manifests: the aggregator only on a federated 2.x primary, remote write and SigV4 to the
//! workspace's region, `cluster_id` per cluster, every pod on one of kcfed's IRSA service accounts,
//! the object-store secret mounted where it is read.

mod common;
mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use support::helm::{chart_archive, helm_binary, skip_without_charts};

const ACCOUNT: &str = "111122223333";
const WORKSPACE: &str = "ws-12345678-abcd-1234-abcd-123456789012";
/// The cluster's region differs from the workspace's, so a value taken from the wrong one shows.
const CLUSTER_REGION: &str = "eu-west-1";
const WORKSPACE_REGION: &str = "us-east-1";
const SERVICE_ACCOUNTS: [&str; 2] = [
    "kubecost-cost-analyzer-amp",
    "kubecost-prometheus-server-amp",
];

/// Workloads that call no AWS API, so they need no IRSA role: the bundled kube-state-metrics of a
/// 1.x quick-start cluster (federated fleets turn it off; it reads the Kubernetes API) and 2.x's
/// forecasting (it reads the cost model's API inside the cluster).
const NO_AWS_WORKLOADS: [&str; 2] = ["kubecost-kube-state-metrics", "kubecost-forecasting"];

/// Renders `chart_version` with kcfed's values for one cluster (`kcfed render` with `extra`
/// flags); the manifests, one per document.
fn manifests(chart_version: &str, role: &str, federated: bool, extra: &[&str]) -> Vec<Value> {
    let out = tempfile::tempdir().expect("temp dir");
    let mut args = vec![
        "render",
        "--role",
        role,
        "--cluster",
        "edge",
        "--region",
        CLUSTER_REGION,
        "--account-id",
        ACCOUNT,
        "--workspace-id",
        WORKSPACE,
        "--workspace-region",
        WORKSPACE_REGION,
        "--chart-version",
        chart_version,
        "--out",
        out.path().to_str().unwrap(),
        "--output",
        "json",
    ];
    if !federated {
        args.push("--quick-start");
    }
    // An agent names the fleet's bucket, as the primary's report gives it.
    let bucket = format!("kcfed-{ACCOUNT}-{WORKSPACE_REGION}-kubecost-etl");
    if federated && role == "agent" {
        args.extend(["--bucket", &bucket, "--bucket-region", WORKSPACE_REGION]);
    }
    args.extend_from_slice(extra);
    let rendered = Command::new(env!("CARGO_BIN_EXE_kcfed"))
        .args(&args)
        .env_clear()
        .output()
        .expect("run kcfed render");
    assert!(
        rendered.status.success(),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let mut values_files: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(char::is_numeric) && n.ends_with(".yaml"))
        })
        .collect();
    values_files.sort();
    template(&chart_archive(chart_version), &values_files)
}

fn template(chart: &Path, values_files: &[std::path::PathBuf]) -> Vec<Value> {
    let mut command = Command::new(helm_binary());
    command.args(["template", "kubecost"]).arg(chart);
    command.args(["--namespace", "kubecost"]);
    for file in values_files {
        command.arg("-f").arg(file);
    }
    let output = command.output().expect("run helm template");
    assert!(
        output.status.success(),
        "helm template of {} failed: {}",
        chart.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("UTF-8")
        .split("\n---")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .filter(|doc| doc.is_object())
        .collect()
}

fn of_kind<'a>(manifests: &'a [Value], kind: &str) -> Vec<&'a Value> {
    manifests.iter().filter(|m| m["kind"] == kind).collect()
}

fn workloads(manifests: &[Value]) -> Vec<&Value> {
    ["Deployment", "StatefulSet", "DaemonSet"]
        .iter()
        .flat_map(|kind| of_kind(manifests, kind))
        .collect()
}

fn mounts_secret(workload: &Value, secret: &str) -> bool {
    workload["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|volume| volume["secret"]["secretName"] == secret)
}

/// `--storage-class` reaches every claim the workload's StatefulSet makes, which it cannot
/// change later.
fn assert_claims_of_class(workload: &Value, class: &str, case: &str) {
    let claims = workload["spec"]["volumeClaimTemplates"].as_array().unwrap();
    assert!(
        claims
            .iter()
            .all(|claim| claim["spec"]["storageClassName"] == class),
        "{case}: --storage-class on every claim of {}: {claims:#?}",
        workload["metadata"]["name"]
    );
}

/// The FinOps agent writes to the bucket through the object-store secret, under the cluster's id.
fn assert_agent_writes_its_cluster(agent: &Value, case: &str) {
    assert!(
        mounts_secret(agent, "kubecost-object-store"),
        "{case}: the FinOps agent writes to the bucket through the object-store secret"
    );
    assert!(
        agent.to_string().contains("\"edge\""),
        "{case}: the FinOps agent names its cluster by the id: {agent:#}"
    );
}

fn check(chart_version: &str, role: &str, federated: bool) {
    let case = format!("{chart_version} {role} federated={federated}");
    let manifests = manifests(chart_version, role, federated, &["--storage-class", "gp3"]);
    let workloads = workloads(&manifests);
    assert!(!workloads.is_empty(), "{case}: no workloads");

    // Every pod runs as one of kcfed's service accounts, which carry the IRSA roles; the only
    // exception calls no AWS API.
    for workload in &workloads {
        let account = workload["spec"]["template"]["spec"]["serviceAccountName"]
            .as_str()
            .unwrap_or_default();
        assert!(
            SERVICE_ACCOUNTS.contains(&account)
                || NO_AWS_WORKLOADS
                    .iter()
                    .any(|w| workload["metadata"]["name"] == *w),
            "{case}: {} {} runs as {account:?}",
            workload["kind"],
            workload["metadata"]["name"]
        );
    }

    // The aggregator StatefulSet: only a federated 2.x primary runs one.
    let aggregator: Vec<&&Value> = workloads
        .iter()
        .filter(|w| {
            w["kind"] == "StatefulSet"
                && w["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("aggregator"))
        })
        .collect();
    let wants_aggregator = chart_version.starts_with("2.") && role == "primary" && federated;
    assert_eq!(
        !aggregator.is_empty(),
        wants_aggregator,
        "{case}: aggregator StatefulSet"
    );
    if let Some(aggregator) = aggregator.first() {
        assert!(
            mounts_secret(aggregator, "kubecost-object-store"),
            "{case}: the aggregator reads the bucket through the object-store secret"
        );
        assert_claims_of_class(aggregator, "gp3", &case);
    }

    // The cost model mounts the object-store secret in a federated fleet, and only there.
    let cost_analyzer = workloads
        .iter()
        .find(|w| w["metadata"]["name"] == "kubecost-cost-analyzer")
        .unwrap_or_else(|| panic!("{case}: no cost-analyzer Deployment"));
    assert_eq!(
        mounts_secret(cost_analyzer, "kubecost-object-store"),
        federated,
        "{case}: object-store secret on the cost-analyzer"
    );
    // The SigV4 proxy signs queries for the workspace's region.
    let containers = cost_analyzer["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    let proxy = containers
        .iter()
        .find(|c| {
            c["name"] == "sigv4proxy" || c["image"].as_str().is_some_and(|i| i.contains("sigv4"))
        })
        .unwrap_or_else(|| panic!("{case}: no SigV4 proxy in {containers:#?}"));
    assert!(
        proxy.to_string().contains(WORKSPACE_REGION),
        "{case}: SigV4 proxy {proxy:#}"
    );

    // Prometheus remote-writes to the workspace, signed for its region, labelled with the cluster.
    let config = of_kind(&manifests, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "kubecost-prometheus-server")
        .unwrap_or_else(|| panic!("{case}: no Prometheus ConfigMap"));
    let prometheus_yml = config["data"]["prometheus.yml"].as_str().unwrap();
    let prometheus: Value = serde_saphyr::from_str(prometheus_yml).unwrap();
    let remote_write = &prometheus["remote_write"][0];
    assert_eq!(
        remote_write["url"],
        format!(
            "https://aps-workspaces.{WORKSPACE_REGION}.amazonaws.com/workspaces/{WORKSPACE}/api/v1/remote_write"
        ),
        "{case}"
    );
    assert_eq!(remote_write["sigv4"]["region"], WORKSPACE_REGION, "{case}");
    assert_eq!(
        prometheus["global"]["external_labels"]["cluster_id"], "edge",
        "{case}"
    );

    // 2.9's FinOps agent writes the cluster's data, under its id, to the bucket beside AMP.
    if chart_version.starts_with("2.9.") {
        let agent = workloads
            .iter()
            .find(|w| w["metadata"]["name"] == "kubecost-finopsagent")
            .unwrap_or_else(|| panic!("{case}: no FinOps agent Deployment"));
        assert_agent_writes_its_cluster(agent, &case);
    }

    // Agents of 2.x only ship: no UI of their own.
    if chart_version.starts_with("2.") && role == "agent" {
        assert!(
            workloads
                .iter()
                .all(|w| w["metadata"]["name"] != "kubecost-frontend"),
            "{case}: an agent has no frontend"
        );
    }
}

/// The 2.x chart refuses a cloud-cost component without an integration; with the secret kcfed
/// passes it renders, on both lines.
#[test]
fn cloud_costs_render_with_the_integration_secret() {
    if skip_without_charts() {
        return;
    }
    for version in ["1.103.4", "2.8.7"] {
        let secret = ["--cloud-integration-secret", "cloud-integration"];
        let manifests = manifests(version, "primary", true, &secret);
        let uses_secret = workloads(&manifests)
            .iter()
            .any(|w| w.to_string().contains("cloud-integration"));
        assert!(
            uses_secret,
            "{version}: no workload reads the cloud integration secret"
        );
    }
}

#[test]
fn every_chart_line_renders_with_kcfeds_values_as_a_fleet_needs() {
    if skip_without_charts() {
        return;
    }
    for chart_version in ["1.103.4", "2.4.2", "2.8.7"] {
        for role in ["primary", "agent"] {
            for federated in [true, false] {
                check(chart_version, role, federated);
            }
        }
    }
}

/// 2.9, the step to Kubecost 3: everything a 2.x fleet needs, and the FinOps agent beside it on
/// every cluster (the chart refuses 2.9 without a bucket, so there is no quick-start).
#[test]
fn the_bridge_renders_amp_and_the_finops_agent_side_by_side() {
    if skip_without_charts() {
        return;
    }
    for role in ["primary", "agent"] {
        check("2.9.7", role, true);
    }
}

/// Kubecost 3 calls AWS only for the bucket, from the FinOps agent, the aggregator and cloud
/// costs; these workloads call none (the forecasting model, the network traffic classifier, the
/// UI's web server).
const NO_AWS_WORKLOADS_3: [&str; 3] = [
    "kubecost-forecasting",
    "kubecost-network-costs",
    "kubecost-frontend",
];

/// The 3.x chart with kcfed's values: the FinOps agent on every cluster, the aggregator and the
/// UI on the primary alone, every AWS-calling pod on kcfed's service account, the bucket read
/// through the object-store secret, and the cluster id where the chart takes it.
#[test]
fn kubecost_3_renders_a_primary_and_agents_on_the_fleets_bucket() {
    if skip_without_charts() {
        return;
    }
    for role in ["primary", "agent"] {
        let case = format!("3.2.1 {role}");
        let manifests = manifests("3.2.1", role, true, &["--storage-class", "gp3"]);
        let workloads = workloads(&manifests);
        let named = |name: &str| {
            workloads
                .iter()
                .find(|w| w["metadata"]["name"] == name)
                .copied()
        };
        for workload in &workloads {
            let name = workload["metadata"]["name"].as_str().unwrap_or_default();
            let account = workload["spec"]["template"]["spec"]["serviceAccountName"]
                .as_str()
                .unwrap_or_default();
            assert!(
                account == SERVICE_ACCOUNTS[0] || NO_AWS_WORKLOADS_3.contains(&name),
                "{case}: {} {name} runs as {account:?}",
                workload["kind"]
            );
        }
        let agent = named("kubecost-finopsagent")
            .unwrap_or_else(|| panic!("{case}: no FinOps agent Deployment"));
        assert_agent_writes_its_cluster(agent, &case);
        let aggregator = named("kubecost-aggregator");
        assert_eq!(
            aggregator.is_some(),
            role == "primary",
            "{case}: the aggregator runs on the primary alone"
        );
        assert_eq!(
            named("kubecost-frontend").is_some(),
            role == "primary",
            "{case}: the UI runs on the primary alone"
        );
        if let Some(aggregator) = aggregator {
            assert!(
                mounts_secret(aggregator, "kubecost-object-store"),
                "{case}: the aggregator reads the bucket through the object-store secret"
            );
            assert_claims_of_class(aggregator, "gp3", &case);
        }
        // No AMP: nothing remote-writes or signs for a workspace.
        let everything = serde_json::to_string(&manifests).unwrap();
        assert!(
            !everything.contains("aps-workspaces") && !everything.contains(WORKSPACE),
            "{case}: Kubecost 3 reaches no AMP workspace"
        );
    }
}
