//! `kcfed init primary` end to end: the binary against moto, a fake cluster and a recording helm,
//! with the resulting state read back independently.

mod common;
mod support;

use common::{World, assert_exit, block_on, decode, plan_step, stderr, stdout_json};
use serde_json::{Value, json};
use support::moto::Moto;
use support::proxy::Faults;

const REGION: &str = "us-east-2";

fn role_names(world: &World) -> Vec<String> {
    let config = block_on(world.sdk(REGION));
    let iam = aws_sdk_iam::Client::new(&config);
    let roles = block_on(iam.list_roles().path_prefix("/kcfed/").send()).unwrap();
    roles
        .roles()
        .iter()
        .map(|r| r.role_name().to_owned())
        .collect()
}

#[test]
fn federated_primary_is_provisioned_and_installed() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert_eq!(report["command"], "init primary");
    assert_eq!(report["changed"], true);
    let workspace_id = report["resources"]["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let account = world.account.account_id.clone();
    let cluster = world.cluster("prod");

    block_on(async {
        let config = world.sdk(REGION).await;
        // The workspace, found by its exact alias, tagged for join and cleanup.
        let amp = aws_sdk_amp::Client::new(&config);
        let listed = amp
            .list_workspaces()
            .alias("kubecost-amp")
            .send()
            .await
            .unwrap();
        assert_eq!(listed.workspaces().len(), 1);
        let ws = amp
            .describe_workspace()
            .workspace_id(&workspace_id)
            .send()
            .await
            .unwrap();
        let tags = ws.workspace().unwrap().tags().unwrap();
        let bucket = format!("kcfed-{account}-{REGION}-kubecost-etl");
        assert_eq!(tags["kcfed:managed-by"], "kcfed");
        assert_eq!(tags["kcfed:bucket"], bucket);
        assert_eq!(tags["kcfed:bucket-region"], REGION);
        assert_eq!(tags["kcfed:primary-cluster"], cluster.arn);

        // The bucket: hardened and tagged.
        let s3 = aws_sdk_s3::Client::new(&config);
        let pab = s3
            .get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let pab = pab.public_access_block_configuration().unwrap();
        assert_eq!(pab.block_public_acls(), Some(true));
        assert_eq!(pab.restrict_public_buckets(), Some(true));
        s3.get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
        let policy: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
        assert_eq!(policy["Statement"][0]["Effect"], "Deny");
        assert_eq!(
            policy["Statement"][0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        let location = s3
            .get_bucket_location()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(location.location_constraint().unwrap().as_str(), REGION);

        // The policies: each scoped to the one workspace or bucket.
        let iam = aws_sdk_iam::Client::new(&config);
        let path = format!("/kcfed/{workspace_id}/");
        let policies = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .path_prefix(&path)
            .send()
            .await
            .unwrap();
        let mut names: Vec<_> = policies
            .policies()
            .iter()
            .map(|p| p.policy_name().unwrap().to_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!("kcfed-{workspace_id}-amp-query"),
                format!("kcfed-{workspace_id}-amp-remote-write"),
                format!("kcfed-{workspace_id}-federated-store"),
            ]
        );
        for policy in policies.policies() {
            let version = iam
                .get_policy_version()
                .policy_arn(policy.arn().unwrap())
                .version_id(policy.default_version_id().unwrap())
                .send()
                .await
                .unwrap();
            let document = decode(version.policy_version().unwrap().document().unwrap());
            let text = document.to_string();
            assert!(!text.contains("\"Resource\":\"*\""), "{text}");
            if policy.policy_name().unwrap().ends_with("federated-store") {
                assert!(text.contains(&format!("arn:aws:s3:::{bucket}/*")), "{text}");
            } else {
                assert_eq!(
                    document["Statement"][0]["Resource"][0],
                    format!("arn:aws:aps:{REGION}:{account}:workspace/{workspace_id}")
                );
            }
        }

        // The OIDC provider of the cluster.
        let issuer_host = cluster.issuer.trim_start_matches("https://");
        let provider_arn = format!("arn:aws:iam::{account}:oidc-provider/{issuer_host}");
        let provider = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&provider_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);

        // One role per service account, trusting exactly that service account.
        let roles = iam.list_roles().path_prefix(&path).send().await.unwrap();
        assert_eq!(roles.roles().len(), 2);
        for role in roles.roles() {
            let trust = decode(role.assume_role_policy_document().unwrap());
            let statement = &trust["Statement"][0];
            assert_eq!(statement["Principal"]["Federated"], provider_arn);
            let conditions = &statement["Condition"]["StringEquals"];
            assert_eq!(
                conditions[format!("{issuer_host}:aud")],
                "sts.amazonaws.com"
            );
            let subject = conditions[format!("{issuer_host}:sub")].as_str().unwrap();
            let attached = iam
                .list_attached_role_policies()
                .role_name(role.role_name())
                .send()
                .await
                .unwrap();
            let mut attached: Vec<_> = attached
                .attached_policies()
                .iter()
                .map(|p| {
                    p.policy_name()
                        .unwrap()
                        .trim_start_matches(&format!("kcfed-{workspace_id}-"))
                        .to_owned()
                })
                .collect();
            attached.sort();
            if role.role_name().ends_with("-cost-analyzer") {
                assert_eq!(
                    subject,
                    "system:serviceaccount:kubecost:kubecost-cost-analyzer-amp"
                );
                assert_eq!(attached, ["amp-query", "federated-store"]);
            } else {
                assert_eq!(
                    subject,
                    "system:serviceaccount:kubecost:kubecost-prometheus-server-amp"
                );
                assert_eq!(attached, ["amp-remote-write"]);
            }
        }
    });

    // Kubernetes: namespace, annotated service accounts, the object-store secret.
    let kube = &cluster.kube;
    let namespace = kube.get("namespaces", None, "kubecost").expect("namespace");
    assert_eq!(
        namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "kcfed"
    );
    for (service_account, suffix) in [
        ("kubecost-cost-analyzer-amp", "cost-analyzer"),
        ("kubecost-prometheus-server-amp", "prometheus"),
    ] {
        let sa = kube
            .get("serviceaccounts", Some("kubecost"), service_account)
            .expect("service account");
        let role_arn = sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap();
        assert!(
            role_arn.starts_with(&format!(
                "arn:aws:iam::{account}:role/kcfed/{workspace_id}/kcfed-prod-"
            )),
            "{role_arn}"
        );
        assert!(role_arn.ends_with(suffix));
    }
    let secret = kube
        .get("secrets", Some("kubecost"), "kubecost-object-store")
        .expect("secret");
    let encoded = secret["data"]["federated-store.yaml"].as_str().unwrap();
    use base64::Engine;
    let store = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap(),
    )
    .unwrap();
    assert!(
        store.contains(&format!("kcfed-{account}-{REGION}-kubecost-etl")),
        "{store}"
    );
    assert!(
        store.contains(&format!("s3.{REGION}.amazonaws.com")),
        "{store}"
    );

    // Helm: one upgrade on the cluster's context, with the merged values the chart will see.
    let upgrades: Vec<_> = world
        .helm
        .calls()
        .into_iter()
        .filter(|c| c[0] == "upgrade")
        .collect();
    assert_eq!(upgrades.len(), 1);
    let call = &upgrades[0];
    assert!(
        call.windows(2)
            .any(|w| w == ["--kube-context", cluster.arn.as_str()]),
        "{call:?}"
    );
    assert!(
        call.windows(2).any(|w| w == ["--version", "1.103.4"]),
        "{call:?}"
    );
    let values = &world.helm.merged_values()[0];
    assert_eq!(
        values["global"]["amp"]["remoteWriteService"],
        format!(
            "https://aps-workspaces.{REGION}.amazonaws.com/workspaces/{workspace_id}/api/v1/remote_write"
        )
    );
    assert_eq!(values["sigV4Proxy"]["region"], REGION);
    assert_eq!(
        values["prometheus"]["server"]["global"]["external_labels"]["cluster_id"],
        "prod"
    );
    assert_eq!(values["serviceAccount"]["create"], false);
    assert_eq!(
        values["serviceAccount"]["name"],
        "kubecost-cost-analyzer-amp"
    );
    assert_eq!(
        values["prometheus"]["serviceAccounts"]["server"],
        json!({"create": false, "name": "kubecost-prometheus-server-amp"})
    );
    assert_eq!(values["federatedETL"]["primaryCluster"], true);
    assert_eq!(
        values["kubecostModel"]["federatedStorageConfigSecret"],
        "kubecost-object-store"
    );
    assert_eq!(values["kubecostProductConfigs"]["projectID"], account);
}

