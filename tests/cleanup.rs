//! `kcfed cleanup` end to end: everything kcfed made goes, everything else stays.

mod common;
mod support;

use common::{World, assert_exit, block_on, inventory, plan_step, stderr, stdout_json};
use serde_json::json;
use support::moto::Moto;

const REGION: &str = "us-east-2";

fn init(world: &World, extra: &[&str]) -> String {
    world.init_workspace_id(extra)
}

fn join(world: &World, clusters: &[&str]) {
    assert_exit(&world.join(clusters, &["--yes"]), 0);
}

fn cleanup(world: &World, extra: &[&str]) -> std::process::Output {
    world.cleanup(extra)
}

/// Resources that exist before kcfed and are none of its business.
fn unrelated_resources(world: &World) {
    let account = world.account.account_id.clone();
    block_on(async {
        let config = world.sdk(REGION).await;
        let iam = aws_sdk_iam::Client::new(&config);
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        iam.create_role()
            .role_name("app-role")
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        let s3 = aws_sdk_s3::Client::new(&config);
        s3.create_bucket()
            .bucket(format!("unrelated-{account}"))
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .unwrap();
        aws_sdk_amp::Client::new(&config)
            .create_workspace()
            .alias("team-metrics")
            .send()
            .await
            .unwrap();
    });
}

