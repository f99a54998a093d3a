//! Service clients that answer from `aws-smithy-mocks` rules instead of AWS, for unit tests.
//!
//! They retry as kcfed's loaded configuration does (`config.rs`: standard mode, bounded
//! attempts), without the waits between attempts, so a test can count the attempts a throttled
//! call gets.

use std::time::Duration;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client};
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// The attempts kcfed's configuration gives each call; `config/sdk_edges.rs` checks that the
/// loaded configuration agrees.
pub(crate) const MAX_ATTEMPTS: u32 = 6;

/// A service client built from a shared configuration and the interceptor that answers it.
pub(crate) trait Mockable {
    fn mocked(config: &SdkConfig, interceptor: MockResponseInterceptor) -> Self;
}

macro_rules! mockable {
    ($($sdk:ident),+) => {$(
        impl Mockable for $sdk::Client {
            fn mocked(config: &SdkConfig, interceptor: MockResponseInterceptor) -> Self {
                $sdk::Client::from_conf(
                    $sdk::config::Builder::from(config)
                        .interceptor(interceptor)
                        .build(),
                )
            }
        }
    )+};
}

mockable!(
    aws_sdk_amp,
    aws_sdk_eks,
    aws_sdk_iam,
    aws_sdk_s3,
    aws_sdk_sts
);

/// A client that answers from `rules`, in order, without a network.
pub(crate) fn answering<C: Mockable>(rules: &[&Rule]) -> C {
    answering_with(&kcfed_config(), rules)
}

/// A client whose concurrent calls (`tokio::join!`) are answered by the first rule that matches
/// each request, in whatever order they are sent.
pub(crate) fn answering_any<C: Mockable>(rules: &[&Rule]) -> C {
    build(&kcfed_config(), RuleMode::MatchAny, rules)
}

/// A client made from `config` (its retry policy, region, ...) that answers from `rules`, in
/// order.
pub(crate) fn answering_with<C: Mockable>(config: &SdkConfig, rules: &[&Rule]) -> C {
    build(config, RuleMode::Sequential, rules)
}

fn kcfed_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(Region::new("us-east-2"))
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .build()
}

fn build<C: Mockable>(config: &SdkConfig, mode: RuleMode, rules: &[&Rule]) -> C {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(mode);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    // The attempts stay as configured; only the backoff between them is dropped.
    let retry = config
        .retry_config()
        .cloned()
        .unwrap_or_else(RetryConfig::disabled)
        .with_initial_backoff(Duration::ZERO);
    let config = config
        .to_builder()
        .http_client(create_mock_http_client())
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .retry_config(retry)
        .build();
    C::mocked(&config, interceptor)
}

/// The error metadata of an AWS answer with this code, as the SDK reads it off the wire.
pub(crate) fn service_error(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}

/// The parts of an `Error::Aws` a test checks: the action, how it failed, and the message.
pub(crate) fn aws_failure(
    err: &crate::error::Error,
) -> (&'static str, crate::error::AwsFailure, &str) {
    match err {
        crate::error::Error::Aws {
            action,
            failure,
            message,
            ..
        } => (action, *failure, message),
        other => panic!("expected an AWS failure, got {other:?}"),
    }
}