#[test]
fn second_run_changes_nothing_and_says_so() {
    let moto = Moto::start_recording();
    let world = World::new(&moto, REGION, &["prod"]);
    assert_exit(&world.init_primary(&["--yes"]), 0);

    let calls_before = moto.mutating_calls().len();
    let kube_writes_before = world.cluster("prod").kube.write_count();
    let upgrades_before = world.helm.merged_values().len();
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert_eq!(report["changed"], false, "{report:#}");
    for step in report["plan"]["steps"].as_array().unwrap() {
        assert_eq!(step["action"], "exists", "{step}");
    }
    let new_calls: Vec<_> = moto
        .mutating_calls()
        .into_iter()
        .skip(calls_before)
        .collect();
    assert!(
        new_calls.is_empty(),
        "mutating AWS calls on a re-run: {new_calls:?}"
    );
    assert_eq!(world.cluster("prod").kube.write_count(), kube_writes_before);
    assert_eq!(world.helm.merged_values().len(), upgrades_before);
}

#[test]
fn dry_run_prints_the_plan_and_changes_nothing() {
    let moto = Moto::start_recording();
    let world = World::new(&moto, REGION, &["prod"]);
    let before = moto.mutating_calls().len();
    let output = world.init_primary(&["--dry-run", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert_eq!(report["dry_run"], true);
    let kinds: Vec<_> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["kind"].as_str().unwrap().to_owned(),
                s["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("amp-workspace".into(), "create".into())),
        "{kinds:?}"
    );
    assert!(kinds.contains(&("s3-bucket".into(), "create".into())));
    assert!(kinds.contains(&("helm-release".into(), "create".into())));
    assert_eq!(
        moto.mutating_calls().len(),
        before,
        "{:?}",
        moto.mutating_calls()
    );
    assert_eq!(world.cluster("prod").kube.write_count(), 0);
    assert!(world.helm.merged_values().is_empty());

    // The text plan says the same.
    let text = world.init_primary(&["--dry-run"]);
    assert_exit(&text, 0);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("create   AMP workspace      kubecost-amp"),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing was changed."), "{text}");
}

#[test]
fn quick_start_has_no_bucket_and_no_secret() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world.init_primary(&["--quick-start", "--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert!(report["resources"].get("bucket").is_none());
    let buckets = block_on(async {
        let config = world.sdk(REGION).await;
        aws_sdk_s3::Client::new(&config)
            .list_buckets()
            .send()
            .await
            .unwrap()
    });
    assert!(buckets.buckets().is_empty());
    let kube = &world.cluster("prod").kube;
    assert!(
        kube.get("secrets", Some("kubecost"), "kubecost-object-store")
            .is_none()
    );
    let values = &world.helm.merged_values()[0];
    assert!(values.get("federatedETL").is_none(), "{values:#}");
    assert_eq!(values["global"]["amp"]["enabled"], true);
}

#[test]
fn without_yes_and_without_a_terminal_nothing_changes() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world.init_primary(&[]);
    assert_exit(&output, 4);
    assert!(stderr(&output).contains("--yes"), "{}", stderr(&output));
    assert!(role_names(&world).is_empty());
    assert_eq!(world.cluster("prod").kube.write_count(), 0);
}

#[test]
fn a_role_with_a_stale_trust_is_updated() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    assert_exit(&world.init_primary(&["--yes"]), 0);
    let roles = role_names(&world);
    let stale = roles
        .iter()
        .find(|r| r.ends_with("-prometheus"))
        .unwrap()
        .clone();
    block_on(async {
        let config = world.sdk(REGION).await;
        let iam = aws_sdk_iam::Client::new(&config);
        let old_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/old"},
            "Action": "sts:AssumeRoleWithWebIdentity"}]});
        iam.update_assume_role_policy()
            .role_name(&stale)
            .policy_document(old_trust.to_string())
            .send()
            .await
            .unwrap();
    });
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    let step = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == stale.as_str())
        .unwrap()
        .clone();
    assert_eq!(step["action"], "update", "{step}");
    let trust = block_on(async {
        let config = world.sdk(REGION).await;
        let role = aws_sdk_iam::Client::new(&config)
            .get_role()
            .role_name(&stale)
            .send()
            .await
            .unwrap();
        decode(role.role().unwrap().assume_role_policy_document().unwrap())
    });
    assert!(
        trust
            .to_string()
            .contains(world.cluster("prod").issuer.trim_start_matches("https://"))
    );
}

