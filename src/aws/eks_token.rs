//! The bearer token an EKS cluster accepts from AWS credentials alone, made the way
//! `aws eks get-token` makes it: a presigned `sts:GetCallerIdentity` URL (API version
//! 2011-06-15, presigned for 60 seconds) whose signature covers the `x-k8s-aws-id` header with the
//! cluster's name, base64url-encoded without padding behind `k8s-aws-v1.`. The cluster's
//! authenticator calls that URL to learn who is asking; a token is good for 15 minutes from its
//! signing, and kcfed says it expires after 14, as the CLI does, so clients fetch a new one first.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use serde::Serialize;

use crate::error::{AwsFailure, Error};
use crate::names;

const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster.
const CLUSTER_HEADER: &str = "x-k8s-aws-id";
/// How long the presigned URL is valid to be presented, as the CLI presigns it.
const PRESIGNED_FOR: Duration = Duration::from_secs(60);
/// How long a token is used: a minute short of the 15 minutes authenticators accept.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 60);

/// The STS endpoint tokens are presigned for: the configured endpoint (`--endpoint-url`,
/// AWS_ENDPOINT_URL), else the region's own.
pub fn sts_endpoint(config: &aws_config::SdkConfig, region: &str) -> String {
    match config.endpoint_url() {
        Some(endpoint) => endpoint.trim_end_matches('/').to_owned(),
        None => format!("https://sts.{region}.{}", names::dns_suffix(region)),
    }
}

/// The presigned URL for `cluster`, signed at `now` for STS in `region`.
pub fn presigned_url(
    credentials: &Credentials,
    endpoint: &str,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<String, Error> {
    let failed = |message: String| Error::Aws {
        action: "sts:GetCallerIdentity",
        resource: format!("the token for cluster {cluster}"),
        failure: AwsFailure::Other,
        message,
    };
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGNED_FOR);
    let identity = Identity::from(credentials.clone());
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|err| failed(err.to_string()))?
        .into();
    let base = format!("{endpoint}/?Action=GetCallerIdentity&Version=2011-06-15");
    let signable = SignableRequest::new(
        "GET",
        &base,
        std::iter::once((CLUSTER_HEADER, cluster)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|err| failed(err.to_string()))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|err| failed(err.to_string()))?
        .into_parts();
    let mut url = base;
    for (name, value) in in_cli_order(instructions.params()) {
        url.push('&');
        url.push_str(name);
        url.push('=');
        url.push_str(
            &percent_encoding::utf8_percent_encode(value, super::UNRESERVED_ONLY).to_string(),
        );
    }
    Ok(url)
}

/// The signing parameters in the order botocore writes them (the signature last), so the URL is
/// the CLI's to the byte.
fn in_cli_order<'a>(params: &'a [(&'a str, Cow<'static, str>)]) -> Vec<(&'a str, &'a str)> {
    const ORDER: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ];
    let rank = |name: &str| ORDER.iter().position(|n| *n == name).unwrap_or(ORDER.len());
    let mut ordered: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_ref())).collect();
    ordered.sort_by_key(|(name, _)| rank(name));
    ordered
}

/// `k8s-aws-v1.` and the URL in base64url without padding.
pub fn token_of(url: &str) -> String {
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url)
    )
}

/// The `ExecCredential` a Kubernetes client (kube-rs, helm) reads from a credential plugin.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredential {
    pub kind: &'static str,
    pub api_version: &'static str,
    pub spec: serde_json::Value,
    pub status: ExecCredentialStatus,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecCredentialStatus {
    pub expiration_timestamp: String,
    pub token: String,
}

/// The API version of the credential plugins kcfed writes and answers as.
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// A fresh token for `cluster` (in `region`) with the configuration's credentials.
pub async fn exec_credential(
    config: &aws_config::SdkConfig,
    cluster: &str,
    region: &str,
) -> Result<ExecCredential, Error> {
    let no_credentials = |message: String| Error::Aws {
        action: "sts:GetCallerIdentity",
        resource: format!("the token for cluster {cluster}"),
        failure: AwsFailure::Credentials,
        message,
    };
    let provider = config
        .credentials_provider()
        .ok_or_else(|| no_credentials("no AWS credentials are configured".to_owned()))?;
    let credentials = provider.provide_credentials().await.map_err(|err| {
        no_credentials(format!(
            "no usable AWS credentials: {}",
            crate::error::error_chain(&err)
        ))
    })?;
    let now = SystemTime::now();
    let url = presigned_url(
        &credentials,
        &sts_endpoint(config, region),
        region,
        cluster,
        now,
    )?;
    let expires = aws_smithy_types::DateTime::from(now + TOKEN_LIFETIME);
    Ok(ExecCredential {
        kind: "ExecCredential",
        api_version: EXEC_API_VERSION,
        spec: serde_json::json!({}),
        status: ExecCredentialStatus {
            expiration_timestamp: expires
                .fmt(aws_smithy_types::date_time::Format::DateTime)
                .unwrap_or_default(),
            token: token_of(&url),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `aws eks get-token --cluster-name prod --region us-west-2` (awscli 1.46.2, botocore)
    /// prints for these credentials at 2026-12-01T12:00:00Z.
    const CLI_URL: &str = "https://sts.us-west-2.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20261201%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20261201T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=session-token%2Fwith%2Bchars%3D&X-Amz-Signature=c4b52f062ae7736f72f88767ea666498aa9c9bd4727f5e2a8059e759e58a804e";
    const CLI_TOKEN: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYxMjAxJTJGdXMtd2VzdC0yJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjEyMDFUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1zZXNzaW9uLXRva2VuJTJGd2l0aCUyQmNoYXJzJTNEJlgtQW16LVNpZ25hdHVyZT1jNGI1MmYwNjJhZTc3MzZmNzJmODg3NjdlYTY2NjQ5OGFhOWM5YmQ0NzI3ZjVlMmE4MDU5ZTc1OWU1OGE4MDRl";

    #[test]
    fn the_token_is_the_aws_cli_token_to_the_byte() {
        let credentials = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token/with+chars=".to_owned()),
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_126_400);
        let url = presigned_url(
            &credentials,
            "https://sts.us-west-2.amazonaws.com",
            "us-west-2",
            "prod",
            at,
        )
        .unwrap();
        assert_eq!(url, CLI_URL);
        assert_eq!(token_of(&url), CLI_TOKEN);
    }

    #[test]
    fn tokens_are_presigned_for_the_configured_endpoint_else_the_regions() {
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        assert_eq!(
            sts_endpoint(&config, "cn-north-1"),
            "https://sts.cn-north-1.amazonaws.com.cn"
        );
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url("https://vpce-0a1b2c3d.sts.us-west-2.vpce.amazonaws.com/")
            .build();
        assert_eq!(
            sts_endpoint(&config, "us-west-2"),
            "https://vpce-0a1b2c3d.sts.us-west-2.vpce.amazonaws.com"
        );
    }
}
