//! Cluster ids end to end: three clusters named `prod` (two regions of the fleet's account, one in
//! another account) in one fleet, installed with the real helm and chart, keep their data apart:
//! each release runs with its own `cluster_id` (so its own AMP series and ETL prefix), `status`
//! tells them apart, and cleaning one leaves the others as they were. The ids are recorded on the
//! roles, so re-runs keep them, and a running cluster's id never changes without a conflict.

mod common;
mod support;

use std::time::SystemTime;

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, block_on, output_within, stderr, stdout_json};
use support::amp::AmpDataPlane;
use support::helm::{helm_binary, skip_without_charts, with_real_chart};
use support::moto::{AwsAccount, Moto};

const REGION: &str = "us-west-2";
const EU: &str = "eu-west-1";
const CHART_VERSION: &str = "1.103.4";
const ROLE: &str = "OrganizationAccountAccessRole";

/// `prod` in us-west-2 and eu-west-1 of the world's account and in eu-west-1 of another, each
/// with its own API server; AWS calls go through a proxy that names the AMP data plane as the
/// workspace's query endpoint.
fn three_prods() -> (World, AwsAccount, AmpDataPlane) {
    let moto = Moto::shared();
    let mut world = World::new(moto, REGION, &["prod", "prod@eu-west-1"]);
    let other = moto.new_account();
    world.add_cluster_in(&other, "prod", EU);
    world.write_kubeconfig();
    let plane = world.serve_amp_data_plane(true);
    (world, other, plane)
}

fn run(world: &World, args: &[&str]) -> std::process::Output {
    output_within(world.command(args), RUN_LIMIT)
}

/// A command that installs the real chart with the real helm, run to success.
fn install(world: &World, args: &[&str]) -> Value {
    let args = with_real_chart(args, &helm_binary(), CHART_VERSION);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run(world, &args);
    assert_exit(&output, 0);
    stdout_json(&output)
}

/// What the cluster's cost-analyzer runs with as its cluster id: Kubecost writes its metrics'
/// `cluster_id` and its ETL files' prefix (`federated/ID/`) from it.
fn running_cluster_id(cluster: &common::Cluster) -> Option<String> {
    let deployment = cluster
        .kube
        .get("deployments", Some("kubecost"), "kubecost-cost-analyzer")?;
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()?
        .iter()
        .flat_map(|container| container["env"].as_array().into_iter().flatten())
        .find(|env| env["name"] == "CLUSTER_ID")
        .and_then(|env| env["value"].as_str())
        .map(str::to_owned)
}

/// The fleet account's kcfed roles with their tags.
fn roles_with_tags(account: &AwsAccount) -> Vec<(String, Vec<(String, String)>)> {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let listed = iam.list_roles().send().await.expect("ListRoles");
        let mut roles = Vec::new();
        for role in listed.roles() {
            if !role.path().starts_with("/kcfed/") {
                continue;
            }
            let tags = iam
                .list_role_tags()
                .role_name(role.role_name())
                .send()
                .await
                .expect("ListRoleTags");
            let tags = tags
                .tags()
                .iter()
                .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                .collect();
            roles.push((role.role_name().to_owned(), tags));
        }
        roles
    })
}

