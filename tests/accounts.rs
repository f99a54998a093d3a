//! Fleets across AWS accounts, on moto: the fleet's account (the credentials kcfed runs with)
//! holds the workspace, the bucket and every IAM resource; clusters in another account are
//! described with that account's credentials (`--account-role`, `--account-profile`), and their
//! Kubernetes objects point at roles in the fleet's account. Without credentials for an account,
//! or with credentials for the wrong one, nothing changes.

mod common;
mod support;

use serde_json::Value;

use common::{World, assert_exit, block_on, stderr, stdout_json};
use support::moto::{AwsAccount, Moto};

const REGION: &str = "us-west-2";
/// The other account's cluster is in another region too: moto gives every cluster of a region
/// the same OIDC issuer, which would hide whose provider is whose.
const EDGE_REGION: &str = "eu-west-1";
const ROLE: &str = "OrganizationAccountAccessRole";

/// A fleet whose primary `prod` is in the world's account, with `edge` in another account.
fn two_account_world() -> (World, AwsAccount) {
    let moto = Moto::shared();
    let mut world = World::new(moto, REGION, &["prod"]);
    let other = moto.new_account();
    world.add_cluster_in(&other, "edge", EDGE_REGION);
    world.write_kubeconfig();
    (world, other)
}

fn edge_arn(other: &AwsAccount) -> String {
    format!(
        "arn:aws:eks:{EDGE_REGION}:{}:cluster/edge",
        other.account_id
    )
}

fn iam_role_names(account: &AwsAccount) -> Vec<String> {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        let roles = iam.list_roles().send().await.expect("ListRoles");
        roles
            .roles()
            .iter()
            .filter(|role| role.path().starts_with("/kcfed/"))
            .map(|role| role.role_name().to_owned())
            .collect()
    })
}

fn steps_of<'a>(report: &'a Value, scope: &str) -> Vec<&'a Value> {
    report["plan"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|step| step["scope"] == scope)
        .collect()
}

#[test]
fn an_agent_in_another_account_joins_with_an_assumed_role() {
    let (world, other) = two_account_world();
    world.init_workspace_id(&[]);
    let fleet_roles = iam_role_names(&world.account);
    let edge = edge_arn(&other);

    let output = world.join(
        &[&edge],
        &["--account-role", ROLE, "--yes", "--output", "json"],
    );
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    // The plan names who kcfed acts as in each account: the role it assumed in the other.
    let identities: Vec<(&str, &str)> = report["plan"]["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .map(|id| {
            (
                id["account"].as_str().unwrap(),
                id["principal"].as_str().unwrap(),
            )
        })
        .collect();
    let assumed = format!("arn:aws:iam::{}:role/{ROLE}", other.account_id);
    assert_eq!(identities.len(), 2, "{identities:?}");
    assert_eq!(identities[0].0, world.account.account_id);
    assert!(
        identities[0]
            .1
            .starts_with(&format!("arn:aws:iam::{}:", world.account.account_id))
    );
    assert_eq!(identities[1], (other.account_id.as_str(), assumed.as_str()));
    let text = world.join(&[&edge], &["--account-role", ROLE, "--dry-run"]);
    assert!(
        String::from_utf8_lossy(&text.stdout).contains(&format!(
            "Acting as {assumed} in account {}",
            other.account_id
        )),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
    // Every step names its account: the cluster's own for what is in the cluster, the fleet's
    // for the IAM side kcfed makes for it.
    let steps = steps_of(&report, "edge");
    assert!(!steps.is_empty(), "{report:#}");
    for step in &steps {
        let in_cluster = matches!(
            step["kind"].as_str().unwrap(),
            "namespace"
                | "service-account"
                | "secret"
                | "helm-release"
                | "storage-driver"
                | "storage-class"
        );
        let expected = if in_cluster {
            &other.account_id
        } else {
            &world.account.account_id
        };
        assert_eq!(step["account"], expected.as_str(), "{step:#}");
    }
    for step in steps_of(&report, "fleet") {
        assert_eq!(
            step["account"],
            world.account.account_id.as_str(),
            "{step:#}"
        );
    }

    // The roles are in the fleet's account, beside prod's, and nothing IAM is in the other.
    let roles_now = iam_role_names(&world.account);
    assert_eq!(roles_now.len(), fleet_roles.len() + 2, "{roles_now:?}");
    assert!(iam_role_names(&other).is_empty());
    let cluster = world.cluster("edge");
    let account = cluster
        .kube
        .get(
            "serviceaccounts",
            Some("kubecost"),
            "kubecost-cost-analyzer-amp",
        )
        .expect("the service account");
    let role_arn = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .expect("annotated");
    assert!(
        role_arn.starts_with(&format!(
            "arn:aws:iam::{}:role/kcfed/",
            world.account.account_id
        )),
        "{role_arn}"
    );
    // The OIDC provider that lets edge's pods into those roles is the fleet account's.
    let providers = block_on(async {
        let iam = aws_sdk_iam::Client::new(&world.account.sdk_config(REGION).await);
        iam.list_open_id_connect_providers().send().await.unwrap()
    });
    let host = cluster.issuer.trim_start_matches("https://");
    assert!(
        providers
            .open_id_connect_provider_list()
            .iter()
            .any(|p| p.arn().unwrap_or_default().ends_with(host)),
        "{providers:?}"
    );
    // Kubecost names the cluster's own account as its project.
    let releases = world.helm.releases();
    let release = &releases[&format!("{edge}/kubecost")];
    assert_eq!(
        release["values"]["kubecostProductConfigs"]["projectID"],
        other.account_id.as_str(),
        "{release:#}"
    );

    // A re-run changes nothing; cleanup of the cluster needs the same access and removes it all.
    let again = world.join(
        &[&edge],
        &["--account-role", ROLE, "--yes", "--output", "json"],
    );
    assert_exit(&again, 0);
    assert_eq!(stdout_json(&again)["changed"], false);
    let cleanup = world.cleanup(&["--cluster", &edge, "--account-role", ROLE, "--yes"]);
    assert_exit(&cleanup, 0);
    assert_eq!(iam_role_names(&world.account), fleet_roles);
}

