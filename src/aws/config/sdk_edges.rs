//! The retry policy of the loaded configuration, seen through a mocked STS call.

use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
use aws_smithy_mocks::mock;
use aws_smithy_types::retry::RetryMode;

use super::*;
use crate::aws::mock_clients::{self, answering_with, aws_failure, service_error};
use crate::error::AwsFailure;

async fn loaded() -> aws_config::SdkConfig {
    load(&AwsArgs {
        profile: None,
        region: Some("us-east-2".to_owned()),
        endpoint_url: None,
    })
    .await
    .unwrap()
}

/// Throttling during a large join slows calls down; only when it lasts through every attempt
/// does it fail the call. Standard mode: adaptive would keep the service slow for the whole run.
#[tokio::test]
async fn the_loaded_configuration_gives_a_throttled_call_its_bounded_standard_retries() {
    let config = loaded().await;
    let retry = config.retry_config().unwrap();
    assert_eq!(
        (retry.mode(), retry.max_attempts()),
        (RetryMode::Standard, MAX_ATTEMPTS)
    );
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .error(|| GetCallerIdentityError::generic(service_error("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let err = crate::aws::sts::caller(&answering_with(&config, &[&rule]))
        .await
        .unwrap_err();
    assert_eq!(aws_failure(&err).1, AwsFailure::Throttled);
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
    // The other modules' tests count attempts with the mock clients' figure.
    assert_eq!(mock_clients::MAX_ATTEMPTS, MAX_ATTEMPTS);
}

/// The workspace's and other regions' clients are made on demand from the same configuration:
/// they must keep its retries.
#[tokio::test]
async fn clients_for_other_regions_keep_the_retry_policy() {
    let clients = Clients::new(loaded().await).unwrap();
    let amp = clients.amp("eu-west-1");
    let eks = clients.eks_in("eu-west-1");
    let s3 = clients.s3_in("eu-west-1");
    for (region, retry) in [
        (amp.config().region(), amp.config().retry_config()),
        (eks.config().region(), eks.config().retry_config()),
        (s3.config().region(), s3.config().retry_config()),
    ] {
        assert_eq!(region.map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(retry.map(|r| r.max_attempts()), Some(MAX_ATTEMPTS));
    }
}

/// The user's retry settings are the SDK's to apply, as in the aws CLI; kcfed's bound applies
/// only where the user set none.
#[tokio::test]
async fn retry_settings_the_user_chose_are_noticed_in_the_environment_and_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "[default]\nregion = us-east-2\n[profile patient]\nmax_attempts = 10\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let env = |vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push(("AWS_CONFIG_FILE", config));
        Env::from_slice(&vars)
    };
    let chosen = async |vars: &[(&str, &str)], profile: Option<&str>| {
        let env = env(vars);
        let profiles = profile_files(&env).await;
        retry_chosen(&env, profiles.as_ref(), profile)
    };
    assert!(!chosen(&[], None).await);
    assert!(chosen(&[("AWS_MAX_ATTEMPTS", "1")], None).await);
    assert!(chosen(&[("AWS_RETRY_MODE", "adaptive")], None).await);
    assert!(chosen(&[], Some("patient")).await);
    assert!(chosen(&[("AWS_PROFILE", "patient")], None).await);
    // `--profile` names the profile in use, whatever AWS_PROFILE says.
    assert!(!chosen(&[("AWS_PROFILE", "patient")], Some("default")).await);
}