#[test]
fn bad_input_is_refused_before_any_call() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let helm = world.helm_path();
    let cases: &[(&[&str], &str)] = &[
        (&["--cluster=-bad"], "invalid cluster name"),
        (&["--namespace", "Kubecost"], "invalid namespace"),
        (&["--release", "Bad_Release"], "invalid release name"),
        (&["--bucket", "Not_A_Bucket"], "invalid bucket name"),
        (&["--region", "us-east-9"], "invalid region"),
        (&["--workspace-id", "kubecost-amp"], "invalid workspace id"),
        (&["--chart-version", "2.10.0"], "invalid chart version"),
        (&["--helm", "/nonexistent/helm"], "helm was not found"),
        (
            &["--cluster", "missing"],
            "EKS cluster \"missing\" was not found in region us-east-2",
        ),
        (&["--kube-context", "nope"], "nope"),
    ];
    for (extra, message) in cases {
        let mut args = vec!["init", "primary", "--yes"];
        if !extra.iter().any(|a| a.starts_with("--cluster")) {
            args.extend(["--cluster", "prod"]);
        }
        if !extra.contains(&"--helm") {
            args.extend(["--helm", &helm]);
        }
        args.extend_from_slice(extra);
        let output = world.kcfed(&args);
        assert_exit(&output, 2);
        assert!(
            stderr(&output).contains(message),
            "{extra:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("fix:"),
            "{extra:?}: {}",
            stderr(&output)
        );
    }
    assert!(role_names(&world).is_empty());
    assert_eq!(world.cluster("prod").kube.write_count(), 0);
}

