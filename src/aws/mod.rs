//! One module per AWS service, plus the shared configuration and error mapping.

pub mod accounts;
pub mod amp;
pub mod amp_query;
pub mod config;
pub mod eks;
pub mod eks_token;
pub mod iam;
pub mod s3;
pub mod service_quotas;
pub mod sts;

#[cfg(test)]
pub(crate) mod mock_clients;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::error::{AwsFailure, Error, error_chain};

/// What SigV4 leaves unescaped in query strings and form bodies: the unreserved characters.
pub const UNRESERVED_ONLY: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Turns an SDK error into kcfed's, classified by the error's typed code and kind.
/// `action` is the IAM action name (`iam:CreateRole`), so AccessDenied says what to grant.
pub fn call_failed<E>(
    action: &'static str,
    resource: impl Into<String>,
    err: SdkError<E, HttpResponse>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let credentials = credentials_failure(&err);
    let failure = match &err {
        // A 403 whose body names no code (an HTML page from a proxy, say) is still a refusal.
        SdkError::ServiceError(service) => match classify_code(service.err().code()) {
            AwsFailure::Other if service.raw().status().as_u16() == 403 => AwsFailure::AccessDenied,
            failure => failure,
        },
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            if credentials.is_some() {
                AwsFailure::NoCredentials
            } else {
                AwsFailure::Network
            }
        }
        _ => AwsFailure::Other,
    };
    // The causes in words; the SDK's own rendering appends their Debug form.
    let message = match (&err, credentials) {
        (SdkError::ServiceError(service), _) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => format!(
                    "HTTP {}: {}",
                    service.raw().status().as_u16(),
                    error_chain(&err)
                ),
            }
        }
        (_, Some(credentials)) => {
            format!("no usable AWS credentials: {}", error_chain(credentials))
        }
        _ => error_chain(&err),
    };
    Error::Aws {
        action,
        resource: resource.into(),
        failure,
        message,
    }
}

fn classify_code(code: Option<&str>) -> AwsFailure {
    match code {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            AwsFailure::AccessDenied
        }
        Some(
            "ExpiredToken"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "InvalidAccessKeyId",
        ) => AwsFailure::Credentials,
        Some("Throttling" | "ThrottlingException" | "SlowDown" | "TooManyRequestsException") => {
            AwsFailure::Throttled
        }
        Some("LimitExceeded" | "LimitExceededException" | "ServiceQuotaExceededException") => {
            AwsFailure::QuotaExceeded
        }
        _ => AwsFailure::Other,
    }
}

/// A request that never left because no credentials could be found is a dispatch failure whose
/// source is the identity resolver's typed error; returns that error.
fn credentials_failure<E, R>(err: &SdkError<E, R>) -> Option<&(dyn std::error::Error + 'static)>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(current) = source {
        if current
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return Some(current);
        }
        source = current.source();
    }
    None
}

/// Maps a service's "not found" error (the typed check `$missing` names) to `None`, any other
/// failure to kcfed's error (returned from the calling function).
macro_rules! none_when {
    ($missing:ident, $call:expr, $action:expr, $resource:expr) => {
        match $call.await {
            Ok(output) => Some(output),
            Err(err) if err.as_service_error().is_some_and(|e| e.$missing()) => None,
            Err(err) => return Err(crate::aws::call_failed($action, $resource, err)),
        }
    };
}
pub(crate) use none_when;

/// IAM returns policy documents URL-encoded.
pub fn decode_policy_document(encoded: &str) -> Option<serde_json::Value> {
    let decoded = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()?;
    serde_json::from_str(&decoded).ok()
}

/// Whether a resource's tags say kcfed made it.
pub fn made_by_kcfed(tags: &std::collections::HashMap<String, String>) -> bool {
    tags.get(crate::names::tags::MANAGED_BY).map(String::as_str)
        == Some(crate::names::tags::MANAGED_BY_VALUE)
}

/// Tags kcfed puts on everything it creates.
pub fn managed_tags(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    std::iter::once((
        crate::names::tags::MANAGED_BY,
        crate::names::tags::MANAGED_BY_VALUE,
    ))
    .chain(extra.iter().copied())
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect()
}

/// Whether any of the tags `want` is missing from `have` or holds another value there.
pub fn tags_missing(
    have: &std::collections::HashMap<String, String>,
    want: &[(String, String)],
) -> bool {
    want.iter().any(|(key, value)| have.get(key) != Some(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_failures() {
        assert_eq!(
            classify_code(Some("AccessDenied")),
            AwsFailure::AccessDenied
        );
        assert_eq!(classify_code(Some("ExpiredToken")), AwsFailure::Credentials);
        assert_eq!(classify_code(Some("SlowDown")), AwsFailure::Throttled);
        assert_eq!(classify_code(Some("NoSuchEntity")), AwsFailure::Other);
        assert_eq!(classify_code(None), AwsFailure::Other);
    }

    #[test]
    fn iam_documents_are_url_decoded() {
        let doc = decode_policy_document("%7B%22Version%22%3A%222012-10-17%22%7D").unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert!(decode_policy_document("%7Bnot json").is_none());
    }
}