fn ids_of(report: &Value) -> Vec<String> {
    report["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .map(|cluster| cluster["cluster_id"].as_str().expect("an id").to_owned())
        .collect()
}

#[test]
fn three_clusters_named_prod_keep_their_data_apart() {
    if skip_without_charts() {
        return;
    }
    let (world, other, plane) = three_prods();
    let [west, eu, other_eu] = [0, 1, 2].map(|index| &world.clusters[index]);
    let other_id = format!("prod-{EU}-{}", other.account_id);

    let init = install(&world, &["init", "primary", "--cluster", "prod"]);
    common::assert_conforms(&init, common::REPORT_SCHEMA);
    assert_eq!(ids_of(&init), ["prod"]);
    let workspace = init["resources"]["workspace"]["id"]
        .as_str()
        .expect("workspace id")
        .to_owned();
    let bucket = init["resources"]["bucket"]["bucket"]
        .as_str()
        .expect("a federated fleet")
        .to_owned();

    let join_both = [
        "join",
        "cluster",
        "--cluster",
        &eu.arn,
        "--cluster",
        &other_eu.arn,
        "--account-role",
        ROLE,
    ];
    let join = install(&world, &join_both);
    common::assert_conforms(&join, common::REPORT_SCHEMA);
    let expected = ["prod-eu-west-1".to_owned(), other_id.clone()];
    assert_eq!(ids_of(&join), expected);
    let resources: Vec<&str> = join["resources"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| cluster["cluster_id"].as_str().unwrap())
        .collect();
    assert_eq!(resources, expected);
    // The plan names each cluster's steps by its id.
    let scopes: std::collections::BTreeSet<&str> = join["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        ["fleet", "prod-eu-west-1", other_id.as_str()].into()
    );

    // Three releases, three cluster ids, so three series in AMP and three ETL prefixes.
    let running: Vec<Option<String>> = [west, eu, other_eu]
        .iter()
        .map(|cluster| running_cluster_id(cluster))
        .collect();
    assert_eq!(
        running,
        [
            Some("prod".to_owned()),
            Some("prod-eu-west-1".to_owned()),
            Some(other_id.clone())
        ]
    );
    // Only the qualified ids are recorded: a cluster whose id is its name needs no tag.
    let tagged: Vec<String> = roles_with_tags(&world.account)
        .into_iter()
        .filter_map(|(_, tags)| {
            tags.into_iter()
                .find(|(key, _)| key == "kcfed:cluster-id")
                .map(|(_, value)| value)
        })
        .collect();
    assert_eq!(tagged.len(), 4, "{tagged:?}");
    assert!(tagged.contains(&"prod-eu-west-1".to_owned()));
    assert!(tagged.contains(&other_id));

    // status: three rows, each matched in AMP by its own id, and each ETL prefix its own.
    let key = (
        world.account.access_key_id.as_str(),
        world.account.secret_access_key.as_str(),
    );
    for id in ["prod", "prod-eu-west-1", other_id.as_str()] {
        let labels = [("cluster_id", id), ("node", "node-1")];
        let accepted = plane.remote_write(
            &workspace,
            key,
            REGION,
            "node_total_hourly_cost",
            &labels,
            SystemTime::now(),
        );
        assert_eq!(accepted, 204);
    }
    world.with_tls_policy_lifted(&bucket, async |s3| {
        s3.put_object()
            .bucket(&bucket)
            .key("federated/prod-eu-west-1/etl/bingen/allocations/1d/file")
            .body(b"etl".to_vec().into())
            .send()
            .await
            .expect("write an ETL file");
    });
    let helm = helm_binary().display().to_string();
    let status = run(
        &world,
        &[
            "status",
            "--helm",
            &helm,
            "--account-role",
            ROLE,
            "--output",
            "json",
        ],
    );
    assert_exit(&status, 0);
    let document = stdout_json(&status);
    common::assert_conforms(&document, common::STATUS_SCHEMA);
    let rows: Vec<(&str, &str, bool, bool)> = document["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cluster| {
            (
                cluster["cluster_id"].as_str().unwrap(),
                cluster["arn"].as_str().unwrap(),
                cluster["reporting"].as_bool().unwrap(),
                cluster["etl_last_written"].is_string(),
            )
        })
        .collect();
    let mut expected_rows = vec![
        ("prod", west.arn.as_str(), true, false),
        ("prod-eu-west-1", eu.arn.as_str(), true, true),
        (other_id.as_str(), other_eu.arn.as_str(), true, false),
    ];
    expected_rows.sort_by_key(|row| row.1);
    assert_eq!(rows, expected_rows, "{document:#}");

    // Re-runs keep every id and change nothing.
    let rejoin = install(&world, &join_both);
    assert_eq!(rejoin["changed"], false, "{rejoin:#}");
    assert_eq!(ids_of(&rejoin), expected);
    let reinit = install(&world, &["init", "primary", "--cluster", "prod"]);
    assert_eq!(reinit["changed"], false, "{reinit:#}");

    // Cleaning one leaves the other two as they were: roles, releases, AMP and ETL settings.
    let roles_before = roles_with_tags(&world.account);
    let others_secrets = || -> Vec<Option<Value>> {
        [west, other_eu]
            .iter()
            .map(|cluster| {
                cluster
                    .kube
                    .get("secrets", Some("kubecost"), "kubecost-object-store")
            })
            .collect()
    };
    let secrets_before = others_secrets();
    let cleanup = output_within(
        world.cleanup_command(&helm, &["--cluster", &eu.arn, "--yes", "--output", "json"]),
        RUN_LIMIT,
    );
    assert_exit(&cleanup, 0);
    assert_eq!(ids_of(&stdout_json(&cleanup)), ["prod-eu-west-1"]);
    assert_eq!(running_cluster_id(eu), None);
    assert!(
        eu.kube.get("namespaces", None, "kubecost").is_none(),
        "the cleaned cluster's namespace is gone"
    );
    let roles_after = roles_with_tags(&world.account);
    let kept: Vec<_> = roles_before
        .into_iter()
        .filter(|(_, tags)| {
            !tags
                .iter()
                .any(|(key, value)| key == "kcfed:cluster" && value == &eu.arn)
        })
        .collect();
    assert_eq!(roles_after, kept);
    assert_eq!(roles_after.len(), 4);
    assert_eq!(running_cluster_id(west), Some("prod".to_owned()));
    assert_eq!(running_cluster_id(other_eu), Some(other_id.clone()));
    let secrets_after = others_secrets();
    assert!(secrets_after.iter().all(Option::is_some));
    assert_eq!(secrets_after, secrets_before);
}