#[test]
fn two_runs_racing_for_the_same_fleet_end_with_one_workspace() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let helm = world.helm_path();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            world
                .init_primary_command(&helm, &["--yes", "--output", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = racers
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    assert!(
        outputs.iter().any(|o| o.status.success()),
        "{:?}",
        outputs.iter().map(stderr).collect::<Vec<_>>()
    );
    let workspaces = block_on(async {
        let config = world.sdk(REGION).await;
        let amp = aws_sdk_amp::Client::new(&config);
        let listed = amp
            .list_workspaces()
            .alias("kubecost-amp")
            .send()
            .await
            .unwrap();
        listed
            .workspaces()
            .iter()
            .filter(|w| w.status().unwrap().status_code().as_str() != "DELETING")
            .count()
    });
    assert_eq!(workspaces, 1);
    // Whatever the race left half-done, one more run finishes it and the next finds nothing to do.
    assert_exit(&world.init_primary(&["--yes"]), 0);
    let settled = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&settled, 0);
    assert_eq!(stdout_json(&settled)["changed"], false);
}

#[test]
fn a_workspace_in_another_region_is_used_from_there() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world.init_primary(&[
        "--workspace-region",
        "eu-west-1",
        "--yes",
        "--output",
        "json",
    ]);
    assert_exit(&output, 0);
    let workspace_id = stdout_json(&output)["resources"]["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let found = block_on(async {
        let config = world.sdk("eu-west-1").await;
        let amp = aws_sdk_amp::Client::new(&config);
        amp.describe_workspace()
            .workspace_id(&workspace_id)
            .send()
            .await
            .is_ok()
    });
    assert!(found, "the workspace is in eu-west-1");
    let values = &world.helm.merged_values()[0];
    assert_eq!(
        values["global"]["amp"]["remoteWriteService"],
        format!(
            "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/{workspace_id}/api/v1/remote_write"
        )
    );
    assert_eq!(values["sigV4Proxy"]["region"], "eu-west-1");
    // The bucket stays with the cluster.
    let location = block_on(async {
        let config = world.sdk(REGION).await;
        let bucket = format!("kcfed-{}-{REGION}-kubecost-etl", world.account.account_id);
        let s3 = aws_sdk_s3::Client::new(&config);
        s3.get_bucket_location()
            .bucket(bucket)
            .send()
            .await
            .unwrap()
    });
    assert_eq!(location.location_constraint().unwrap().as_str(), REGION);
}

