//! GetCallerIdentity against mocked STS answers: the first call of every run, so its failures
//! are the ones a user meets first.

use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_sdk_sts::operation::get_caller_identity::{
    GetCallerIdentityError, GetCallerIdentityOutput,
};
use aws_smithy_mocks::mock;

use super::*;
use crate::aws::mock_clients::{MAX_ATTEMPTS, answering, aws_failure, service_error};
use crate::error::{AwsFailure, exit};

fn identity(account: Option<&str>, arn: &str) -> GetCallerIdentityOutput {
    GetCallerIdentityOutput::builder()
        .set_account(account.map(str::to_owned))
        .arn(arn)
        .user_id("AROAEXAMPLE:ci-run-42")
        .build()
}

#[tokio::test]
async fn an_assumed_role_caller_is_named_by_its_role_in_its_account() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
        identity(
            Some("111122223333"),
            "arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-42",
        )
    });
    let caller = caller(&answering(&[&rule])).await.unwrap();
    assert_eq!(
        caller,
        Identity {
            account: "111122223333".to_owned(),
            principal: "arn:aws:iam::111122223333:role/Deployer".to_owned(),
        }
    );
}

#[tokio::test]
async fn an_answer_without_an_account_is_an_error_not_an_empty_account() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .then_output(|| identity(None, "arn:aws:iam::111122223333:user/alice"));
    let err = caller(&answering(&[&rule])).await.unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "sts:GetCallerIdentity",
            AwsFailure::Other,
            "the answer carried no account id"
        )
    );
}

/// Refused credentials are the user's to fix: retrying them would only repeat the refusal.
#[tokio::test]
async fn expired_credentials_are_a_credentials_failure_tried_once() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .http_status(
            403,
            Some(
                "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code>\
                 <Message>The security token included in the request is expired</Message>\
                 </Error></ErrorResponse>"
                    .to_owned(),
            ),
        )
        .repeatedly()
        .build();
    let err = caller(&answering(&[&rule])).await.unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "sts:GetCallerIdentity",
            AwsFailure::Credentials,
            "ExpiredToken: The security token included in the request is expired"
        )
    );
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        err.fix().unwrap(),
        "check the AWS credentials: `aws sts get-caller-identity` must work with the same profile and region"
    );
}

/// A proxy's HTML error page names no AWS error code; its 403 is still a refusal.
#[tokio::test]
async fn a_403_without_an_error_code_is_access_denied_naming_the_action_to_grant() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .http_status(
            403,
            Some("<html><body>Forbidden by proxy</body></html>".to_owned()),
        )
        .repeatedly()
        .build();
    let err = caller(&answering(&[&rule])).await.unwrap_err();
    let (action, failure, message) = aws_failure(&err);
    assert_eq!(
        (action, failure),
        ("sts:GetCallerIdentity", AwsFailure::AccessDenied)
    );
    assert!(message.starts_with("HTTP 403: "), "{message}");
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        err.fix().unwrap(),
        "grant the calling identity `sts:GetCallerIdentity` (README lists every permission kcfed needs)"
    );
}

#[tokio::test]
async fn throttling_is_retried_until_the_attempts_run_out_then_reported_as_throttled() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .error(|| GetCallerIdentityError::generic(service_error("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let err = caller(&answering(&[&rule])).await.unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "sts:GetCallerIdentity",
            AwsFailure::Throttled,
            "Throttling: Rate exceeded"
        )
    );
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
    assert_eq!(
        err.fix().unwrap(),
        "AWS throttled the calls even after retries; run the command again in a minute"
    );
}

#[tokio::test]
async fn a_call_throttled_once_is_answered_by_its_retry() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .error(|| GetCallerIdentityError::generic(service_error("Throttling", "Rate exceeded")))
        .output(|| identity(Some("111122223333"), "arn:aws:iam::111122223333:user/alice"))
        .build();
    let caller = caller(&answering(&[&rule])).await.unwrap();
    assert_eq!(caller.principal, "arn:aws:iam::111122223333:user/alice");
    assert_eq!(rule.num_calls(), 2);
}

/// Credentials that resolve to nothing, as the default chain does on a machine without any.
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded(
            "no providers in chain provided credentials",
        )))
    }
}

/// No credentials at all is the environment's problem (bad input), not a refusal by AWS.
#[tokio::test]
async fn no_credentials_at_all_is_bad_input_naming_the_missing_credentials() {
    // An HTTP answer, which only a sent request gets: a modeled output would replace the failure.
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .http_status(200, None)
        .build();
    let mocked: aws_sdk_sts::Client = answering(&[&rule]);
    let client = aws_sdk_sts::Client::from_conf(
        mocked
            .config()
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(NoCredentials))
            .build(),
    );
    let err = caller(&client).await.unwrap_err();
    let (action, failure, message) = aws_failure(&err);
    assert_eq!(
        (action, failure),
        ("sts:GetCallerIdentity", AwsFailure::NoCredentials)
    );
    assert!(
        message.starts_with("no usable AWS credentials: "),
        "{message}"
    );
    assert_eq!(err.exit_code(), exit::BAD_INPUT);
}
