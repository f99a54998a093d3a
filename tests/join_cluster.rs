//! `kcfed join cluster` end to end: a primary in one region, agents in others, several at once.

mod common;
mod support;

use common::{World, assert_exit, block_on, decode, stderr, stdout_json};
use serde_json::Value;
use support::moto::Moto;

const PRIMARY_REGION: &str = "us-east-2";

/// A fleet whose primary `prod` runs in us-east-2, plus agents wherever the specs say.
fn fleet(moto: &Moto, agents: &[&str], init_extra: &[&str]) -> (World, String) {
    let mut clusters = vec!["prod"];
    clusters.extend_from_slice(agents);
    let world = World::new(moto, PRIMARY_REGION, &clusters);
    let workspace_id = world.init_workspace_id(init_extra);
    (world, workspace_id)
}

fn join(world: &World, clusters: &[&str], extra: &[&str]) -> std::process::Output {
    world.join(clusters, extra)
}

fn merged_values_for(world: &World, context: &str) -> Value {
    let calls: Vec<_> = world
        .helm
        .calls()
        .into_iter()
        .filter(|c| c[0] == "upgrade")
        .collect();
    let index = calls
        .iter()
        .rposition(|call| {
            call.windows(2)
                .any(|w| w[0] == "--kube-context" && w[1] == context)
        })
        .unwrap_or_else(|| panic!("no upgrade on {context}: {calls:?}"));
    world.helm.merged_values()[index].clone()
}

