//! kcfed with the real helm of each major it supports, end to end: `init primary`, a re-run,
//! `join cluster` and `cleanup --all`, where helm installs the real cost-analyzer chart into the
//! fake API servers with `--wait` and kcfed reads the releases back through the same helm.

mod common;
mod support;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, output_within, plan_step, stdout_json};
use support::fake_kube::FakeKube;
use support::helm::{helm_binary, helm3_binary, skip_without_charts, with_real_chart};
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

/// Whether the cluster has the service account of the Prometheus server of 1.x and 2.x.
fn has_prometheus_account(kube: &FakeKube) -> bool {
    kube.get(
        "serviceaccounts",
        Some(NAMESPACE),
        "kubecost-prometheus-server-amp",
    )
    .is_some()
}

/// kcfed with `args` in `world`, installing the real chart of `version` with `helm`.
fn with_chart(world: &World, helm: &Path, args: &[&str], version: &str) -> Output {
    let args = with_real_chart(args, helm, version);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    output_within(world.command(&args), RUN_LIMIT)
}

/// The report of a run that succeeded.
fn ok(output: Output) -> Value {
    assert_exit(&output, 0);
    stdout_json(&output)
}

fn pod_spec(kube: &FakeKube, deployment: &str) -> Value {
    let deployment = kube
        .get("deployments", Some(NAMESPACE), deployment)
        .unwrap_or_else(|| panic!("helm made no Deployment {deployment}"));
    deployment["spec"]["template"]["spec"].clone()
}