/// Writes objects with several versions and a delete marker, as Kubecost's ETL does over time.
fn fill_bucket(world: &World, bucket: &str) {
    world.with_tls_policy_lifted(bucket, async |s3| {
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for (key, body) in [
            ("federated/prod/etl.json", "v1"),
            ("federated/prod/etl.json", "v2"),
            ("federated/eu/etl.json", "v1"),
        ] {
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
        s3.delete_object()
            .bucket(bucket)
            .key("federated/eu/etl.json")
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn cleanup_all_removes_exactly_what_kcfed_made() {
    let world = World::new(
        Moto::shared(),
        REGION,
        &["prod", "eu@eu-west-1", "apac@ap-southeast-2"],
    );
    unrelated_resources(&world);
    let before = inventory(&world);

    let workspace_id = init(&world, &[]);
    join(
        &world,
        &[&world.cluster("eu").arn, &world.cluster("apac").arn],
    );
    let bucket = format!("kcfed-{}-{REGION}-kubecost-etl", world.account.account_id);
    fill_bucket(&world, &bucket);
    let during = inventory(&world);
    assert_eq!(
        during
            .roles
            .iter()
            .filter(|r| r.starts_with("/kcfed/"))
            .count(),
        6,
        "{during:?}"
    );

    // A dry run deletes nothing.
    let dry = cleanup(&world, &["--all", "--dry-run", "--output", "json"]);
    assert_exit(&dry, 0);
    let plan = stdout_json(&dry);
    let deletes = plan["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "delete")
        .count();
    assert!(deletes >= 6 + 3 + 2, "{plan:#}");
    assert_eq!(inventory(&world), during);

    let output = cleanup(&world, &["--all", "--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert_eq!(report["changed"], true);
    assert_eq!(inventory(&world), before, "{report:#}");
    for name in ["prod", "eu", "apac"] {
        let kube = &world.cluster(name).kube;
        assert!(kube.get("namespaces", None, "kubecost").is_none(), "{name}");
        let uninstalled = world.helm.calls().iter().any(|call| {
            call[0] == "uninstall"
                && call
                    .windows(2)
                    .any(|w| w[0] == "--kube-context" && w[1] == world.cluster(name).arn)
        });
        assert!(uninstalled, "{name}: {:?}", world.helm.calls());
    }
    let _ = workspace_id;

    // Nothing is left to do on a second run.
    let again = cleanup(&world, &["--all", "--yes", "--output", "json"]);
    assert_exit(&again, 0);
    assert_eq!(stdout_json(&again)["changed"], false);
}

#[test]
fn a_same_named_bucket_without_kcfed_tags_is_kept() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let bucket = format!("kcfed-{}-{REGION}-kubecost-etl", world.account.account_id);
    block_on(async {
        let config = world.sdk(REGION).await;
        aws_sdk_s3::Client::new(&config)
            .create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    init(&world, &[]);
    let output = cleanup(&world, &["--all", "--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    // Kept, without the fleet tag kcfed put on it.
    let step = plan_step(&report, "s3-bucket", None);
    assert_eq!(step["action"], "update", "{step}");
    let after = inventory(&world);
    assert_eq!(after.buckets, [bucket]);
    assert!(after.workspaces.is_empty());
    assert!(
        !after
            .settings
            .iter()
            .any(|setting| setting.contains("kcfed:")),
        "{:?}",
        after.settings
    );
}

#[test]
fn cleanup_of_one_agent_leaves_the_fleet_working() {
    let world = World::new(Moto::shared(), REGION, &["prod", "agent-a", "agent-b"]);
    init(&world, &["--quick-start"]);
    join(&world, &["agent-a"]);
    let output = cleanup(
        &world,
        &["--cluster", "agent-a", "--yes", "--output", "json"],
    );
    assert_exit(&output, 0);
    let after = inventory(&world);
    assert_eq!(after.workspaces, ["kubecost-amp"]);
    assert!(
        after.roles.iter().all(|r| !r.contains("kcfed-agent-a-")),
        "{after:?}"
    );
    assert_eq!(
        after
            .roles
            .iter()
            .filter(|r| r.contains("kcfed-prod-"))
            .count(),
        2
    );
    // moto gives every cluster of a region the same issuer: the provider stays for the primary.
    assert_eq!(after.providers.len(), 1);
    assert!(
        world
            .cluster("agent-a")
            .kube
            .get("namespaces", None, "kubecost")
            .is_none()
    );
    assert!(
        world
            .cluster("prod")
            .kube
            .get("namespaces", None, "kubecost")
            .is_some()
    );
    // The fleet still takes new agents.
    join(&world, &["agent-b"]);
}

#[test]
fn a_deleted_cluster_still_has_its_aws_side_removed() {
    let world = World::new(Moto::shared(), REGION, &["prod", "gone"]);
    init(&world, &["--quick-start"]);
    join(&world, &["gone"]);
    block_on(async {
        let config = world.sdk(REGION).await;
        aws_sdk_eks::Client::new(&config)
            .delete_cluster()
            .name("gone")
            .send()
            .await
            .unwrap();
    });
    let output = cleanup(&world, &["--cluster", "gone", "--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert!(
        report.to_string().contains("no longer exists"),
        "{report:#}"
    );
    assert!(
        inventory(&world)
            .roles
            .iter()
            .all(|r| !r.contains("kcfed-gone-"))
    );
}

#[test]
fn an_unreachable_cluster_is_skipped_unless_strict_and_a_rerun_converges() {
    let world = World::new(Moto::shared(), REGION, &["prod", "agent-a"]);
    init(&world, &["--quick-start"]);
    join(&world, &["agent-a"]);
    world.cluster("agent-a").kube.set_unavailable(true);

    // Strict: that cluster fails, the other is cleaned, the fleet's shared parts wait.
    let strict = cleanup(&world, &["--all", "--strict", "--yes", "--output", "json"]);
    assert_exit(&strict, 3);
    assert!(
        stderr(&strict).contains("1 of 2 clusters failed"),
        "{}",
        stderr(&strict)
    );
    assert_eq!(inventory(&world).workspaces, ["kubecost-amp"]);
    assert!(
        world
            .cluster("prod")
            .kube
            .get("namespaces", None, "kubecost")
            .is_none()
    );

    // Not strict: the Kubernetes side is skipped with a note, the AWS side goes.
    let lenient = cleanup(&world, &["--all", "--yes", "--output", "json"]);
    assert_exit(&lenient, 0);
    assert!(
        stdout_json(&lenient)
            .to_string()
            .contains("Kubernetes side skipped")
    );
    let after = inventory(&world);
    assert!(after.workspaces.is_empty(), "{after:?}");
    assert!(
        after.roles.iter().all(|r| !r.starts_with("/kcfed/")),
        "{after:?}"
    );
}