#[test]
fn an_account_without_credentials_stops_everything_before_a_change() {
    let (world, other) = two_account_world();
    world.init_workspace_id(&[]);
    let roles = iam_role_names(&world.account);
    let edge = edge_arn(&other);
    let writes = world.cluster("edge").kube.write_count();

    let output = world.join(&[&edge], &["--yes"]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(message.contains(&other.account_id), "{message}");
    assert!(message.contains("--account-profile"), "{message}");
    assert!(message.contains("--account-role"), "{message}");
    assert_eq!(iam_role_names(&world.account), roles);
    assert_eq!(world.cluster("edge").kube.write_count(), writes);

    // Once edge is in the fleet, cleanup --all refuses without its account's credentials (it
    // would orphan edge's share), naming the account, and removes nothing; with them, all goes.
    let joined = world.join(&[&edge], &["--account-role", ROLE, "--yes"]);
    assert_exit(&joined, 0);
    let roles = iam_role_names(&world.account);
    let output = world.cleanup(&["--all", "--yes"]);
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains(&format!("account {} (cluster edge)", other.account_id)),
        "{message}"
    );
    assert_eq!(iam_role_names(&world.account), roles);
    let output = world.cleanup(&["--all", "--account-role", ROLE, "--yes"]);
    assert_exit(&output, 0);
    assert!(iam_role_names(&world.account).is_empty());
    assert!(
        world
            .cluster("edge")
            .kube
            .get("namespaces", None, "kubecost")
            .is_none()
    );
}

