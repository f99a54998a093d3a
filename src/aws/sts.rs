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