#[test]
fn agents_in_other_regions_write_to_the_workspace_region() {
    let (world, workspace_id) = fleet(
        Moto::shared(),
        &["eu@eu-west-1", "apac@ap-southeast-2"],
        &[],
    );
    let primary_writes = world.cluster("prod").kube.write_count();
    let primary_roles_before = block_on(roles(&world, "prod"));
    let eu = world.cluster("eu").arn.clone();
    let apac = world.cluster("apac").arn.clone();

    let output = join(&world, &[&eu, &apac], &["--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    let statuses: Vec<_> = report["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["changed", "changed"], "{report:#}");
    let account = &world.account.account_id;

    for name in ["eu", "apac"] {
        let cluster = world.cluster(name);
        let values = merged_values_for(&world, &cluster.arn);
        assert_eq!(
            values["global"]["amp"]["remoteWriteService"],
            format!(
                "https://aps-workspaces.{PRIMARY_REGION}.amazonaws.com/workspaces/{workspace_id}/api/v1/remote_write"
            )
        );
        assert_eq!(values["global"]["amp"]["sigv4"]["region"], PRIMARY_REGION);
        assert_eq!(
            values["sigV4Proxy"]["host"],
            format!("aps-workspaces.{PRIMARY_REGION}.amazonaws.com")
        );
        assert_eq!(values["federatedETL"]["primaryCluster"], false);
        assert_eq!(values["federatedETL"]["federatedCluster"], true);
        assert_eq!(
            values["prometheus"]["server"]["global"]["external_labels"]["cluster_id"],
            name
        );

        // The object-store config points at the bucket where it is, not at the agent's region.
        let secret = cluster
            .kube
            .get("secrets", Some("kubecost"), "kubecost-object-store")
            .expect("secret");
        use base64::Engine;
        let store = base64::engine::general_purpose::STANDARD
            .decode(secret["data"]["federated-store.yaml"].as_str().unwrap())
            .unwrap();
        let store = String::from_utf8(store).unwrap();
        assert!(
            store.contains(&format!("kcfed-{account}-{PRIMARY_REGION}-kubecost-etl")),
            "{store}"
        );
        assert!(
            store.contains(&format!("region: \"{PRIMARY_REGION}\"")),
            "{store}"
        );

        // Each agent's roles trust its own cluster's issuer.
        let issuer = cluster.issuer.trim_start_matches("https://").to_owned();
        for (role, trust) in block_on(roles(&world, name)) {
            assert!(trust.contains(&issuer), "{role}: {trust}");
        }
    }
    // Nothing of the primary changed.
    assert_eq!(world.cluster("prod").kube.write_count(), primary_writes);
    assert_eq!(block_on(roles(&world, "prod")), primary_roles_before);
}

/// (role name, trust document) of a cluster's kcfed roles.
async fn roles(world: &World, cluster: &str) -> Vec<(String, String)> {
    let config = world.sdk(PRIMARY_REGION).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let listed = iam
        .list_roles()
        .path_prefix("/kcfed/")
        .send()
        .await
        .unwrap();
    let mut roles: Vec<_> = listed
        .roles()
        .iter()
        .filter(|r| r.role_name().starts_with(&format!("kcfed-{cluster}-")))
        .map(|r| {
            (
                r.role_name().to_owned(),
                decode(r.assume_role_policy_document().unwrap()).to_string(),
            )
        })
        .collect();
    roles.sort();
    roles
}

#[test]
fn one_failing_cluster_does_not_stop_the_others() {
    let (world, _) = fleet(Moto::shared(), &["agent-a"], &[]);
    let output = join(
        &world,
        &["agent-a", "does-not-exist"],
        &["--yes", "--output", "json"],
    );
    assert_exit(&output, 3);
    let report = stdout_json(&output);
    let clusters = report["clusters"].as_array().unwrap();
    let status = |name: &str| clusters.iter().find(|c| c["name"] == name).unwrap().clone();
    assert_eq!(status("agent-a")["status"], "changed");
    assert_eq!(status("does-not-exist")["status"], "failed");
    assert!(
        status("does-not-exist")["error"]
            .as_str()
            .unwrap()
            .contains("was not found in region")
    );
    assert!(
        world
            .cluster("agent-a")
            .kube
            .get("namespaces", None, "kubecost")
            .is_some()
    );
    assert!(
        stderr(&output).contains("1 of 2 clusters failed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn rejoin_is_a_no_op_and_dry_run_changes_nothing() {
    let moto = Moto::start_recording();
    let (world, _) = fleet(&moto, &["agent-a"], &["--quick-start"]);
    let before = moto.mutating_calls().len();
    let dry = join(&world, &["agent-a"], &["--dry-run", "--output", "json"]);
    assert_exit(&dry, 0);
    assert_eq!(stdout_json(&dry)["clusters"][0]["status"], "planned");
    assert_eq!(moto.mutating_calls().len(), before);
    assert_eq!(world.cluster("agent-a").kube.write_count(), 0);

    assert_exit(&join(&world, &["agent-a"], &["--yes"]), 0);
    let values = merged_values_for(&world, &world.cluster("agent-a").arn);
    assert!(
        values.get("federatedETL").is_none(),
        "a quick-start fleet has no federation: {values:#}"
    );
    let writes = world.cluster("agent-a").kube.write_count();
    let calls = moto.mutating_calls().len();
    let again = join(&world, &["agent-a"], &["--yes", "--output", "json"]);
    assert_exit(&again, 0);
    let report = stdout_json(&again);
    assert_eq!(report["changed"], false, "{report:#}");
    assert_eq!(report["clusters"][0]["status"], "unchanged");
    assert_eq!(
        moto.mutating_calls().len(),
        calls,
        "{:?}",
        &moto.mutating_calls()[calls..]
    );
    assert_eq!(world.cluster("agent-a").kube.write_count(), writes);
}

/// A quick-start fleet has no bucket: a cluster cannot join it on 2.9 or Kubecost 3, whose FinOps
/// agent writes there.
#[test]
fn a_fleet_without_a_bucket_takes_no_chart_that_needs_one() {
    let (world, _) = fleet(Moto::shared(), &[], &["--quick-start"]);
    for version in ["2.9.7", "3.2.1"] {
        let output = join(&world, &["agent-a"], &["--yes", "--chart-version", version]);
        assert_exit(&output, 2);
        let stderr = stderr(&output);
        assert!(
            stderr.contains("was made with --quick-start and has no bucket")
                && stderr.contains("without --quick-start"),
            "{version}: {stderr}"
        );
    }
}

/// A Kubecost 3 fleet has no AMP workspace: a cluster cannot join it on a line that writes to
/// AMP, and nothing is changed.
#[test]
fn a_fleet_without_a_workspace_takes_no_chart_that_writes_to_amp() {
    let world = World::new(Moto::shared(), PRIMARY_REGION, &["prod", "agent-a"]);
    let made = world.init_primary(&["--chart-version", "3.2.1", "--identity", "irsa", "--yes"]);
    assert_exit(&made, 0);
    let writes = world.cluster("agent-a").kube.write_count();
    for version in ["1.103.4", "2.8.7", "2.9.7"] {
        let output = join(&world, &["agent-a"], &["--yes", "--chart-version", version]);
        assert_exit(&output, 2);
        let stderr = stderr(&output);
        assert!(
            stderr.contains("has no AMP workspace") && stderr.contains("--chart-version 3.2.1"),
            "{version}: {stderr}"
        );
    }
    assert_eq!(world.cluster("agent-a").kube.write_count(), writes);
    let joined = join(&world, &["agent-a"], &["--yes", "--chart-version", "3.2.1"]);
    assert_exit(&joined, 0);
}

#[test]
fn the_primary_cannot_join_as_an_agent() {
    let (world, _) = fleet(Moto::shared(), &[], &["--quick-start"]);
    let output = join(&world, &["prod"], &["--yes"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("is the fleet's primary"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn joining_without_a_fleet_says_to_create_one() {
    let world = World::new(Moto::shared(), PRIMARY_REGION, &["lonely"]);
    let output = join(&world, &["lonely"], &["--yes"]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("kcfed init primary"),
        "{}",
        stderr(&output)
    );
}