#[test]
fn a_profile_for_the_wrong_account_is_refused() {
    let (world, other) = two_account_world();
    world.init_workspace_id(&[]);
    let third = Moto::shared().new_account();
    let config = world.dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile edge]\nrole_arn = arn:aws:iam::{}:role/admin\ncredential_source = Environment\n\
             [profile wrong]\nrole_arn = arn:aws:iam::{}:role/admin\ncredential_source = Environment\n",
            other.account_id, third.account_id
        ),
    )
    .expect("write the AWS config");
    let edge = edge_arn(&other);
    let join = |profile: &str| {
        let mut command = world.join_command(
            &world.helm_path(),
            &[&edge],
            &[
                "--account-profile",
                &format!("{}={profile}", other.account_id),
                "--yes",
                "--output",
                "json",
            ],
        );
        command.env("AWS_CONFIG_FILE", &config);
        command.output().expect("run kcfed")
    };

    let output = join("wrong");
    assert_exit(&output, 2);
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "profile wrong acts in account {}, not in account {}",
            third.account_id, other.account_id
        )),
        "{message}"
    );

    // The right profile (role_arn with credential_source, through the SDK's own chain) works.
    let output = join("edge");
    assert_exit(&output, 0);
}

/// As in the aws CLI, `--profile` is the profile's identity even where the environment holds
/// other keys (as CI shells do); the SDK's default chain alone would sign with the environment's.
#[test]
fn an_explicit_profile_wins_over_the_environments_keys() {
    let moto = Moto::start_recording();
    let world = World::new(&moto, REGION, &["prod"]);
    let config = world.dir.path().join("aws-config");
    std::fs::write(
        &config,
        "[profile other]\naws_access_key_id = AKIAPROFILEOTHER0001\naws_secret_access_key = other\n",
    )
    .expect("write the AWS config");
    let calls_before = moto.recorded_calls().len();
    let mut command =
        world.command(&["status", "--profile", "other", "--helm", &world.helm_path()]);
    command.env("AWS_CONFIG_FILE", &config);
    let output = command.output().expect("run kcfed");
    let keys: std::collections::BTreeSet<Option<String>> = moto.recorded_calls()[calls_before..]
        .iter()
        .map(|call| call.access_key_id.clone())
        .collect();
    assert_eq!(
        keys,
        [Some("AKIAPROFILEOTHER0001".to_owned())].into(),
        "{}",
        stderr(&output)
    );
    // The environment's keys alone (no --profile): the SDK's usual order.
    let calls_before = moto.recorded_calls().len();
    let mut command = world.command(&["status", "--helm", &world.helm_path()]);
    command
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_PROFILE", "other");
    command.output().expect("run kcfed");
    let keys: std::collections::BTreeSet<Option<String>> = moto.recorded_calls()[calls_before..]
        .iter()
        .map(|call| call.access_key_id.clone())
        .collect();
    assert_eq!(keys, [Some(world.account.access_key_id.clone())].into());
}

#[test]
fn the_primary_may_be_in_another_account_too() {
    let moto = Moto::shared();
    let mut world = World::new(moto, REGION, &[]);
    let other = moto.new_account();
    world.add_cluster_in(&other, "prod", EDGE_REGION);
    world.write_kubeconfig();
    let prod = format!(
        "arn:aws:eks:{EDGE_REGION}:{}:cluster/prod",
        other.account_id
    );
    let output = world
        .command(&[
            "init",
            "primary",
            "--cluster",
            &prod,
            "--helm",
            &world.helm_path(),
            "--account-role",
            ROLE,
            "--yes",
            "--output",
            "json",
        ])
        .output()
        .expect("run kcfed");
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert_eq!(
        report["resources"]["account_id"],
        world.account.account_id.as_str()
    );
    assert_eq!(report["resources"]["clusters"][0]["arn"], prod.as_str());
    assert_eq!(
        report["resources"]["clusters"][0]["account"],
        other.account_id.as_str()
    );
    assert_eq!(iam_role_names(&world.account).len(), 2);

    // Render takes the same ARN: the values name the cluster's own account as Kubecost's project.
    let out = world.dir.path().join("rendered");
    let output = world.kcfed(&[
        "render",
        "--role",
        "primary",
        "--cluster",
        &prod,
        "--account-id",
        &world.account.account_id,
        "--workspace-id",
        "ws-12345678-abcd-1234-abcd-123456789012",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_exit(&output, 0);
    let overrides = std::fs::read_to_string(out.join("4-overrides.yaml")).unwrap();
    assert!(
        overrides.contains(&format!("projectID: \"{}\"", other.account_id)),
        "{overrides}"
    );
}
