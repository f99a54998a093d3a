//! kcfed with the real helm of each major it supports, end to end: `init primary`, a re-run,
//! `join cluster` and `cleanup --all`, where helm installs the real cost-analyzer chart into the
//! fake API servers with `--wait` and kcfed reads the releases back through the same helm.

mod common;
mod support;

use std::path::Path;

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, output_within, stdout_json};
use support::fake_kube::FakeKube;
use support::helm::{chart_archive, helm_binary, helm3_binary};
use support::moto::Moto;

const REGION: &str = "us-west-2";
const NAMESPACE: &str = "kubecost";
/// The chart version kcfed installs by default, which the shared reference data packages.
const CHART_VERSION: &str = "1.103.4";

/// helm's record of the release on a cluster: its release Secrets (one per revision), by
/// revision, with each one's status label.
fn release_revisions(kube: &FakeKube) -> Vec<(String, String)> {
    kube.list("secrets")
        .iter()
        .filter(|s| s["metadata"]["labels"]["owner"] == "helm")
        .filter(|s| s["metadata"]["labels"]["name"] == "kubecost")
        .map(|s| {
            let labels = &s["metadata"]["labels"];
            (
                labels["version"].as_str().unwrap_or_default().to_owned(),
                labels["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn pod_spec(kube: &FakeKube, deployment: &str) -> Value {
    let deployment = kube
        .get("deployments", Some(NAMESPACE), deployment)
        .unwrap_or_else(|| panic!("helm made no Deployment {deployment}"));
    deployment["spec"]["template"]["spec"].clone()
}

fn release_step<'a>(report: &'a Value, cluster: &str) -> &'a Value {
    report["plan"]["steps"]
        .as_array()
        .expect("the report has steps")
        .iter()
        .find(|s| s["kind"] == "helm-release" && s["scope"] == cluster)
        .unwrap_or_else(|| panic!("no helm-release step for {cluster}: {report:#}"))
}

fn fleet_lifecycle_with(helm: &Path) {
    let world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    let helm = helm.display().to_string();
    let chart = chart_archive(CHART_VERSION).display().to_string();
    let run = |args: &[&str]| {
        let mut args = args.to_vec();
        args.extend(["--helm", &helm, "--chart", &chart]);
        args.extend([
            "--chart-version",
            CHART_VERSION,
            "--yes",
            "--output",
            "json",
        ]);
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let prod = &world.cluster("prod").kube;
    let edge = &world.cluster("edge").kube;
    // The same command twice: the second run must find nothing to do.
    const INIT_PRIMARY: [&str; 6] = [
        "init",
        "primary",
        "--cluster",
        "prod",
        "--storage-class",
        "gp3",
    ];

    let init = run(&INIT_PRIMARY);
    assert_eq!(release_step(&init, "prod")["action"], "create", "{init:#}");
    assert_eq!(release_revisions(prod), [("1".into(), "deployed".into())]);
    // helm installed the chart with kcfed's values: the workloads run as the service accounts
    // kcfed made for their roles, and Prometheus writes to the fleet's workspace.
    let cost_analyzer = pod_spec(prod, "kubecost-cost-analyzer");
    assert_eq!(
        cost_analyzer["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );
    let prometheus = pod_spec(prod, "kubecost-prometheus-server");
    assert_eq!(
        prometheus["serviceAccountName"],
        "kubecost-prometheus-server-amp"
    );
    let config = prod
        .get("configmaps", Some(NAMESPACE), "kubecost-prometheus-server")
        .expect("the Prometheus configuration");
    let prometheus_yml = config["data"]["prometheus.yml"]
        .as_str()
        .unwrap_or_default();
    let workspace = init["resources"]["workspace"]["id"]
        .as_str()
        .expect("the workspace id");
    let remote_write = format!(
        "https://aps-workspaces.{REGION}.amazonaws.com/workspaces/{workspace}/api/v1/remote_write"
    );
    assert!(prometheus_yml.contains(&remote_write), "{prometheus_yml}");
    assert!(
        !prod.list("clusterroles").is_empty(),
        "the chart's cluster-scoped RBAC is installed"
    );
    // --storage-class reaches every claim the chart makes.
    let claims = prod.list("persistentvolumeclaims");
    assert_eq!(claims.len(), 2, "{claims:#?}");
    for claim in &claims {
        assert_eq!(claim["spec"]["storageClassName"], "gp3", "{claim:#}");
    }

    // A re-run reads the release back through the same helm and leaves it alone.
    let again = run(&INIT_PRIMARY);
    assert_eq!(again["changed"], false, "{again:#}");
    assert_eq!(release_step(&again, "prod")["action"], "exists");
    assert_eq!(release_revisions(prod), [("1".into(), "deployed".into())]);

    let join = run(&["join", "cluster", "--cluster", "edge"]);
    assert_eq!(release_step(&join, "edge")["action"], "create", "{join:#}");
    assert_eq!(release_revisions(edge), [("1".into(), "deployed".into())]);
    let agent = pod_spec(edge, "kubecost-cost-analyzer");
    assert_eq!(agent["serviceAccountName"], "kubecost-cost-analyzer-amp");

    run(&["cleanup", "--all"]);
    for (name, kube) in [("prod", prod), ("edge", edge)] {
        assert_eq!(
            release_revisions(kube),
            [],
            "{name}: helm's release is left"
        );
        for plural in [
            "deployments",
            "replicasets",
            "services",
            "clusterroles",
            "clusterrolebindings",
        ] {
            assert_eq!(
                kube.list(plural),
                Vec::<Value>::new(),
                "{name}: {plural} are left"
            );
        }
        assert!(
            kube.get("namespaces", None, NAMESPACE).is_none(),
            "{name}: kcfed's namespace is left"
        );
    }
}

#[test]
fn helm_4_installs_reads_back_and_removes_a_fleet() {
    fleet_lifecycle_with(&helm_binary());
}

#[test]
fn helm_3_installs_reads_back_and_removes_a_fleet() {
    fleet_lifecycle_with(&helm3_binary());
}