/// The whole read path against an API server that is not there: the kubeconfig is loaded, the
/// context picked, the API asked (and retried), and the failure reported once, naming the cluster
/// and how it was reached, before any change. The libraries' own logs appear only with -v.
#[test]
fn an_unreachable_cluster_is_one_message_naming_it() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let arn = world.cluster("prod").arn.clone();
    let gone = support::fake_kube::FakeKube::start();
    let server = gone.url();
    support::fake_kube::Kubeconfig::new()
        .context(&arn, &arn, &gone)
        .current(&arn)
        .write(&world.kubeconfig);
    drop(gone);
    let output = world.init_primary(&["--yes"]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "one error and its fix: {message}");
    assert!(
        lines[0].starts_with(&format!(
            "error: cannot reach the Kubernetes API of cluster {arn} through context {arn} at {server}: "
        )),
        "{message}"
    );
    assert!(
        lines[1].contains(&format!("kubectl --context {arn} get namespaces")),
        "{message}"
    );
    assert!(role_names(&world).is_empty());

    // A dry run still shows what it could read: the fleet's AWS side, the cluster failed.
    let dry_run = world.init_primary(&["--dry-run", "--output", "json"]);
    assert_exit(&dry_run, 1);
    let report = stdout_json(&dry_run);
    let kinds: Vec<&str> = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"amp-workspace") && kinds.contains(&"iam-policy"),
        "{report:#}"
    );
    assert_eq!(report["clusters"][0]["status"], "failed");
    assert!(
        report["clusters"][0]["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the Kubernetes API of cluster"),
        "{report:#}"
    );

    let verbose = world.init_primary(&["--yes", "-v"]);
    assert_exit(&verbose, 1);
    assert!(
        stderr(&verbose).lines().count() > 2,
        "-v adds the libraries' logs: {}",
        stderr(&verbose)
    );
}

/// The plan's storage prerequisite steps, as `(kind, action, details)`.
fn storage_steps(report: &Value) -> Vec<(String, String, String)> {
    report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "storage-driver" || s["kind"] == "storage-class")
        .map(|s| {
            let field = |name: &str| s[name].as_str().unwrap_or_default().to_owned();
            (field("kind"), field("action"), s["details"].to_string())
        })
        .collect()
}

