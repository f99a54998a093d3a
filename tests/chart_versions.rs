//! The chart version each cluster gets when `--chart-version` is not given: a new fleet gets the
//! newest line kcfed installs end to end (3.2.1; 2.8.7 without a bucket), recorded on the fleet so
//! its new clusters join on the primary's version; a rerun keeps the version each release runs,
//! so it never moves a cluster. kcfed runs exactly as typed here, with the recording helm.

mod common;
mod support;

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, inventory, output_within, plan_step, stdout_json};
use support::moto::Moto;

const REGION: &str = "us-east-2";

/// kcfed with `args` and the world's helm, applied without asking, to success: its report.
fn run(world: &World, args: &[&str]) -> Value {
    let helm = world.helm_path();
    let mut all = args.to_vec();
    all.extend(["--helm", &helm, "--yes", "--output", "json"]);
    let output = output_within(world.command_as_typed(&all), RUN_LIMIT);
    assert_exit(&output, 0);
    stdout_json(&output)
}

/// The action on a cluster's release and the chart and version the plan names for it.
fn release_of(report: &Value, cluster: &str) -> (String, String) {
    let step = plan_step(report, "helm-release", Some(cluster));
    let detail = step["details"][0].as_str().unwrap_or_default();
    let chart: Vec<&str> = detail.split(' ').take(2).collect();
    (
        step["action"].as_str().unwrap_or_default().to_owned(),
        chart.join(" "),
    )
}

/// The chart version the fleet's record (on its workspace, or on its bucket when it has none)
/// holds, if it holds one.
fn recorded_version(world: &World) -> Option<String> {
    let inventory = inventory(world);
    let bucket_tags = inventory
        .settings
        .iter()
        .filter(|setting| setting.starts_with("bucket "));
    inventory
        .workspace_tags
        .iter()
        .chain(bucket_tags)
        .find_map(|tag| tag.split_once("kcfed:chart-version="))
        .map(|(_, version)| {
            version
                .split([' ', ',', '"'])
                .next()
                .unwrap_or(version)
                .to_owned()
        })
}

#[test]
fn a_new_fleet_gets_kubecost_3_with_pod_identity_and_its_clusters_join_on_it() {
    let mut world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    world.serve_eks_extensions();
    for cluster in ["prod", "edge"] {
        let account = world.account.account_id.clone();
        world
            .eks_extensions()
            .install_addon(&account, REGION, cluster, "eks-pod-identity-agent");
    }
    let init = run(&world, &["init", "primary", "--cluster", "prod"]);
    assert_eq!(
        release_of(&init, "prod"),
        ("create".into(), "kubecost 3.2.1".into())
    );
    // Pod Identity, the default where the chart can use it: one association, no role.
    plan_step(&init, "pod-identity-association", Some("prod"));
    // Kubecost 3 reaches no AMP: the fleet's record is on its bucket, and no workspace is made.
    assert_eq!(recorded_version(&world).as_deref(), Some("3.2.1"));
    assert_eq!(inventory(&world).workspaces, Vec::<String>::new());
    assert!(init["resources"].get("workspace").is_none(), "{init:#}");
    common::assert_conforms(&init, common::REPORT_SCHEMA);

    let joined = run(&world, &["join", "cluster", "--cluster", "edge"]);
    assert_eq!(
        release_of(&joined, "edge"),
        ("create".into(), "kubecost 3.2.1".into())
    );
    let again = run(&world, &["init", "primary", "--cluster", "prod"]);
    assert_eq!(again["changed"], false, "{again:#}");
}

#[test]
fn a_new_fleet_without_a_bucket_gets_the_newest_amp_line() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let init = run(
        &world,
        &["init", "primary", "--cluster", "prod", "--quick-start"],
    );
    assert_eq!(
        release_of(&init, "prod"),
        ("create".into(), "cost-analyzer 2.8.7".into())
    );
}

/// A fleet made on 2.8.7: reruns without the flag keep each release's version, a cluster moved
/// with the flag stays where it was moved, and a new cluster joins on the primary's version.
#[test]
fn a_rerun_keeps_what_each_release_runs_and_a_new_cluster_takes_the_primarys() {
    let world = World::new(Moto::shared(), REGION, &["prod", "edge", "lab"]);
    let primary = ["init", "primary", "--cluster", "prod"];
    let made = run(
        &world,
        &[
            &primary[..],
            &["--chart-version", "2.8.7", "--identity", "irsa"],
        ]
        .concat(),
    );
    assert_eq!(release_of(&made, "prod").1, "cost-analyzer 2.8.7");
    assert_eq!(recorded_version(&world).as_deref(), Some("2.8.7"));

    let again = run(&world, &primary);
    assert_eq!(again["changed"], false, "{again:#}");
    let joined = run(&world, &["join", "cluster", "--cluster", "edge"]);
    assert_eq!(
        release_of(&joined, "edge"),
        ("create".into(), "cost-analyzer 2.8.7".into())
    );
    let moved = run(
        &world,
        &[
            "join",
            "cluster",
            "--cluster",
            "edge",
            "--chart-version",
            "2.9.7",
        ],
    );
    assert_eq!(
        release_of(&moved, "edge"),
        ("update".into(), "cost-analyzer 2.9.7".into())
    );
    let rejoined = run(&world, &["join", "cluster", "--cluster", "edge"]);
    assert_eq!(rejoined["changed"], false, "{rejoined:#}");
    let new = run(&world, &["join", "cluster", "--cluster", "lab"]);
    assert_eq!(
        release_of(&new, "lab"),
        ("create".into(), "cost-analyzer 2.8.7".into())
    );
}
