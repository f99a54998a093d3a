//! The check each other account's access gets (`sts:GetCallerIdentity`) against mocked answers.

use aws_sdk_sts::operation::get_caller_identity::{
    GetCallerIdentityError, GetCallerIdentityOutput,
};
use aws_smithy_mocks::{Rule, mock};

use super::*;
use crate::aws::mock_clients::{answering, service_error};
use crate::error::exit;

/// Clients whose STS answers from `rule`; no other service is asked.
fn clients(rule: &Rule) -> Clients {
    Clients {
        config: aws_config::SdkConfig::builder()
            .region(Region::new("us-east-2"))
            .build(),
        region: "us-east-2".to_owned(),
        sts: answering(&[rule]),
        eks: answering(&[]),
        iam: answering(&[]),
        s3: answering(&[]),
    }
}

fn caller_in(account: &'static str) -> Rule {
    mock!(aws_sdk_sts::Client::get_caller_identity).then_output(move || {
        GetCallerIdentityOutput::builder()
            .account(account)
            .arn(format!(
                "arn:aws:sts::{account}:assumed-role/Deployer/kcfed"
            ))
            .build()
    })
}

#[tokio::test]
async fn access_acting_in_the_named_account_gives_the_identity_there() {
    let rule = caller_in("222233334444");
    let identity = check(
        &clients(&rule),
        "222233334444",
        &Access::Profile("edge".to_owned()),
    )
    .await
    .unwrap();
    assert_eq!(
        identity.principal,
        "arn:aws:iam::222233334444:role/Deployer"
    );
}

/// A profile for the wrong account would describe clusters of another account than the ARN's.
#[tokio::test]
async fn a_profile_acting_in_another_account_is_bad_input_naming_both_accounts() {
    let rule = caller_in("999988887777");
    let err = check(
        &clients(&rule),
        "222233334444",
        &Access::Profile("edge".to_owned()),
    )
    .await
    .unwrap_err();
    let Error::Usage { message, fix } = &err else {
        panic!("expected a usage error, got {err:?}");
    };
    assert_eq!(
        message,
        "profile edge acts in account 999988887777, not in account 222233334444"
    );
    assert_eq!(
        fix,
        "check the profile: `aws sts get-caller-identity --profile edge` must name account 222233334444; nothing was changed"
    );
}

/// Checked before anything changes, so a refusal there is bad input (exit 2), not a failed run.
#[tokio::test]
async fn a_role_whose_access_is_refused_is_bad_input_with_the_assume_role_command_to_try() {
    let rule = mock!(aws_sdk_sts::Client::get_caller_identity)
        .sequence()
        .error(|| {
            GetCallerIdentityError::generic(service_error(
                "AccessDenied",
                "explicit deny in a service control policy",
            ))
        })
        .repeatedly()
        .build();
    let arn = "arn:aws:iam::222233334444:role/OrganizationAccountAccessRole";
    let err = check(
        &clients(&rule),
        "222233334444",
        &Access::Role(arn.to_owned()),
    )
    .await
    .unwrap_err();
    let Error::Usage { message, fix } = &err else {
        panic!("expected a usage error, got {err:?}");
    };
    assert!(
        message.starts_with(&format!(
            "account 222233334444 cannot be reached with role {arn}: sts:GetCallerIdentity on the calling identity failed: AccessDenied: explicit deny"
        )),
        "{message}"
    );
    assert!(
        fix.contains(&format!(
            "`aws sts assume-role --role-arn {arn} --role-session-name kcfed`"
        )),
        "{fix}"
    );
    assert_eq!(err.exit_code(), exit::BAD_INPUT);
    assert_eq!(rule.num_calls(), 1);
}