#[test]
fn a_cluster_without_ebs_storage_stops_the_plan_before_any_change() {
    let moto = Moto::start_recording();
    let world = World::new(&moto, REGION, &["prod"]);
    let kube = &world.cluster("prod").kube;

    let ready = world.init_primary(&["--dry-run", "--output", "json"]);
    assert_exit(&ready, 0);
    let steps = storage_steps(&stdout_json(&ready));
    assert_eq!(steps[0].0, "storage-driver");
    assert_eq!(
        (steps[0].1.as_str(), steps[1].1.as_str()),
        ("exists", "exists")
    );

    kube.remove("csidrivers", None, "ebs.csi.aws.com");
    kube.remove("storageclasses", None, "gp3");
    let before = moto.mutating_calls().len();
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&output, 1);
    let report = stdout_json(&output);
    let steps = storage_steps(&report);
    assert_eq!(steps.len(), 2, "{report:#}");
    assert!(
        steps.iter().all(|(_, action, _)| action == "conflict"),
        "{steps:?}"
    );
    assert!(
        steps[0]
            .2
            .contains("aws eks create-addon --cluster-name prod --addon-name aws-ebs-csi-driver")
    );
    assert!(
        steps[1].2.contains("the cluster has no StorageClass"),
        "{steps:?}"
    );
    assert!(
        stderr(&output).contains("CSI driver ebs.csi.aws.com"),
        "{}",
        stderr(&output)
    );
    let changed: Vec<_> = moto.mutating_calls().into_iter().skip(before).collect();
    assert!(
        changed.is_empty(),
        "AWS changed despite the conflict: {changed:?}"
    );
    assert_eq!(kube.write_count(), 0);
    assert!(world.helm.calls().iter().all(|call| call[0] != "upgrade"));

    // A class named with --storage-class must exist; then no default is needed.
    let world = World::new(&moto, REGION, &["prod"]);
    let named = ["--dry-run", "--output", "json", "--storage-class"];
    let missing = world.init_primary(&[&named[..], &["io2"]].concat());
    assert_exit(&missing, 1);
    let steps = storage_steps(&stdout_json(&missing));
    assert_eq!(steps[1].1, "conflict", "{steps:?}");
    assert!(
        steps[1].2.contains("no StorageClass io2 (it has gp3)"),
        "{steps:?}"
    );
    let found = world.init_primary(&[&named[..], &["gp3"]].concat());
    assert_exit(&found, 0);
    assert_eq!(storage_steps(&stdout_json(&found))[1].1, "exists");
}

/// `--values`: the user's settings reach helm after the EKS defaults; a setting the fleet depends
/// on stays kcfed's and the plan names it; re-runs with the same files change nothing, and without
/// them the release is updated back.
#[test]
fn user_values_files_are_applied_but_cannot_change_the_fleet() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let mine = world.dir.path().join("mine.yaml");
    std::fs::write(
        &mine,
        "kubecostFrontend:\n  resources:\n    requests:\n      cpu: 20m\nglobal:\n  amp:\n    remoteWriteService: https://elsewhere.example/write\n",
    )
    .unwrap();
    let mine = mine.display().to_string();
    let with_values = ["--values", mine.as_str(), "--yes", "--output", "json"];
    let output = world.init_primary(&with_values);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    let release = plan_step(&report, "helm-release", None);
    assert!(
        release["details"]
            .to_string()
            .contains("your values set global.amp.remoteWriteService: kcfed keeps its own"),
        "{release:#}"
    );
    let merged = world.helm.merged_values().pop().expect("an upgrade");
    assert_eq!(
        merged["kubecostFrontend"]["resources"]["requests"]["cpu"],
        "20m"
    );
    let remote_write = merged["global"]["amp"]["remoteWriteService"]
        .as_str()
        .unwrap();
    assert!(
        remote_write.starts_with("https://aps-workspaces."),
        "{remote_write}"
    );

    let again = world.init_primary(&with_values);
    assert_eq!(stdout_json(&again)["changed"], false, "{}", stderr(&again));
    let without = world.init_primary(&["--yes", "--output", "json"]);
    let report = stdout_json(&without);
    assert_eq!(report["changed"], true);
    let merged = world.helm.merged_values().pop().unwrap();
    assert!(merged["kubecostFrontend"]["resources"]["requests"]["cpu"] != "20m");
}

/// `--cloud-integration-secret`: a secret that is not there stops the plan before any change;
/// once it exists, the primary's values turn on Cloud Costs with it.
#[test]
fn cloud_costs_need_the_users_secret_first() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let flags = [
        "--cloud-integration-secret",
        "cloud-integration",
        "--yes",
        "--output",
        "json",
    ];
    let output = world.init_primary(&flags);
    assert_exit(&output, 1);
    let report = stdout_json(&output);
    let secret = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "kubecost/cloud-integration")
        .expect("a step for the user's secret");
    assert_eq!(secret["action"], "conflict", "{secret:#}");
    assert!(role_names(&world).is_empty(), "nothing was made");
    assert_eq!(world.cluster("prod").kube.write_count(), 0);

    world.cluster("prod").kube.insert(
        "namespaces",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubecost"}}),
    );
    world.cluster("prod").kube.insert(
        "secrets",
        json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cloud-integration", "namespace": "kubecost"},
            "data": {"cloud-integration.json": "e30="},
        }),
    );
    let output = world.init_primary(&flags);
    assert_exit(&output, 0);
    let merged = world.helm.merged_values().pop().expect("an upgrade");
    assert_eq!(
        merged["kubecostProductConfigs"]["cloudIntegrationSecret"],
        "cloud-integration"
    );
    assert_eq!(merged["kubecostModel"]["cloudCost"]["enabled"], true);
}

