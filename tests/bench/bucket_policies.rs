//! S3 bucket policies through the proxy: with the EKS extensions on, as AWS applies them to a
//! caller on TLS (kcfed's only way to AWS); without, as moto applies them to everyone.

use aws_config::retry::RetryConfig;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;

use crate::REGION;
use crate::common::{World, block_on};
use crate::support::moto::{AwsAccount, Moto};
use crate::support::proxy::{Exchange, Fault, Faults, Proxy};

/// A member record's key, as kcfed writes them.
const KEY: &str = "kcfed/members/bench.json";

/// templates/bucket-policy-tls-only.json.j2 rendered for `bucket`, byte for byte.
fn tls_only_policy(bucket: &str) -> String {
    let arn = format!("arn:aws:s3:::{bucket}");
    let resources = format!(
        "{}, {}",
        serde_json::json!(arn),
        serde_json::json!(arn + "/*")
    );
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Statement": [
    {{
      "Sid": "DenyInsecureTransport",
      "Effect": "Deny",
      "Principal": "*",
      "Action": "s3:*",
      "Resource": [{resources}],
      "Condition": {{"Bool": {{"aws:SecureTransport": "false"}}}}
    }}
  ]
}}
"#
    )
}

/// The TLS-only policy with a Deny of s3:PutObject on every object, on no condition.
fn tls_only_and_no_puts(bucket: &str) -> String {
    let mut policy: serde_json::Value = serde_json::from_str(&tls_only_policy(bucket)).unwrap();
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "Sid": "NoPuts",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": format!("arn:aws:s3:::{bucket}/*"),
        }));
    policy.to_string()
}

/// An S3 client for `account` through `proxy`, configured as kcfed's (no path-style forced: the
/// SDK takes it by itself for an IP endpoint); no retries, so a fault is seen as it is.
async fn s3_through(proxy: &Proxy, account: &AwsAccount) -> aws_sdk_s3::Client {
    let config = account
        .sdk_config(REGION)
        .await
        .to_builder()
        .endpoint_url(proxy.url())
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_s3::Client::new(&config)
}

/// The HTTP status of a failed call.
fn status<T: std::fmt::Debug, E>(result: Result<T, SdkError<E>>) -> Option<u16> {
    let err = result.expect_err("the call fails");
    err.raw_response()
        .map(|response| response.status().as_u16())
}

async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Option<u16>> {
    let put = s3.put_object().bucket(bucket).key(KEY);
    let result = put.body(ByteStream::from_static(b"{}")).send().await;
    result
        .map(|_| ())
        .map_err(|err| err.raw_response().map(|r| r.status().as_u16()))
}

async fn put_policy(s3: &aws_sdk_s3::Client, bucket: &str, policy: &str) {
    let put = s3.put_bucket_policy().bucket(bucket).policy(policy);
    put.send().await.expect("PutBucketPolicy");
}

/// The S3 calls of a proxy's log: method, path and status.
fn s3_calls(proxy: &Proxy) -> Vec<(String, String, Option<u16>)> {
    let s3 = |e: &Exchange| e.service.as_deref() == Some("s3") && e.action.is_none();
    let log = proxy.log();
    assert!(log.iter().all(s3), "{log:?}");
    log.into_iter()
        .map(|e| (e.method, e.path, e.status))
        .collect()
}

#[tokio::test]
async fn the_proxy_applies_bucket_policies_as_aws_does_on_tls() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let bucket = format!("kcfed-bench-{}", account.account_id);
    let proxy = Proxy::with_eks_extensions(moto.endpoint_url());
    let s3 = s3_through(&proxy, &account).await;
    let direct = aws_sdk_s3::Client::new(&account.sdk_config(REGION).await);
    let held = || {
        proxy
            .eks_extensions()
            .unwrap()
            .bucket_policies()
            .get(&bucket)
    };
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let tls_only = tls_only_policy(&bucket);

    // A fault still meets the call: nothing is kept, moto is not asked.
    proxy.set_faults(Faults {
        rate: 1.0,
        kinds: vec![Fault::InternalError],
        ..Faults::none()
    });
    let faulted = s3.put_bucket_policy().bucket(&bucket).policy(&tls_only);
    assert_eq!(status(faulted.send().await), Some(500));
    assert_eq!(held(), None);
    proxy.set_faults(Faults::none());

    put_policy(&s3, &bucket, &tls_only).await;
    put_object(&s3, &bucket).await.expect("PutObject on TLS");
    let got = s3.get_object().bucket(&bucket).key(KEY).send().await;
    let got = got.expect("GetObject on TLS").body.collect().await.unwrap();
    assert_eq!(got.into_bytes().as_ref(), b"{}");
    let deleted = s3.delete_object().bucket(&bucket).key(KEY).send().await;
    deleted.expect("DeleteObject on TLS");
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert_eq!(policy.policy(), Some(tls_only.as_str()));
    // moto was given nothing: the policy had no other statement.
    let in_moto = direct.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(status(in_moto), Some(404));
    // Path-style, as against kcfed's endpoint override; logged as S3 calls always are.
    let (policy, object) = (
        format!("/{bucket}/?policy"),
        format!("/{bucket}/{KEY}?x-id="),
    );
    let expected = [
        ("PUT", format!("/{bucket}/"), 200),
        ("PUT", policy.clone(), 500),
        ("PUT", policy.clone(), 204),
        ("PUT", format!("{object}PutObject"), 200),
        ("GET", format!("{object}GetObject"), 200),
        ("DELETE", format!("{object}DeleteObject"), 204),
        ("GET", policy, 200),
    ];
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(method, path, status)| (method.to_owned(), path, Some(status)))
        .collect();
    assert_eq!(s3_calls(&proxy), expected);

    // Another Deny reaches moto, which refuses by it.
    let no_puts = tls_only_and_no_puts(&bucket);
    put_policy(&s3, &bucket, &no_puts).await;
    assert_eq!(put_object(&s3, &bucket).await, Err(Some(403)));
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert_eq!(policy.policy(), Some(no_puts.as_str()));
    let in_moto = direct
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let in_moto: serde_json::Value = serde_json::from_str(in_moto.policy().unwrap()).unwrap();
    let sids: Vec<_> = in_moto["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|statement| statement["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(sids, ["NoPuts"]);

    // Deleted, the policy is gone from both.
    s3.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(held(), None);
    let gone = s3.get_bucket_policy().bucket(&bucket).send().await;
    assert_eq!(status(gone), Some(404));
    put_object(&s3, &bucket)
        .await
        .expect("PutObject without policy");
}

/// What the extensions correct: moto applies the TLS-only Deny to plain http and https alike.
#[tokio::test]
async fn without_the_extensions_moto_denies_object_calls_under_a_tls_only_policy() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let bucket = format!("kcfed-bench-plain-{}", account.account_id);
    let proxy = Proxy::start(moto.endpoint_url(), Faults::none());
    let s3 = s3_through(&proxy, &account).await;
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let tls_only = tls_only_policy(&bucket);
    put_policy(&s3, &bucket, &tls_only).await;
    assert_eq!(put_object(&s3, &bucket).await, Err(Some(403)));
    let policy = s3.get_bucket_policy().bucket(&bucket).send().await.unwrap();
    assert_eq!(policy.policy(), Some(tls_only.as_str()));
}

/// In a world with the extensions, its helpers see the policy as put: the inventory reads it,
/// and there is no TLS-only statement in moto to lift.
#[test]
fn a_world_with_the_extensions_reads_bucket_policies_as_put() {
    let mut world = World::new(Moto::shared(), REGION, &[]);
    world.serve_eks_extensions();
    let bucket = format!("kcfed-bench-world-{}", world.account.account_id);
    let proxy = world.aws_proxy.as_ref().unwrap();
    // Compact, as kcfed sends its rendered policy.
    let tls_only: serde_json::Value = serde_json::from_str(&tls_only_policy(&bucket)).unwrap();
    let tls_only = tls_only.to_string();
    block_on(async {
        let s3 = s3_through(proxy, &world.account).await;
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
        put_policy(&s3, &bucket, &tls_only).await;
    });
    assert_eq!(world.held_bucket_policy(&bucket), Some(tls_only.clone()));
    world.with_tls_policy_lifted(&bucket, async |s3| {
        let put = s3.put_object().bucket(&bucket).key(KEY);
        put.body(ByteStream::from_static(b"{}"))
            .send()
            .await
            .unwrap();
    });
    let settings = crate::common::inventory(&world).settings;
    let expected = format!("bucket {bucket} policy {tls_only}");
    assert!(settings.contains(&expected), "{settings:#?}");
}
