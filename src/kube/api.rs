//! Calls to the API server: one bounded retry of what fails transiently, and errors that say
//! whether the cluster was reached at all.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, error_chain};
use crate::names::FIELD_MANAGER;

/// Every object of one kind in the namespace (none when the namespace does not exist).
pub(crate) async fn list_in<K>(
    client: &Client,
    namespace: &str,
    plural: &str,
) -> Result<Vec<K>, Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let params = kube::api::ListParams::default();
    retry(KUBE_BACKOFF, || api.list(&params))
        .await
        .map(|list| list.items)
        .map_err(|err| kube_error("list", &format!("{plural} in {namespace}"), err))
}

/// Deletes what kcfed made and keeps the rest: objects without kcfed's label were not made by
pub(crate) async fn delete_named<K>(api: Api<K>, name: &str) -> kube::Result<()>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    let params = kube::api::DeleteParams::default();
    retry(KUBE_BACKOFF, || api.delete(name, &params))
        .await
        .map(drop)
}

pub(crate) async fn get_opt<K>(api: &Api<K>, name: &str, resource: &str) -> Result<Option<K>, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    retry(KUBE_BACKOFF, || api.get_opt(name))
        .await
        .map_err(|err| kube_error("get", resource, err))
}

pub(crate) async fn server_side_apply<K>(
    api: &Api<K>,
    name: &str,
    object: &K,
    resource: &str,
) -> Result<(), Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    // Forced so kcfed's fields win over an earlier manual edit of them; fields kcfed does not set
    // keep their owners. An apply is idempotent, so retrying one that may have landed is safe.
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(object);
    retry(KUBE_BACKOFF, || api.patch(name, &params, &patch))
        .await
        .map(drop)
        .map_err(|err| kube_error("apply", resource, err))
}

/// How often and how patiently a call failing transiently is retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    retries: u32,
    first_delay: Duration,
    max_delay: Duration,
}

pub(crate) const KUBE_BACKOFF: Backoff = Backoff {
    retries: 4,
    first_delay: Duration::from_millis(200),
    max_delay: Duration::from_millis(1600),
};

impl Backoff {
    /// The wait before retry number `retry` (0-based): doubling from the first delay, capped.
    fn delay(self, retry: u32) -> Duration {
        self.first_delay
            .saturating_mul(2_u32.saturating_pow(retry))
            .min(self.max_delay)
    }
}

pub(crate) async fn retry<T, F, Fut>(backoff: Backoff, mut call: F) -> kube::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let mut retry = 0;
    loop {
        match call().await {
            Err(err) if retry < backoff.retries && is_transient(&err) => {
                let delay = backoff.delay(retry);
                tracing::debug!("Kubernetes call failed ({err}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                retry += 1;
            }
            result => return result,
        }
    }
}

const HTTP_TOO_MANY_REQUESTS: u16 = 429;
const HTTP_SERVICE_UNAVAILABLE: u16 = 503;

fn is_server_error(code: u16) -> bool {
    (500..600).contains(&code)
}

/// Worth another try: the server was busy or failing, or the request never got an answer.
/// Conflicts, refusals and invalid objects are answers, and stay the same when asked again.
fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => {
            status.code == HTTP_TOO_MANY_REQUESTS || is_server_error(status.code)
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

pub(crate) fn kube_error(action: &'static str, resource: &str, err: kube::Error) -> Error {
    let (message, unreachable, denied) = match &err {
        kube::Error::Api(status) => {
            let text = if status.message.is_empty() {
                status.reason.as_str()
            } else {
                status.message.as_str()
            };
            (
                format!("{text} (HTTP {})", status.code),
                status.code == HTTP_SERVICE_UNAVAILABLE,
                matches!(status.code, 401 | 403),
            )
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => (error_chain(&err), true, false),
        _ => (error_chain(&err), false, false),
    };
    Error::Kube {
        action,
        resource: resource.to_owned(),
        message,
        unreachable,
        denied,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use kube::core::Status;

    use super::*;

    fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            Status::failure("the server says no", reason)
                .with_code(code)
                .boxed(),
        )
    }

    fn connection_refused() -> kube::Error {
        kube::Error::Service(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
    }

    const NO_WAIT: Backoff = Backoff {
        retries: 4,
        first_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// Runs `retry` over calls failing with `failures` in turn, then succeeding; returns the result
    /// and the number of calls made.
    async fn run_retry(failures: Vec<kube::Error>) -> (kube::Result<()>, u32) {
        let calls = AtomicU32::new(0);
        let failures = std::sync::Mutex::new(failures.into_iter());
        let result = retry(NO_WAIT, || {
            calls.fetch_add(1, Ordering::SeqCst);
            let next = failures.lock().unwrap().next();
            async move { next.map_or(Ok(()), Err) }
        })
        .await;
        (result, calls.into_inner())
    }

    #[tokio::test]
    async fn transient_failures_are_retried_a_bounded_number_of_times() {
        let (result, calls) = run_retry(vec![
            api_error(503, "ServiceUnavailable"),
            api_error(429, "TooManyRequests"),
            connection_refused(),
        ])
        .await;
        assert!(result.is_ok());
        assert_eq!(calls, 4);

        let (result, calls) =
            run_retry((0..6).map(|_| api_error(500, "InternalError")).collect()).await;
        assert!(matches!(result, Err(kube::Error::Api(status)) if status.code == 500));
        assert_eq!(calls, 5, "one call and four retries");

        let (result, calls) = run_retry(vec![api_error(409, "Conflict")]).await;
        assert!(matches!(result, Err(kube::Error::Api(status)) if status.is_conflict()));
        assert_eq!(calls, 1, "a conflict is an answer, not a hiccup");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let delays: Vec<u128> = (0..6)
            .map(|retry| KUBE_BACKOFF.delay(retry).as_millis())
            .collect();
        assert_eq!(delays, [200, 400, 800, 1600, 1600, 1600]);
    }

    #[test]
    fn kube_errors_say_whether_the_cluster_was_reached() {
        let resource = "secret kubecost/kubecost-object-store";
        let cases = [
            (
                api_error(403, "Forbidden"),
                false,
                "the server says no (HTTP 403)",
            ),
            (
                api_error(503, "ServiceUnavailable"),
                true,
                "the server says no (HTTP 503)",
            ),
            (
                connection_refused(),
                true,
                "ServiceError: connection refused",
            ),
        ];
        for (err, expected_unreachable, expected_message) in cases {
            match kube_error("apply", resource, err) {
                Error::Kube {
                    action: "apply",
                    resource: got_resource,
                    message,
                    unreachable,
                    denied,
                } => {
                    assert_eq!(got_resource, resource);
                    assert_eq!(message, expected_message);
                    assert_eq!(unreachable, expected_unreachable, "{message}");
                    assert_eq!(denied, message.contains("HTTP 403"), "{message}");
                }
                other => panic!("expected a kube error, got {other:?}"),
            }
        }
    }
}
