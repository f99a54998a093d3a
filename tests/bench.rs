//! Tests of the test bench itself: moto, the fixture chart and the recording helm.

mod support;

use std::fs;
use std::process::{Command, Output};

use serde_json::json;
use support::helm::{RecordingHelm, recording_helm, template_values, values_echo_chart};
use support::moto::{Moto, RecordedCall};

const REGION: &str = "us-east-1";

#[tokio::test]
async fn accounts_on_the_shared_moto_are_isolated() {
    let moto = Moto::shared();
    let (first, second) = (moto.new_account(), moto.new_account());
    assert_ne!(first.account_id, second.account_id);
    assert_eq!(first.account_id.len(), 12);

    let first_config = first.sdk_config(REGION).await;
    let identity = aws_sdk_sts::Client::new(&first_config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(first.account_id.as_str()));
    let first_s3 = aws_sdk_s3::Client::new(&first_config);
    let bucket = format!("kcfed-bench-{}", first.account_id);
    first_s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let first_iam = aws_sdk_iam::Client::new(&first_config);
    first_iam
        .create_role()
        .role_name("kcfed-bench")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();

    let second_config = second.sdk_config(REGION).await;
    let buckets = aws_sdk_s3::Client::new(&second_config)
        .list_buckets()
        .send()
        .await
        .unwrap();
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
    // A bucket of another account is forbidden, as on AWS, not served.
    let head = aws_sdk_s3::Client::new(&second_config)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(head.raw_response().map(|r| r.status().as_u16()), Some(403));
    let role = aws_sdk_iam::Client::new(&second_config)
        .get_role()
        .role_name("kcfed-bench")
        .send()
        .await;
    assert!(
        role.unwrap_err()
            .into_service_error()
            .is_no_such_entity_exception()
    );
}

#[tokio::test]
async fn a_recording_moto_tells_mutating_calls() {
    let moto = Moto::start_recording();
    let config = moto.new_account().sdk_config(REGION).await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket()
        .bucket("kcfed-bench")
        .send()
        .await
        .unwrap();
    s3.list_buckets().send().await.unwrap();
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_role()
        .role_name("kcfed-bench")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    iam.get_role()
        .role_name("kcfed-bench")
        .send()
        .await
        .unwrap();

    let call = |service: &str, action: Option<&str>, method: &str, path: &str| RecordedCall {
        service: service.into(),
        action: action.map(Into::into),
        method: method.into(),
        path: path.into(),
        access_key_id: None,
    };
    // Which key signed them is another test's concern.
    let unsigned = |calls: Vec<RecordedCall>| -> Vec<RecordedCall> {
        calls
            .into_iter()
            .map(|call| RecordedCall {
                access_key_id: None,
                ..call
            })
            .collect()
    };
    assert_eq!(
        unsigned(moto.recorded_calls()),
        [
            call("sts", Some("AssumeRole"), "POST", "/"),
            call("s3", None, "PUT", "/kcfed-bench/"),
            call("s3", None, "GET", "/?x-id=ListBuckets"),
            call("iam", Some("CreateRole"), "POST", "/"),
            call("iam", Some("GetRole"), "POST", "/"),
        ]
    );
    assert_eq!(
        unsigned(moto.mutating_calls()),
        [
            call("s3", None, "PUT", "/kcfed-bench/"),
            call("iam", Some("CreateRole"), "POST", "/")
        ]
    );
}

#[test]
fn later_values_files_win() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.yaml");
    let second = dir.path().join("second.yaml");
    fs::write(&first, "kept: 1\nshared: first\nnested: {a: 1, b: 1}\n").unwrap();
    fs::write(&second, "shared: second\nnested: {b: 2}\n").unwrap();

    let values = template_values(
        &values_echo_chart(),
        &[
            "-f".into(),
            first.display().to_string(),
            "-f".into(),
            second.display().to_string(),
        ],
    );
    assert_eq!(
        values,
        json!({ "kept": 1, "shared": "second", "nested": { "a": 1, "b": 2 } })
    );
}

/// Runs the recording helm with the arguments of a command line without quoting.
fn run(helm: &RecordingHelm, args: &str) -> Output {
    Command::new(&helm.path)
        .args(args.split(' '))
        .output()
        .unwrap()
}

#[test]
fn the_recording_helm_records_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let helm = recording_helm(dir.path());
    let first = dir.path().join("first.yaml");
    let second = dir.path().join("second.yaml");
    fs::write(&first, "shared: first\nkept: 1\n").unwrap();
    fs::write(&second, "shared: second\n").unwrap();

    let upgrade = format!(
        "upgrade --install kubecost oci://public.ecr.aws/kubecost/cost-analyzer --version 1.103.4 \
         --namespace kubecost --kube-context ctx --kubeconfig /nonexistent -f {} -f {} --wait --timeout 600s",
        first.display(),
        second.display()
    );
    let output = run(&helm, &upgrade);
    assert!(output.status.success(), "{output:?}");
    fs::remove_file(&first).unwrap();
    fs::remove_file(&second).unwrap();
    let uninstall = "uninstall kubecost --namespace kubecost --kube-context ctx --wait";
    assert!(run(&helm, uninstall).status.success());
    let version = run(&helm, "version --short");
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("v4."),
        "{version:?}"
    );

    let calls: Vec<String> = helm.calls().iter().map(|call| call.join(" ")).collect();
    assert_eq!(calls, [upgrade.as_str(), uninstall, "version --short"]);
    assert_eq!(
        helm.merged_values(),
        [json!({ "shared": "second", "kept": 1 })]
    );
    assert_eq!(
        helm.copied_values_files(0),
        ["shared: first\nkept: 1\n", "shared: second\n"]
    );
}

#[test]
fn the_recording_helm_fails_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    let helm = recording_helm(dir.path());
    let broken = dir.path().join("broken.yaml");
    fs::write(&broken, "shared: [unclosed\n").unwrap();

    let upgrade = format!(
        "upgrade --install kubecost oci://example/chart -f {}",
        broken.display()
    );
    assert!(!run(&helm, &upgrade).status.success());
    assert_eq!(helm.calls().len(), 1);
    assert!(helm.merged_values().is_empty());
}