/// The 2.x chart refuses to install while a 1.x aggregator StatefulSet is in the namespace; kcfed
/// reads that ahead and stops the plan with the command that clears it.
#[test]
fn a_1x_aggregator_blocks_the_move_to_2x_in_the_plan() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    assert_exit(&world.init_primary(&["--yes"]), 0);
    world.cluster("prod").kube.insert(
        "statefulsets",
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {
                "name": "kubecost-aggregator", "namespace": "kubecost",
                "labels": {"helm.sh/chart": "cost-analyzer-1.107.1"},
            },
            "spec": {
                "selector": {"matchLabels": {"app": "aggregator"}},
                "serviceName": "kubecost-aggregator",
                "template": {
                    "metadata": {"labels": {"app": "aggregator"}},
                    "spec": {"containers": [{"name": "aggregator", "image": "aggregator"}]},
                },
            },
        }),
    );
    let upgrades = |world: &World| {
        world
            .helm
            .calls()
            .iter()
            .filter(|call| call[0] == "upgrade")
            .count()
    };
    let before = upgrades(&world);
    let output = world.init_primary(&["--chart-version", "2.8.7", "--yes", "--output", "json"]);
    assert_exit(&output, 1);
    let report = stdout_json(&output);
    let release = plan_step(&report, "helm-release", None);
    assert_eq!(release["action"], "conflict", "{release:#}");
    assert!(
        release["details"]
            .to_string()
            .contains("kubectl --namespace kubecost delete statefulset kubecost-aggregator"),
        "{release:#}"
    );
    assert_eq!(upgrades(&world), before, "helm was not run");
}

/// helm is checked where it is needed: a dry run without it still shows the AWS side of the
/// plan, with the cluster failed for that reason; a run stops before any change.
#[test]
fn a_dry_run_without_helm_still_shows_the_aws_side() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world
        .init_primary_command("/nonexistent/helm", &["--dry-run", "--output", "json"])
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let report = stdout_json(&output);
    assert!(
        report["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|step| step["kind"] == "amp-workspace"),
        "{report:#}"
    );
    assert!(
        report["clusters"][0]["error"]
            .as_str()
            .unwrap()
            .contains("helm was not found"),
        "{report:#}"
    );
    let applied = world
        .init_primary_command("/nonexistent/helm", &["--yes", "--output", "json"])
        .output()
        .unwrap();
    assert_exit(&applied, 2);
    assert!(
        applied.stdout.is_empty(),
        "no plan: nothing is read without helm"
    );
    assert!(role_names(&world).is_empty());
}

/// IRSA adds an OIDC provider per cluster to the fleet's account, which IAM limits (100 by
/// default, the figure kcfed goes by where Service Quotas gives none, as moto does): a plan that
/// would pass the quota stops before any change, naming it and the way to raise it.
#[test]
fn a_plan_past_an_iam_quota_stops_before_any_change() {
    let moto = Moto::start_recording();
    let world = World::new(&moto, REGION, &["prod"]);
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&world.sdk(REGION).await);
        for index in 0..100 {
            iam.create_open_id_connect_provider()
                .url(format!(
                    "https://oidc.eks.{REGION}.amazonaws.com/id/OTHER{index:04}"
                ))
                .client_id_list("sts.amazonaws.com")
                .send()
                .await
                .expect("make another cluster's provider");
        }
    });
    let kube = &world.cluster("prod").kube;
    let before = moto.mutating_calls().len();
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert_exit(&output, 1);
    let report = stdout_json(&output);
    let provider = plan_step(&report, "oidc-provider", None);
    assert_eq!(provider["action"], "conflict", "{provider:#}");
    let reason = provider["details"][0].as_str().unwrap();
    assert!(
        reason.contains("may have 100 OIDC providers (AWS's default; Service Quotas gave no value) and has 100; this run would add 1"),
        "{reason}"
    );
    assert!(
        reason.contains("--quota-code L-858F3967 --desired-value 101")
            && reason.contains("kcfed init primary --identity pod-identity"),
        "{reason}"
    );
    let changed: Vec<_> = moto.mutating_calls().into_iter().skip(before).collect();
    assert!(
        changed.is_empty(),
        "AWS changed past the quota: {changed:?}"
    );
    assert_eq!(kube.write_count(), 0);
}

