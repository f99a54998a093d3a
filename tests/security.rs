//! Security properties of what kcfed writes and prints, read back after a federated `init
//! primary` and a `join` of a cluster in another region: least-privilege IAM documents, a hardened
//! bucket, no secret in any output or log, and values files private to the user and removed.

mod common;
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use base64::Engine;
use common::{World, assert_exit, block_on, decode, stdout_json};
use serde_json::{Value, json};
use support::moto::Moto;

const REGION: &str = "us-east-2";
const AGENT_REGION: &str = "eu-west-1";

/// `init primary` on `prod`, then `join cluster` of `edge` (in eu-west-1: its own OIDC issuer),
/// both verbose and in JSON; returns the world and both outputs.
fn fleet() -> (World, String, Vec<Output>) {
    let world = World::new(
        Moto::shared(),
        REGION,
        &["prod", &format!("edge@{AGENT_REGION}")],
    );
    let helm = world.helm_path();
    let common = ["--helm", &helm, "--yes", "--output", "json", "-vv"];
    let mut init = vec!["init", "primary", "--cluster", "prod"];
    init.extend(common);
    let init = world.kcfed(&init);
    assert_exit(&init, 0);
    let workspace_id = stdout_json(&init)["resources"]["workspace"]["id"]
        .as_str()
        .expect("the report names the workspace")
        .to_owned();
    let edge = world.cluster("edge").arn.clone();
    let mut join = vec!["join", "cluster", "--cluster", &edge];
    join.extend(common);
    let join = world.kcfed(&join);
    assert_exit(&join, 0);
    (world, workspace_id, vec![init, join])
}

/// The `Resource` of a statement as a list, whether IAM holds one string or several.
fn resources(statement: &Value) -> Vec<String> {
    match &statement["Resource"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .map(|r| r.as_str().expect("a resource is a string").to_owned())
            .collect(),
        other => panic!("a statement without resources: {other}"),
    }
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .map(|a| a.as_str().expect("an action is a string").to_owned())
            .collect(),
        other => panic!("a statement without actions: {other}"),
    }
}

