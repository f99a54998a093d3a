//! AMP's data plane: PromQL queries to a workspace's query API, over HTTPS and SigV4-signed for
//! the `aps` service in the workspace's region, with the credentials every other call uses.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use crate::error::{AwsFailure, Error};

/// The IAM action a query needs, named in access-denied errors.
const QUERY_ACTION: &str = "aps:QueryMetrics";
/// AMP's SigV4 signing name.
const SIGNING_NAME: &str = "aps";
/// One query waits this long for its answer.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// Throttled or failing queries are tried this many times in all, with a growing pause.
const ATTEMPTS: u32 = 3;

/// How far back [`QueryApi::last_seen`] looks for a cluster's newest sample.
pub const LAST_SEEN_WINDOW: &str = "1d";

/// A workspace's query API, reached through its `prometheusEndpoint`.
pub struct QueryApi {
    http: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    credentials: SharedCredentialsProvider,
    region: String,
    /// `https://aps-workspaces.REGION.amazonaws.com/workspaces/ws-.../`, as DescribeWorkspace
    /// gives it.
    endpoint: String,
}

#[derive(Deserialize)]
struct QueryResponse {
    status: String,
    #[serde(default)]
    data: Option<QueryData>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct QueryData {
    #[serde(default)]
    result: Vec<VectorSample>,
}

#[derive(Deserialize)]
struct VectorSample {
    metric: HashMap<String, String>,
    /// `[evaluation time, "value"]`.
    value: (f64, String),
}

impl QueryApi {
    pub fn new(
        config: &aws_config::SdkConfig,
        region: &str,
        endpoint: &str,
    ) -> Result<Self, Error> {
        let credentials = config.credentials_provider().ok_or_else(|| Error::Aws {
            action: QUERY_ACTION,
            resource: endpoint.to_owned(),
            failure: AwsFailure::Credentials,
            message: "no AWS credentials are configured".to_owned(),
        })?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|err| Error::Aws {
                action: QUERY_ACTION,
                resource: endpoint.to_owned(),
                failure: AwsFailure::Network,
                message: format!("cannot read the system's CA certificates: {err}"),
            })?
            // An endpoint given as http (a local proxy) is used as given; AWS's own are https.
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            http: Client::builder(TokioExecutor::new()).build(https),
            credentials,
            region: region.to_owned(),
            endpoint: endpoint.trim_end_matches('/').to_owned(),
        })
    }

    /// The newest sample time (seconds since the epoch) of `metric` for each `cluster_id` that
    /// has one in the last [`LAST_SEEN_WINDOW`]: one query for the whole fleet.
    pub async fn last_seen(&self, metric: &str) -> Result<HashMap<String, f64>, Error> {
        let samples = self.instant(&last_seen_query(metric)).await?;
        Ok(samples
            .into_iter()
            .filter_map(|sample| {
                let cluster = sample.metric.get("cluster_id")?.clone();
                Some((cluster, sample.value.1.parse().ok()?))
            })
            .collect())
    }

    async fn instant(&self, promql: &str) -> Result<Vec<VectorSample>, Error> {
        let body = form_body(&[("query", promql)]);
        let mut attempt = 1;
        loop {
            match self.post("/api/v1/query", &body).await {
                Err(err) if attempt < ATTEMPTS && retryable(&err) => {
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }

    /// A failed query of this workspace's API.
    fn failure(&self, failure: AwsFailure, message: String) -> Error {
        Error::Aws {
            action: QUERY_ACTION,
            resource: self.endpoint.clone(),
            failure,
            message,
        }
    }

    async fn post(&self, path: &str, body: &str) -> Result<Vec<VectorSample>, Error> {
        let url = format!("{}{path}", self.endpoint);
        let failed = |failure, message: String| self.failure(failure, message);
        let mut request = hyper::Request::post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body.to_owned())))
            .map_err(|err| failed(AwsFailure::Other, format!("invalid query URL {url}: {err}")))?;
        self.sign(&mut request, body.as_bytes()).await?;
        let exchange = async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, bytes))
        };
        let (status, bytes) = match tokio::time::timeout(QUERY_TIMEOUT, exchange).await {
            Err(_) => {
                return Err(failed(
                    AwsFailure::NamedEndpointNetwork,
                    format!("no answer within {} s", QUERY_TIMEOUT.as_secs()),
                ));
            }
            Ok(Err(err)) => {
                return Err(failed(
                    AwsFailure::NamedEndpointNetwork,
                    crate::error::error_chain(err.as_ref()),
                ));
            }
            Ok(Ok(answer)) => answer,
        };
        let text = String::from_utf8_lossy(&bytes);
        let failure = match status.as_u16() {
            200..=299 => None,
            401 | 403 => Some(AwsFailure::AccessDenied),
            429 => Some(AwsFailure::Throttled),
            _ => Some(AwsFailure::Other),
        };
        if let Some(failure) = failure {
            return Err(failed(failure, format!("HTTP {status}: {}", text.trim())));
        }
        let parsed: QueryResponse = serde_json::from_slice(&bytes).map_err(|err| {
            failed(
                AwsFailure::Other,
                format!("unexpected answer ({err}): {text}"),
            )
        })?;
        if parsed.status != "success" {
            return Err(failed(
                AwsFailure::Other,
                parsed.error.unwrap_or_else(|| text.into_owned()),
            ));
        }
        Ok(parsed.data.map(|data| data.result).unwrap_or_default())
    }

    async fn sign(
        &self,
        request: &mut hyper::Request<Full<Bytes>>,
        body: &[u8],
    ) -> Result<(), Error> {
        let signing_failed = |failure, message: String| self.failure(failure, message);
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|err| {
                signing_failed(
                    AwsFailure::Credentials,
                    format!(
                        "no usable AWS credentials: {}",
                        crate::error::error_chain(&err)
                    ),
                )
            })?;
        let identity = Identity::from(credentials);
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|err| signing_failed(AwsFailure::Other, err.to_string()))?
            .into();
        let uri = request.uri().to_string();
        let headers: Vec<(&str, &str)> = request
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
            .collect();
        let signable = SignableRequest::new(
            request.method().as_str(),
            &uri,
            headers.into_iter(),
            SignableBody::Bytes(body),
        )
        .map_err(|err| signing_failed(AwsFailure::Other, err.to_string()))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|err| signing_failed(AwsFailure::Other, err.to_string()))?
            .into_parts();
        instructions.apply_to_request_http1x(request);
        Ok(())
    }
}