/// The kcfed of the last landing before cluster ids, which scripts/install-test-deps builds.
fn previous_kcfed() -> std::path::PathBuf {
    std::env::var_os("KCFED_TEST_PREVIOUS_KCFED")
        .expect("KCFED_TEST_PREVIOUS_KCFED is not set: run the tests through scripts/test, which builds it")
        .into()
}

#[test]
fn a_fleet_made_by_the_previous_release_is_run_again_with_no_change() {
    if skip_without_charts() {
        return;
    }
    let world = World::new(Moto::shared(), REGION, &["prod", "edge@eu-west-1"]);
    let edge = world.cluster("edge").arn.clone();
    let init = ["init", "primary", "--cluster", "prod"];
    let join = ["join", "cluster", "--cluster", edge.as_str()];
    for command in [&init[..], &join[..]] {
        let args = with_real_chart(command, &helm_binary(), CHART_VERSION);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let made = output_within(world.command_of(&previous_kcfed(), &args), RUN_LIMIT);
        assert_exit(&made, 0);
    }
    let writes = |world: &World| -> Vec<usize> {
        world
            .clusters
            .iter()
            .map(|c| c.kube.write_count())
            .collect()
    };
    let before = writes(&world);

    // Run again as its users would, without --chart-version: each release keeps its version,
    // and the fleet, which ran kcfed's default of the time, records none.
    let again = |command: &[&str]| {
        let mut args = with_real_chart(command, &helm_binary(), CHART_VERSION);
        let at = args.iter().position(|a| a == "--chart-version").unwrap();
        args.drain(at..at + 2);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command_as_typed(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let reinit = again(&init);
    assert_eq!(reinit["changed"], false, "{reinit:#}");
    assert_eq!(ids_of(&reinit), ["prod"]);
    let rejoin = again(&join);
    assert_eq!(rejoin["changed"], false, "{rejoin:#}");
    assert_eq!(ids_of(&rejoin), ["edge"]);
    assert_eq!(
        writes(&world),
        before,
        "nothing was written to the clusters"
    );
    assert_eq!(
        running_cluster_id(world.cluster("edge")),
        Some("edge".to_owned())
    );
}

/// A fleet with `prod` as its primary, installed with the recording helm.
fn fleet_with_prod_and_staging() -> World {
    let world = World::new(
        Moto::shared(),
        REGION,
        &["prod", "staging", "prod@eu-west-1"],
    );
    world.init_workspace_id(&[]);
    world
}

#[test]
fn a_chosen_id_is_kept_and_a_change_of_it_is_a_conflict_with_the_way_out() {
    let world = fleet_with_prod_and_staging();
    let staging = world.cluster("staging").arn.clone();
    let joined = world.join(
        &["staging"],
        &["--cluster-id", "stage-1", "--yes", "--output", "json"],
    );
    assert_exit(&joined, 0);
    assert_eq!(ids_of(&stdout_json(&joined)), ["stage-1"]);
    let values = world.helm.merged_values();
    let last = values.last().expect("an install");
    assert_eq!(
        last["prometheus"]["server"]["global"]["external_labels"]["cluster_id"],
        "stage-1"
    );
    assert_eq!(last["kubecostProductConfigs"]["clusterName"], "stage-1");

    // Without the flag the recorded id stays.
    let again = world.join(&["staging"], &["--dry-run", "--output", "json"]);
    assert_exit(&again, 0);
    let report = stdout_json(&again);
    assert_eq!(report["changed"], false, "{report:#}");
    assert_eq!(ids_of(&report), ["stage-1"]);

    // Another id for a running cluster: a conflict that says what it costs and how to do it.
    let changed = world.join(&["staging"], &["--cluster-id", "stage-2", "--dry-run"]);
    assert_exit(&changed, 1);
    let text = String::from_utf8_lossy(&changed.stdout);
    assert!(text.contains("CONFLICT"), "{text}");
    assert!(text.contains("splits its cost history"), "{text}");
    assert!(
        text.contains(&format!("kcfed cleanup --cluster {staging}")),
        "{text}"
    );

    // A same-named cluster of another region gets a qualified id; asking for one that is taken
    // is bad input naming its holder.
    let taken = world.join(
        &[&world.clusters[2].arn],
        &["--cluster-id", "stage-1", "--yes"],
    );
    assert_exit(&taken, 2);
    assert!(stderr(&taken).contains(&staging), "{}", stderr(&taken));
    let joined = world.join(&[&world.clusters[2].arn], &["--yes", "--output", "json"]);
    assert_exit(&joined, 0);
    assert_eq!(ids_of(&stdout_json(&joined)), ["prod-eu-west-1"]);

    // status and cleanup take the id as well as the name.
    let cleanup = world.cleanup(&[
        "--cluster",
        "prod-eu-west-1",
        "--dry-run",
        "--output",
        "json",
    ]);
    assert_exit(&cleanup, 0);
    let report = stdout_json(&cleanup);
    assert_eq!(report["clusters"][0]["name"], "prod");
    assert_eq!(report["clusters"][0]["cluster_id"], "prod-eu-west-1");
}
