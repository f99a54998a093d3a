//! STS: who is calling.

use crate::aws::call_failed;
use crate::error::Error;

/// The account id of the calling identity: every ARN kcfed derives starts from it.
pub async fn account_id(client: &aws_sdk_sts::Client) -> Result<String, Error> {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|err| call_failed("sts:GetCallerIdentity", "the calling identity", err))?;
    identity
        .account()
        .map(str::to_owned)
        .ok_or_else(|| Error::Aws {
            action: "sts:GetCallerIdentity",
            resource: "the calling identity".to_owned(),
            failure: crate::error::AwsFailure::Other,
            message: "the answer carried no account id".to_owned(),
        })
}

/// The IAM principal calling, for errors that must name who was refused: an assumed role's
/// session is named by its role (`arn:aws:iam::ACCOUNT:role/NAME`), as access entries and the
/// aws-auth ConfigMap name it.
pub async fn principal_arn(client: &aws_sdk_sts::Client) -> Result<String, Error> {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|err| call_failed("sts:GetCallerIdentity", "the calling identity", err))?;
    Ok(principal_of(
        identity.arn().unwrap_or("the calling identity"),
    ))
}

fn principal_of(caller: &str) -> String {
    let role = crate::names::parse_arn(caller)
        .filter(|arn| arn.service == "sts")
        .and_then(|arn| {
            let role = arn
                .resource
                .strip_prefix("assumed-role/")?
                .split('/')
                .next()?;
            Some(format!(
                "arn:{}:iam::{}:role/{role}",
                arn.partition, arn.account
            ))
        });
    role.unwrap_or_else(|| caller.to_owned())
}

#[cfg(test)]
mod tests {
    use super::principal_of;

    #[test]
    fn an_assumed_role_session_is_named_by_its_role() {
        assert_eq!(
            principal_of("arn:aws:sts::111122223333:assumed-role/Deployer/ci-run-42"),
            "arn:aws:iam::111122223333:role/Deployer"
        );
        assert_eq!(
            principal_of("arn:aws:iam::111122223333:user/alice"),
            "arn:aws:iam::111122223333:user/alice"
        );
    }
}