#[test]
fn documents_are_least_privilege_outputs_hold_no_secret_and_values_files_stay_private() {
    let (world, workspace_id, mut outputs) = fleet();
    let account = &world.account.account_id;
    let workspace_arn = format!("arn:aws:aps:{REGION}:{account}:workspace/{workspace_id}");
    let bucket = format!("kcfed-{account}-{REGION}-kubecost-etl");
    let bucket_arn = format!("arn:aws:s3:::{bucket}");

    block_on(async {
        let config = world.sdk(REGION).await;
        let iam = aws_sdk_iam::Client::new(&config);

        // Every policy kcfed made: each statement names this fleet's workspace or bucket, never
        // every resource or every action of a service.
        let listed = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap();
        let mut documents = BTreeMap::new();
        for policy in listed.policies() {
            let version = iam
                .get_policy_version()
                .policy_arn(policy.arn().unwrap())
                .version_id(policy.default_version_id().unwrap())
                .send()
                .await
                .unwrap();
            let document = decode(version.policy_version().unwrap().document().unwrap());
            let suffix = policy
                .policy_name()
                .unwrap()
                .trim_start_matches(&format!("kcfed-{workspace_id}-"))
                .to_owned();
            documents.insert(suffix, document);
        }
        assert_eq!(
            documents.keys().collect::<Vec<_>>(),
            ["amp-query", "amp-remote-write", "federated-store"]
        );
        for (name, document) in &documents {
            for statement in document["Statement"].as_array().unwrap() {
                assert_eq!(statement["Effect"], "Allow", "{name}: {statement}");
                let allowed: Vec<String> = if name == "federated-store" {
                    vec![bucket_arn.clone(), format!("{bucket_arn}/*")]
                } else {
                    vec![workspace_arn.clone()]
                };
                for resource in resources(statement) {
                    assert!(allowed.contains(&resource), "{name}: {resource}");
                }
                for action in actions(statement) {
                    assert!(!action.contains('*'), "{name}: {action}");
                }
            }
        }
        assert_eq!(
            actions(&documents["amp-remote-write"]["Statement"][0]),
            ["aps:RemoteWrite"]
        );

        // Each role trusts one service account of one cluster's issuer, for STS only, and holds
        // only the policies its pod uses.
        let roles = iam
            .list_roles()
            .path_prefix(format!("/kcfed/{workspace_id}/"))
            .send()
            .await
            .unwrap();
        assert_eq!(roles.roles().len(), 4, "two roles for each of two clusters");
        for role in roles.roles() {
            let name = role.role_name();
            let cluster = if name.starts_with("kcfed-prod-") {
                world.cluster("prod")
            } else {
                world.cluster("edge")
            };
            let host = cluster.issuer.trim_start_matches("https://");
            let trust = decode(role.assume_role_policy_document().unwrap());
            let statements = trust["Statement"].as_array().unwrap();
            assert_eq!(statements.len(), 1, "{name}: {trust}");
            let statement = &statements[0];
            let (service_account, policies) = if name.ends_with("-cost-analyzer") {
                (
                    "kubecost-cost-analyzer-amp",
                    vec!["amp-query", "federated-store"],
                )
            } else {
                ("kubecost-prometheus-server-amp", vec!["amp-remote-write"])
            };
            assert_eq!(
                statement,
                &json!({
                    "Sid": "OneServiceAccountOfOneCluster",
                    "Effect": "Allow",
                    "Principal": {
                        "Federated": format!("arn:aws:iam::{account}:oidc-provider/{host}"),
                    },
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{host}:sub"): format!("system:serviceaccount:kubecost:{service_account}"),
                        format!("{host}:aud"): "sts.amazonaws.com",
                    }},
                }),
                "{name}"
            );
            let attached = iam
                .list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .unwrap();
            let mut attached: Vec<&str> = attached
                .attached_policies()
                .iter()
                .map(|p| {
                    p.policy_name()
                        .unwrap()
                        .trim_start_matches(&format!("kcfed-{workspace_id}-"))
                })
                .collect();
            attached.sort_unstable();
            assert_eq!(attached, policies, "{name}");
            let inline = iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
                .unwrap();
            assert!(inline.policy_names().is_empty(), "{name}: inline policies");
        }
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        assert_eq!(providers.open_id_connect_provider_list().len(), 2);

        // The bucket: no public access, encrypted at rest, TLS only, ACLs off.
        let s3 = aws_sdk_s3::Client::new(&config);
        let blocked = s3
            .get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let blocked = blocked.public_access_block_configuration().unwrap();
        assert_eq!(
            [
                blocked.block_public_acls(),
                blocked.ignore_public_acls(),
                blocked.block_public_policy(),
                blocked.restrict_public_buckets()
            ],
            [Some(true); 4]
        );
        let encryption = s3
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let rules = encryption
            .server_side_encryption_configuration()
            .unwrap()
            .rules();
        assert!(
            rules.iter().any(|rule| rule
                .apply_server_side_encryption_by_default()
                .is_some_and(|d| d.sse_algorithm().as_str() == "AES256")),
            "{rules:?}"
        );
        let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        assert_eq!(
            policy["Statement"],
            json!([{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, format!("{bucket_arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }])
        );
        let ownership = s3
            .get_bucket_ownership_controls()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let rules = ownership.ownership_controls().unwrap().rules();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].object_ownership().as_str(), "BucketOwnerEnforced");
    });

    // The object-store config holds where the bucket is, and no keys: the role gives access.
    for cluster in ["prod", "edge"] {
        let secret = world
            .cluster(cluster)
            .kube
            .get("secrets", Some("kubecost"), "kubecost-object-store")
            .expect("the object-store secret");
        let encoded = secret["data"]["federated-store.yaml"].as_str().unwrap();
        let config = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .unwrap(),
        )
        .unwrap();
        assert!(config.contains(&bucket), "{config}");
        for key in ["access_key", "secret_key", "session_token"] {
            assert!(!config.contains(key), "{cluster}: {key} in\n{config}");
        }
    }

    // Values files: private to the user (0600) in a private folder (0700) while helm reads
    // them, and gone once kcfed exits.
    let seen = world.helm.values_files_seen();
    let upgrades: std::collections::BTreeSet<u64> =
        seen.iter().filter_map(|s| s["upgrade"].as_u64()).collect();
    assert_eq!(upgrades.len(), 2, "one upgrade per cluster: {seen:#?}");
    for file in &seen {
        assert_eq!(file["mode"], 0o600, "{file}");
        assert_eq!(file["dir_mode"], 0o700, "{file}");
        for path in [&file["path"], &file["dir"]] {
            let path = Path::new(path.as_str().unwrap());
            assert!(!path.exists(), "{} is still there", path.display());
        }
    }
    // So are the kubeconfigs kcfed handed helm: one context of the user's each, credentials
    // included.
    let handed: Vec<String> = world
        .helm
        .calls()
        .iter()
        .filter_map(|call| {
            call.windows(2)
                .find(|pair| pair[0] == "--kubeconfig")
                .map(|pair| pair[1].clone())
        })
        .collect();
    assert!(!handed.is_empty(), "{:?}", world.helm.calls());
    for path in &handed {
        assert!(!Path::new(path).exists(), "{path} is still there");
    }

    // Nothing secret in any output: not the AWS secret key or session token, not the bearer
    // token of the kubeconfig, through init, join and a whole cleanup, at -vv.
    let cleanup = world.cleanup(&["--all", "--yes", "--output", "json", "-vv"]);
    assert_exit(&cleanup, 0);
    outputs.push(cleanup);
    let secrets = [
        world.account.secret_access_key.as_str(),
        world.account.session_token.as_str(),
        "fake-kube-token",
    ];
    let mut logged = 0;
    for output in &outputs {
        for stream in [&output.stdout, &output.stderr] {
            let text = String::from_utf8_lossy(stream);
            logged += text.lines().count();
            for secret in secrets {
                assert!(!text.contains(secret), "a secret is printed:\n{text}");
            }
        }
    }
    assert!(logged > 100, "-vv logs: {logged} lines");
}