fn fleet_lifecycle_with(helm: &Path) {
    let world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    let run = |args: &[&str]| {
        let args = with_real_chart(args, helm, CHART_VERSION);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
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
    assert_eq!(
        plan_step(&init, "helm-release", Some("prod"))["action"],
        "create",
        "{init:#}"
    );
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
    assert_eq!(
        plan_step(&again, "helm-release", Some("prod"))["action"],
        "exists"
    );
    assert_eq!(release_revisions(prod), [("1".into(), "deployed".into())]);

    let join = run(&["join", "cluster", "--cluster", "edge"]);
    assert_eq!(
        plan_step(&join, "helm-release", Some("edge"))["action"],
        "create",
        "{join:#}"
    );
    assert_eq!(release_revisions(edge), [("1".into(), "deployed".into())]);
    let agent = pod_spec(edge, "kubecost-cost-analyzer");
    assert_eq!(agent["serviceAccountName"], "kubecost-cost-analyzer-amp");

    cleaned_up(&world, helm, &[("prod", prod), ("edge", edge)]);
}

/// `cleanup --all` (it takes no chart flags: it finds each release by name and uninstalls it),
/// after which nothing of the releases or of kcfed's namespace is left on `clusters`.
fn cleaned_up(world: &World, helm: &Path, clusters: &[(&str, &FakeKube)]) {
    let helm_arg = helm.display().to_string();
    let cleanup = ["cleanup", "--all", "--helm", &helm_arg, "--yes"];
    assert_exit(&output_within(world.command(&cleanup), RUN_LIMIT), 0);
    for (name, kube) in clusters {
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
    if skip_without_charts() {
        return;
    }
    fleet_lifecycle_with(&helm_binary());
}

#[test]
fn helm_3_installs_reads_back_and_removes_a_fleet() {
    if skip_without_charts() {
        return;
    }
    fleet_lifecycle_with(&helm3_binary());
}

/// A fleet on 1.x moves to 2.8.7: the primary first (the plan shows its release from -> to), then
/// the agent; the real helm 4 upgrades the real charts in place, and installs 2.8.7 from scratch
/// on a new agent, its CRD included. Going back to 1.x is refused before anything changes.
#[test]
fn a_fleet_moves_from_chart_1x_to_2x_and_not_back() {
    if skip_without_charts() {
        return;
    }
    let world = World::new(Moto::shared(), REGION, &["prod", "edge", "fresh"]);
    let helm = helm_binary();
    let run = |args: &[&str], version: &str| with_chart(&world, &helm, args, version);
    const PRIMARY: [&str; 4] = ["init", "primary", "--cluster", "prod"];
    const AGENT: [&str; 4] = ["join", "cluster", "--cluster", "edge"];
    ok(run(&PRIMARY, CHART_VERSION));
    ok(run(&AGENT, CHART_VERSION));
    let prod = &world.cluster("prod").kube;
    let edge = &world.cluster("edge").kube;

    let upgraded = ok(run(&PRIMARY, "2.8.7"));
    let step = plan_step(&upgraded, "helm-release", Some("prod"));
    assert_eq!(step["action"], "update", "{upgraded:#}");
    let details = step["details"].to_string();
    assert!(details.contains("chart 1.103.4 -> 2.8.7"), "{details}");
    assert_eq!(
        release_revisions(prod),
        [
            ("1".into(), "superseded".into()),
            ("2".into(), "deployed".into())
        ]
    );
    // The primary now runs the aggregator, as the cost-analyzer's service account, and the
    // chart's CRD is there.
    let aggregator = prod
        .list("statefulsets")
        .into_iter()
        .find(|s| {
            s["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.contains("aggregator"))
        })
        .expect("an aggregator StatefulSet on the 2.x primary");
    assert_eq!(
        aggregator["spec"]["template"]["spec"]["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );
    // helm installs a chart's crds/ only on a first install, never on an upgrade.
    assert!(prod.list("customresourcedefinitions").is_empty());

    let joined = ok(run(&AGENT, "2.8.7"));
    assert_eq!(
        plan_step(&joined, "helm-release", Some("edge"))["action"],
        "update"
    );
    assert!(
        edge.list("statefulsets")
            .iter()
            .all(|s| !s["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .contains("aggregator")),
        "agents run no aggregator"
    );

    // A cluster that joins on 2.x from the start gets the chart's CRD too.
    ok(run(&["join", "cluster", "--cluster", "fresh"], "2.8.7"));
    let crds = world
        .cluster("fresh")
        .kube
        .list("customresourcedefinitions");
    assert_eq!(crds.len(), 1, "{crds:#?}");
    assert_eq!(
        crds[0]["metadata"]["name"],
        "turndownschedules.kubecost.com"
    );

    // Back to 1.x: a conflict in the plan, and the release stays at its revision.
    let back = run(&PRIMARY, CHART_VERSION);
    assert_exit(&back, 1);
    let report = stdout_json(&back);
    assert_eq!(
        plan_step(&report, "helm-release", Some("prod"))["action"],
        "conflict"
    );
    assert_eq!(release_revisions(prod).len(), 2);
}

/// A new Kubecost 3 fleet, end to end with the real 3.2.1 chart: the primary and an agent in
/// another region, each with the one service account the chart's AWS-calling pods share, whose
/// only grant is the fleet's bucket; a rerun changes nothing; cleanup leaves nothing.
fn kubecost_3_fleet_with(helm: &Path, identity: &str) {
    let mut world = World::new(Moto::shared(), REGION, &["prod", "edge@us-east-1"]);
    let account = world.account.clone();
    let edge_arn = format!("arn:aws:eks:us-east-1:{}:cluster/edge", account.account_id);
    if identity == "pod-identity" {
        world.serve_eks_extensions();
        for (region, cluster) in [(REGION, "prod"), ("us-east-1", "edge")] {
            world.eks_extensions().install_addon(
                &account.account_id,
                region,
                cluster,
                "eks-pod-identity-agent",
            );
        }
    }
    let run = |args: &[&str]| {
        let args = with_real_chart(args, helm, "3.2.1");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let prod = &world.cluster("prod").kube;
    let edge = &world.cluster("edge").kube;
    let service_account = |kube: &FakeKube, deployment: &str| {
        pod_spec(kube, deployment)["serviceAccountName"].clone()
    };

    let init = run(&[
        "init",
        "primary",
        "--cluster",
        "prod",
        "--identity",
        identity,
    ]);
    assert_eq!(
        plan_step(&init, "helm-release", Some("prod"))["action"],
        "create",
        "{init:#}"
    );
    assert_eq!(release_revisions(prod), [("1".into(), "deployed".into())]);
    for deployment in ["kubecost-finopsagent", "kubecost-cloud-cost"] {
        assert_eq!(
            service_account(prod, deployment),
            "kubecost-cost-analyzer-amp",
            "{deployment}"
        );
    }
    assert!(
        prod.get("deployments", Some(NAMESPACE), "kubecost-frontend")
            .is_some()
    );
    let aggregator = prod
        .get("statefulsets", Some(NAMESPACE), "kubecost-aggregator")
        .expect("the primary's aggregator");
    assert_eq!(
        aggregator["spec"]["template"]["spec"]["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );
    // One service account, one role (IRSA) or association (Pod Identity) per cluster.
    let roles = &init["resources"]["clusters"][0]["service_account_roles"];
    assert_eq!(roles.as_array().map(Vec::len), Some(1), "{init:#}");
    // Nothing of AMP in IAM: one role (the cluster's, or the fleet's shared one) with the
    // bucket's policy alone, and no AMP policy in the account.
    let roles = fleet_roles(&world);
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert!(
        roles[0].1.len() == 1 && roles[0].1[0].contains("federated-store"),
        "{roles:?}"
    );
    let policies = common::inventory(&world).policies;
    assert!(
        policies
            .iter()
            .all(|policy| policy.ends_with("-federated-store")),
        "{policies:?}"
    );
    assert!(
        !has_prometheus_account(prod),
        "no Prometheus, no service account for it"
    );

    let join = run(&["join", "cluster", "--cluster", &edge_arn]);
    assert_eq!(
        plan_step(&join, "helm-release", Some("edge"))["action"],
        "create",
        "{join:#}"
    );
    assert_eq!(
        service_account(edge, "kubecost-finopsagent"),
        "kubecost-cost-analyzer-amp"
    );
    assert!(
        edge.list("statefulsets").is_empty(),
        "an agent runs no aggregator"
    );
    assert!(
        edge.get("deployments", Some(NAMESPACE), "kubecost-frontend")
            .is_none()
    );
    let again = run(&["join", "cluster", "--cluster", &edge_arn]);
    assert_eq!(again["changed"], false, "{again:#}");

    // No AMP workspace: the fleet is found by its bucket, and its clusters report by their
    // FinOps agents' heartbeats there.
    assert_eq!(common::inventory(&world).workspaces, Vec::<String>::new());
    assert!(init["resources"].get("workspace").is_none(), "{init:#}");
    let fleet_id = init["resources"]["fleet_id"].as_str().unwrap();
    assert!(fleet_id.starts_with("s3-"), "{init:#}");
    let status = || {
        let helm_arg = helm.display().to_string();
        let args = ["status", "--helm", &helm_arg, "--output", "json"];
        output_within(world.command(&args), RUN_LIMIT)
    };
    let silent = status();
    assert_exit(&silent, 3);
    let document = stdout_json(&silent);
    assert_eq!(document["fleet"]["id"], fleet_id, "{document:#}");
    assert!(document.get("workspace").is_none(), "{document:#}");
    let bucket = init["resources"]["bucket"]["bucket"].as_str().unwrap();
    for cluster in ["prod", "edge"] {
        world.write_heartbeat(bucket, cluster);
    }
    assert_exit(&status(), 0);

    cleaned_up(&world, helm, &[("prod", prod), ("edge", edge)]);
    let inventory = common::inventory(&world);
    assert_eq!(
        (inventory.buckets, inventory.policies),
        (vec![], vec![]),
        "the fleet's bucket and policies are left"
    );
    let left = common::block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let roles = iam
            .list_roles()
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap();
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        roles.roles().len() + providers.open_id_connect_provider_list().len()
    });
    assert_eq!(left, 0, "kcfed's roles and OIDC providers are left");
}

#[test]
fn helm_4_installs_a_kubecost_3_fleet_with_pod_identity() {
    if skip_without_charts() {
        return;
    }
    kubecost_3_fleet_with(&helm_binary(), "pod-identity");
}

#[test]
fn helm_3_installs_a_kubecost_3_fleet_with_irsa() {
    if skip_without_charts() {
        return;
    }
    kubecost_3_fleet_with(&helm3_binary(), "irsa");
}

/// The roles kcfed's fleets have in the world's account, by name, each with the ARNs of its
/// attached policies.
fn fleet_roles(world: &World) -> Vec<(String, Vec<String>)> {
    let inventory = common::inventory(world);
    inventory
        .roles
        .iter()
        .filter_map(|role| role.strip_prefix("/kcfed/"))
        .filter_map(|role| role.rsplit('/').next())
        .map(|name| {
            let attached = inventory
                .attachments
                .iter()
                .filter_map(|line| line.strip_prefix(&format!("{name} -> ")))
                .map(str::to_owned)
                .collect();
            (name.to_owned(), attached)
        })
        .collect()
}

/// An AMP fleet on 2.8.7 moves to Kubecost 3.2.1 cluster by cluster, through 2.9.7, with the real
/// helm 4 and charts, the primary first: a move that skips 2.9 is refused with the cluster's path;
/// 2.9 runs the FinOps agent beside AMP; 3.2.1 drops the cluster's Prometheus (whose role goes,
/// and the cost analyzer's keeps only the bucket) and keeps its aggregator; status of the
/// half-moved fleet shows each cluster by its own evidence in one table, and of the moved fleet by
/// heartbeats; back to 2.x is refused; cleanup leaves nothing.
#[test]
fn an_amp_fleet_moves_to_kubecost_3_through_2_9_and_not_back() {
    if skip_without_charts() {
        return;
    }
    let mut world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    let plane = world.serve_amp_data_plane(true);
    let helm = helm_binary();
    let run = |args: &[&str], version: &str| with_chart(&world, &helm, args, version);
    let status = || {
        let helm_arg = helm.display().to_string();
        let args = ["status", "--helm", &helm_arg, "--output", "json"];
        output_within(world.command(&args), RUN_LIMIT)
    };
    const PRIMARY: [&str; 6] = ["init", "primary", "--cluster", "prod", "--identity", "irsa"];
    const AGENT: [&str; 4] = ["join", "cluster", "--cluster", "edge"];
    let init = ok(run(&PRIMARY, "2.8.7"));
    ok(run(&AGENT, "2.8.7"));
    let workspace = init["resources"]["workspace"]["id"].as_str().unwrap();
    let bucket = init["resources"]["bucket"]["bucket"].as_str().unwrap();
    // Status names each cluster's evidence and whether it reports (`rows`, by name): `silent`
    // does not, until its FinOps agent's heartbeat is in the bucket.
    let silent_until_its_heartbeat = |silent: &str, rows: [(&str, &str, bool); 2]| {
        let output = status();
        assert_exit(&output, 3);
        let document = stdout_json(&output);
        let mut seen: Vec<(&str, &str, bool)> = document["clusters"]
            .as_array()
            .expect("clusters")
            .iter()
            .map(|c| {
                let field = |name: &str| c[name].as_str().unwrap_or_default();
                (
                    field("name"),
                    field("metrics_source"),
                    c["reporting"] == true,
                )
            })
            .collect();
        seen.sort();
        assert_eq!(seen, rows, "{document:#}");
        world.write_heartbeat(bucket, silent);
        assert_exit(&status(), 0);
    };
    let prod = &world.cluster("prod").kube;
    let edge = &world.cluster("edge").kube;
    assert_eq!(fleet_roles(&world).len(), 4, "two roles a cluster on 2.x");

    // Straight to 3.x: refused with the cluster's path, and nothing changes.
    let skipped = run(&PRIMARY, "3.2.1");
    assert_exit(&skipped, 1);
    let report = stdout_json(&skipped);
    let step = plan_step(&report, "helm-release", Some("prod"));
    assert_eq!(step["action"], "conflict", "{report:#}");
    assert!(
        step["details"].to_string().contains(
            "its path is 2.8.7 -> 2.9.7 -> 3.2.1: run again with --chart-version 2.9.7 first"
        ),
        "{step:#}"
    );
    assert_eq!(release_revisions(prod).len(), 1);

    // 2.9: the FinOps agent beside AMP, as the cost analyzer's service account.
    let bridged = ok(run(&PRIMARY, "2.9.7"));
    let details = plan_step(&bridged, "helm-release", Some("prod"))["details"].to_string();
    assert!(
        details.contains("chart 2.8.7 -> 2.9.7") && details.contains("FinOps agent starts"),
        "{details}"
    );
    assert_eq!(
        pod_spec(prod, "kubecost-finopsagent")["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );
    assert!(pod_spec(prod, "kubecost-cost-analyzer").is_object());

    // 3.2.1: the Prometheus and the cost analyzer go; the FinOps agent and the aggregator stay.
    let moved = ok(run(&PRIMARY, "3.2.1"));
    let details = plan_step(&moved, "helm-release", Some("prod"))["details"].to_string();
    assert!(
        details.contains("nothing needs deleting first"),
        "{details}"
    );
    for gone in ["kubecost-cost-analyzer", "kubecost-prometheus-server"] {
        assert!(
            prod.get("deployments", Some(NAMESPACE), gone).is_none(),
            "{gone} is left on the moved cluster"
        );
    }
    assert_eq!(
        pod_spec(prod, "kubecost-finopsagent")["serviceAccountName"],
        "kubecost-cost-analyzer-amp"
    );
    assert!(pod_spec(prod, "kubecost-frontend").is_object());
    assert!(
        prod.get("statefulsets", Some(NAMESPACE), "kubecost-aggregator")
            .is_some()
    );
    assert!(
        !has_prometheus_account(prod),
        "the Prometheus server's service account is left"
    );
    let acting = moved["resources"]["clusters"][0]["service_account_roles"]
        .as_array()
        .expect("the moved cluster's roles");
    assert_eq!(acting.len(), 1, "{moved:#}");
    let prod_role = acting[0]["role_arn"]
        .as_str()
        .and_then(|arn| arn.rsplit('/').next())
        .unwrap()
        .to_owned();
    let roles = fleet_roles(&world);
    assert_eq!(
        roles.len(),
        3,
        "the moved cluster's Prometheus role is gone: {roles:?}"
    );
    let (_, policies) = roles
        .iter()
        .find(|(name, _)| *name == prod_role)
        .expect("the moved cluster's role");
    assert!(
        policies.len() == 1 && policies[0].contains("federated-store"),
        "a Kubecost 3 cluster's only grant is the bucket: {policies:?}"
    );
    let again = ok(run(&PRIMARY, "3.2.1"));
    assert_eq!(again["changed"], false, "{again:#}");

    // The half-moved fleet: prod by its heartbeat, edge by its metrics in AMP, in one table.
    world.remote_write(&plane, workspace, "edge", std::time::SystemTime::now());
    silent_until_its_heartbeat(
        "prod",
        [("edge", "amp", true), ("prod", "heartbeat", false)],
    );

    // Back to 2.x: a conflict, and the release stays.
    let back = run(&PRIMARY, "2.9.7");
    assert_exit(&back, 1);
    let report = stdout_json(&back);
    assert_eq!(
        plan_step(&report, "helm-release", Some("prod"))["action"],
        "conflict"
    );
    assert_eq!(release_revisions(prod).len(), 3);

    // The workspace stays while a cluster still writes to it.
    let helm_arg = helm.display().to_string();
    let retire = ["cleanup", "--amp-workspace", "--helm", &helm_arg, "--yes"];
    let refused = output_within(world.command(&retire), RUN_LIMIT);
    assert_exit(&refused, 1);
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("edge (2.8.7)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert_eq!(common::inventory(&world).workspaces.len(), 1);

    // The agent follows; the moved fleet reports by heartbeats alone.
    ok(run(&AGENT, "2.9.7"));
    ok(run(&AGENT, "3.2.1"));
    assert!(
        edge.list("statefulsets").is_empty(),
        "agents run no aggregator"
    );
    assert_eq!(fleet_roles(&world).len(), 2);
    silent_until_its_heartbeat(
        "edge",
        [("edge", "heartbeat", false), ("prod", "heartbeat", true)],
    );

    // The whole fleet moved: its workspace and AMP's policies go, and the fleet, found by its
    // bucket under the same id, keeps its roles and reports; reruns change nothing.
    let retired = output_within(world.command(&retire), RUN_LIMIT);
    assert_exit(&retired, 0);
    let inventory = common::inventory(&world);
    assert_eq!(inventory.workspaces, Vec::<String>::new());
    assert!(
        inventory
            .policies
            .iter()
            .all(|policy| !policy.contains("-amp-")),
        "{:?}",
        inventory.policies
    );
    assert_eq!(fleet_roles(&world).len(), 2);
    let status = ok(status());
    assert_eq!(status["fleet"]["id"], workspace, "{status:#}");
    assert!(status.get("workspace").is_none(), "{status:#}");
    assert_eq!(ok(run(&PRIMARY, "3.2.1"))["changed"], false);
    assert_eq!(ok(run(&AGENT, "3.2.1"))["changed"], false);
    // A retirement cut short before AMP's policies went: a rerun of the fleet leaves the policy
    // alone, and the retirement, run again, removes it.
    common::block_on(async {
        let iam = aws_sdk_iam::Client::new(&world.account.sdk_config(REGION).await);
        iam.create_policy()
            .policy_name(format!("kcfed-{workspace}-amp-query"))
            .path(format!("/kcfed/{workspace}/"))
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"aps:QueryMetrics","Resource":"*"}]}"#,
            )
            .send()
            .await
            .expect("a policy left behind");
    });
    assert_eq!(ok(run(&PRIMARY, "3.2.1"))["changed"], false);
    assert_exit(&output_within(world.command(&retire), RUN_LIMIT), 0);
    assert!(
        common::inventory(&world)
            .policies
            .iter()
            .all(|policy| !policy.contains("-amp-")),
        "the retirement, run again, removes AMP's policies"
    );

    cleaned_up(&world, &helm, &[("prod", prod), ("edge", edge)]);
    assert_eq!(fleet_roles(&world), []);
    let inventory = common::inventory(&world);
    assert_eq!((inventory.buckets, inventory.policies), (vec![], vec![]));
}

/// A Pod Identity cluster moved to Kubecost 3 loses its Prometheus server's association (no pod
/// runs as that service account any more); the fleet's shared roles keep their AMP grants, which
/// its other clusters may still use.
#[test]
fn a_pod_identity_cluster_moved_to_kubecost_3_keeps_one_association() {
    if skip_without_charts() {
        return;
    }
    let mut world = World::new(Moto::shared(), REGION, &["prod"]);
    world.serve_eks_extensions();
    let account = world.account.account_id.clone();
    world
        .eks_extensions()
        .install_addon(&account, REGION, "prod", "eks-pod-identity-agent");
    let helm = helm3_binary();
    let run = |version: &str| {
        let args = ["init", "primary", "--cluster", "prod"];
        let args = with_real_chart(&args, &helm, version);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let associated = || -> Vec<String> {
        let mut accounts: Vec<String> = world
            .eks_extensions()
            .pod_identity_associations(&account, REGION, "prod")
            .into_iter()
            .map(|association| association.service_account)
            .collect();
        accounts.sort();
        accounts
    };
    run("2.8.7");
    run("2.9.7");
    assert_eq!(
        associated(),
        [
            "kubecost-cost-analyzer-amp",
            "kubecost-prometheus-server-amp"
        ]
    );
    let moved = run("3.2.1");
    let removal = moved["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["kind"] == "pod-identity-association" && step["action"] == "delete")
        .unwrap_or_else(|| panic!("no association removed: {moved:#}"));
    assert_eq!(removal["name"], "kubecost/kubecost-prometheus-server-amp");
    assert!(
        removal["details"]
            .to_string()
            .contains("runs no Prometheus of its own"),
        "{removal:#}"
    );
    assert_eq!(associated(), ["kubecost-cost-analyzer-amp"]);
    let prod = &world.cluster("prod").kube;
    assert!(
        !has_prometheus_account(prod),
        "the Prometheus server's service account is left"
    );
    assert_eq!(fleet_roles(&world).len(), 2, "the shared roles stay");
    assert_eq!(run("3.2.1")["changed"], false);

    cleaned_up(&world, &helm, &[("prod", &world.cluster("prod").kube)]);
    assert_eq!(fleet_roles(&world), []);
}