fn retryable(err: &Error) -> bool {
    matches!(
        err,
        Error::Aws {
            failure: AwsFailure::Throttled | AwsFailure::NamedEndpointNetwork,
            ..
        }
    )
}

/// The newest sample of `metric` per `cluster_id`: exactly, when it is within the query's
/// lookback (5 minutes), else the newest any 5-minute step of the last day saw. The steps'
/// lookbacks join up, so no sample falls between them.
fn last_seen_query(metric: &str) -> String {
    format!(
        "max by (cluster_id) (timestamp({metric})) or max by (cluster_id) (max_over_time(timestamp({metric})[{LAST_SEEN_WINDOW}:5m]))"
    )
}

/// `application/x-www-form-urlencoded`, every byte but the unreserved ones escaped.
fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}={}",
                percent_encoding::utf8_percent_encode(value, super::UNRESERVED_ONLY)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_reads_every_cluster_in_one_expression() {
        let query = last_seen_query("node_total_hourly_cost");
        assert_eq!(query.matches("node_total_hourly_cost").count(), 2);
        assert!(query.contains("[1d:5m]"), "{query}");
        assert!(query.starts_with("max by (cluster_id) (timestamp("));
    }

    #[test]
    fn form_bodies_escape_promql() {
        assert_eq!(
            form_body(&[("query", "max by (cluster_id) (x{a=\"b\"})")]),
            "query=max%20by%20%28cluster_id%29%20%28x%7Ba%3D%22b%22%7D%29"
        );
    }

    #[tokio::test]
    async fn queries_are_signed_for_aps_in_the_workspace_region() {
        let config = aws_config::SdkConfig::builder()
            .credentials_provider(SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("AKIDTEST", "secret", None, None, "test"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let api = QueryApi::new(
            &config,
            "eu-west-1",
            "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/",
        )
        .unwrap();
        let mut request = hyper::Request::post(format!("{}/api/v1/query", api.endpoint))
            .body(Full::new(Bytes::new()))
            .unwrap();
        api.sign(&mut request, b"query=up").await.unwrap();
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/aps/aws4_request"),
            "{authorization}"
        );
        assert!(request.headers().contains_key("x-amz-date"));
    }
}
