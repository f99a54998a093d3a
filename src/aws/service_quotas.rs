//! Service Quotas: the value of an account's quota, where the account lets kcfed read it.

use crate::aws::call_failed;
use crate::error::Error;

/// The value of quota `code` of `service` applied to the account; `None` where Service Quotas
/// gives none (it answers for IAM only in the partition's home region, and a policy may not let
/// kcfed read it): the caller then goes by AWS's default.
pub async fn applied(
    client: &aws_sdk_servicequotas::Client,
    service: &str,
    code: &str,
) -> Result<Option<u32>, Error> {
    match client
        .get_service_quota()
        .service_code(service)
        .quota_code(code)
        .send()
        .await
    {
        Ok(output) => Ok(output
            .quota()
            .and_then(|quota| quota.value())
            .map(|value| value as u32)),
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_no_such_resource_exception() || e.is_access_denied_exception()
            }) =>
        {
            tracing::debug!("no applied value for quota {service}/{code}: {err}");
            Ok(None)
        }
        Err(err) => Err(call_failed(
            "servicequotas:GetServiceQuota",
            format!("quota {service}/{code}"),
            err,
        )),
    }
}