/// A quota met at apply (another tool or run took the last provider meanwhile): the cluster
/// fails with IAM's own words and a fix that is not "run again", and none of it is made: its
/// OIDC provider comes before its other parts.
#[test]
fn a_quota_met_at_apply_fails_the_cluster_with_the_fix_and_makes_none_of_it() {
    let mut world = World::new(Moto::shared(), REGION, &["prod"]);
    world.proxy_all(&Faults::iam_quota_met(
        "CreateOpenIDConnectProvider",
        "Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100",
    ));
    let output = world.init_primary(&["--yes"]);
    assert!(!output.status.success());
    let stderr = stderr(&output);
    assert!(
        stderr.contains("iam:CreateOpenIDConnectProvider")
            && stderr.contains("Cannot exceed quota for OpenIdConnectProvidersPerAccount: 100"),
        "{stderr}"
    );
    assert!(
        stderr.contains("raise it in Service Quotas")
            && stderr.contains("kcfed init primary --identity pod-identity")
            && !stderr.contains("run the command again"),
        "{stderr}"
    );
    let kube = &world.cluster("prod").kube;
    assert_eq!(kube.write_count(), 0, "{stderr}");
    let roles = block_on(async {
        aws_sdk_iam::Client::new(&world.sdk(REGION).await)
            .list_roles()
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap()
    });
    assert!(roles.roles().is_empty(), "{:?}", roles.roles());
}

/// A roles quota met after the cluster's OIDC provider was made (a race with another run, or
/// another tool): the provider and the namespace made beside the roles are taken back; what
/// lives in the namespace was not started.
#[test]
fn a_roles_quota_met_at_apply_takes_back_the_clusters_provider() {
    let mut world = World::new(Moto::shared(), REGION, &["prod"]);
    world.proxy_all(&Faults::iam_quota_met(
        "CreateRole",
        "Cannot exceed quota for RolesPerAccount: 1000",
    ));
    let output = world.init_primary(&["--yes", "--output", "json"]);
    assert!(!output.status.success(), "{}", stderr(&output));
    let report = stdout_json(&output);
    let outcome = |kind: &str| {
        report["applied"]
            .as_array()
            .expect("the applied steps")
            .iter()
            .filter(|step| step["kind"] == kind)
            .map(|step| step["outcome"]["status"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(outcome("oidc-provider"), ["undone"], "{report:#}");
    assert_eq!(outcome("namespace"), ["undone"], "{report:#}");
    assert_eq!(
        outcome("service-account"),
        ["not-run", "not-run"],
        "{report:#}"
    );
    let error = report["clusters"][0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("RolesPerAccount") && error.contains("--identity pod-identity"),
        "{error}"
    );
    let iam = block_on(async { aws_sdk_iam::Client::new(&world.sdk(REGION).await) });
    let (providers, roles) = block_on(async {
        let providers = iam.list_open_id_connect_providers().send().await.unwrap();
        let roles = iam
            .list_roles()
            .path_prefix("/kcfed/")
            .send()
            .await
            .unwrap();
        (providers, roles)
    });
    assert!(
        providers.open_id_connect_provider_list().is_empty(),
        "{:?}",
        providers.open_id_connect_provider_list()
    );
    assert!(roles.roles().is_empty(), "{:?}", roles.roles());
    let kube = &world.cluster("prod").kube;
    assert!(kube.get("namespaces", None, "kubecost").is_none());
    assert!(kube.list("serviceaccounts").is_empty() && kube.list("secrets").is_empty());
}
