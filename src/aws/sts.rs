//! STS: who is calling.

use crate::aws::call_failed;
use crate::error::Error;

/// Who kcfed acts as in one account: the plan's header names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Identity {
    pub account: String,
    /// The IAM principal: an assumed role's session is named by its role
    /// (`arn:aws:iam::ACCOUNT:role/NAME`), as access entries and the aws-auth ConfigMap name it.
    pub principal: String,
}

/// The calling identity: its account (every ARN kcfed derives starts from it) and principal.
pub async fn caller(client: &aws_sdk_sts::Client) -> Result<Identity, Error> {
    let identity = client
        .get_caller_identity()
        .send()
        .await
        .map_err(|err| call_failed("sts:GetCallerIdentity", "the calling identity", err))?;
    let account = identity.account().ok_or_else(|| Error::Aws {
        action: "sts:GetCallerIdentity",
        resource: "the calling identity".to_owned(),
        failure: crate::error::AwsFailure::Other,
        message: "the answer carried no account id".to_owned(),
    })?;
    Ok(Identity {
        account: account.to_owned(),
        principal: principal_of(identity.arn().unwrap_or("the calling identity")),
    })
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

#[cfg(test)]
mod sdk_edges;
