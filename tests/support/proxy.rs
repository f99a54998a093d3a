//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1, placed between kcfed and an upstream (moto, or a
//! fake Kubernetes API server): kcfed is pointed at [`Proxy::url`] instead of the upstream, through
//! `AWS_ENDPOINT_URL` or a kubeconfig's `server:`.
//!
//! Every request is forwarded as it came (the `Host` header included, so SigV4 signatures still
//! hold) unless [`Faults`] pick a fault for it. Whether request number N gets a fault, and which one,
//! is a pure function of the seed and N, so a seed reproduces a run; N counts requests in the order
//! they arrive, which concurrent callers make only as deterministic as their own ordering.
//!
//! Errors are answered the way the upstream's protocol answers them, told apart by the
//! `Authorization` header's credential scope: the query protocol (IAM, STS) as an XML
//! `ErrorResponse` (throttling: HTTP 400 `Throttling`), S3 as an XML `Error` (throttling: HTTP 503
//! `SlowDown`), the JSON protocols (AMP, EKS) with `x-amzn-ErrorType` (throttling: HTTP 429
//! `ThrottlingException`), and requests without SigV4 (Kubernetes) as a `Status` (throttling:
//! HTTP 429 `TooManyRequests`).
//!
//! With [`Proxy::with_eks_extensions`] (or [`Proxy::serve_eks_extensions`]) the proxy answers
//! itself the EKS operations moto lacks (support::eks_extensions), applies S3 bucket policies as
//! AWS does for a caller on TLS (support::eks_extensions::bucket_policy), and forwards the rest;
//! its answers are logged, faulted and refused like forwarded ones.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::header::{
    AUTHORIZATION, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, TRANSFER_ENCODING,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::oneshot;

use super::eks_extensions::bucket_policy::{self, BucketCall, BucketPolicies, ForMoto};
use super::eks_extensions::{self, EksExtensions};
use super::moto::{query_action, signing_service, target_operation};

/// One kind of fault a request can meet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// HTTP 500 in the upstream's protocol; the upstream never sees the request.
    InternalError,
    /// HTTP 503 in the upstream's protocol; the upstream never sees the request.
    Unavailable,
    /// The upstream protocol's throttling error; the upstream never sees the request.
    Throttle,
    /// The connection closes without an answer; the upstream never sees the request.
    Reset,
    /// The upstream handles the request, then the connection closes before its answer is passed
    /// on: the caller cannot tell whether the change was made.
    LostReply,
}

impl Fault {
    pub const ALL: [Fault; 5] = [
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Throttle,
        Fault::Reset,
        Fault::LostReply,
    ];
}

/// What the proxy does to the requests it passes on.
#[derive(Clone, Debug)]
pub struct Faults {
    pub seed: u64,
    /// The share of requests that get a fault, from 0.0 (none) to 1.0 (all).
    pub rate: f64,
    /// The faults drawn from, each as likely as the others.
    pub kinds: Vec<Fault>,
    /// Waited before every request is answered, faulted or not.
    pub latency: Duration,
    /// An action the upstream is never asked: the proxy refuses it as the service would.
    pub refuse: Option<Refusal>,
}

/// An AWS error answer to every request of one action, as the service gives it at a quota.
#[derive(Clone, Debug)]
pub struct Refusal {
    /// The IAM or STS action (`CreateOpenIDConnectProvider`), or the operation of a JSON-protocol
    /// call, EKS extensions included (`CreatePodIdentityAssociation`).
    pub action: &'static str,
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Default for Faults {
    fn default() -> Self {
        Faults::none()
    }
}

impl Faults {
    /// Every request passes, at once.
    pub fn none() -> Faults {
        Faults {
            seed: 0,
            rate: 0.0,
            kinds: Fault::ALL.to_vec(),
            latency: Duration::ZERO,
            refuse: None,
        }
    }

    /// Every `action` refused as IAM refuses a call past an account quota (409 `LimitExceeded`,
    /// with `message`); the rest passes.
    pub fn iam_quota_met(action: &'static str, message: &str) -> Faults {
        Faults {
            refuse: Some(Refusal {
                action,
                status: 409,
                code: "LimitExceeded",
                message: message.to_owned(),
            }),
            ..Faults::none()
        }
    }

    /// Every kind of fault, at `rate`.
    pub fn random(seed: u64, rate: f64) -> Faults {
        Faults {
            seed,
            rate,
            ..Faults::none()
        }
    }

    /// The fault request number `index` (from 0) meets, if any.
    pub fn fault_for(&self, index: u64) -> Option<Fault> {
        if self.kinds.is_empty() {
            return None;
        }
        let draw = splitmix64(self.seed ^ splitmix64(index));
        // The top 53 bits as a fraction in [0, 1).
        let fraction = (draw >> 11) as f64 / (1_u64 << 53) as f64;
        let kind = splitmix64(draw) % self.kinds.len() as u64;
        (fraction < self.rate).then(|| self.kinds[kind as usize])
    }
}

/// A well-mixed 64-bit hash (the SplitMix64 finaliser).
fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One request as the proxy handled it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The SigV4 signing name (`iam`, `sts`, `s3`, `aps`, `eks`); `None` for Kubernetes.
    pub service: Option<String>,
    /// The `Action` of IAM and STS calls, the operation of JSON-protocol ones (`X-Amz-Target`),
    /// and of the EKS calls the extensions answer (from the method and path). `None` for the
    /// REST calls forwarded to moto, S3's included (the bucket policy calls the extensions
    /// take part in as well).
    pub action: Option<String>,
    pub method: String,
    /// The path and query.
    pub path: String,
    /// The status the caller got; `None` while in flight or when the connection was closed.
    pub status: Option<u16>,
    pub fault: Option<Fault>,
    /// From the whole request to the whole answer, the added latency included.
    pub elapsed: Option<std::time::Duration>,
}

impl Exchange {
    /// Whether the call may change something: actions other than `Get*`, `List*` and
    /// `Describe*` (and no STS call); REST calls without an action other than GET and HEAD.
    pub fn is_mutating(&self) -> bool {
        match &self.action {
            Some(action) => {
                self.service.as_deref() != Some("sts")
                    && !["Get", "List", "Describe"]
                        .iter()
                        .any(|read| action.starts_with(read))
            }
            None => !matches!(self.method.as_str(), "GET" | "HEAD"),
        }
    }
}

/// A running proxy; it stops when dropped.
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// Changes the body of an upstream's answer to a request (method, path): a test's way to make
/// an emulator answer as the real service would.
pub type Rewrite = Box<dyn Fn(&str, &str, Bytes) -> Bytes + Send + Sync>;

struct Shared {
    /// `host:port` of the upstream.
    upstream: String,
    rewrite: Option<Rewrite>,
    /// Set once the proxy serves the EKS extensions.
    eks: OnceLock<Arc<EksExtensions>>,
    state: Mutex<State>,
}

struct State {
    faults: Faults,
    /// Requests since the faults were last set: the index faults are decided by.
    since_set: u64,
    log: Vec<Exchange>,
}

impl Proxy {
    /// Starts a proxy on a free port in front of `upstream_url` (`http://HOST:PORT`). Works inside
    /// and outside a tokio runtime: the proxy has its own thread and runtime.
    pub fn start(upstream_url: &str, faults: Faults) -> Proxy {
        Proxy::start_with(upstream_url, faults, None)
    }

    /// A proxy that passes every answer through `rewrite`.
    pub fn rewriting(upstream_url: &str, rewrite: Rewrite) -> Proxy {
        Proxy::start_with(upstream_url, Faults::none(), Some(rewrite))
    }

    /// A proxy in front of moto that also answers the EKS operations moto lacks (Pod Identity
    /// associations, add-ons), with state of its own.
    pub fn with_eks_extensions(upstream_url: &str) -> Proxy {
        let proxy = Proxy::start(upstream_url, Faults::none());
        proxy.serve_eks_extensions(EksExtensions::new());
        proxy
    }

    /// From now on answers the EKS operations moto lacks from `extensions`: another proxy's, to
    /// carry its associations and add-ons over. A proxy serves one state for its whole life.
    pub fn serve_eks_extensions(&self, extensions: Arc<EksExtensions>) {
        let kept = self.shared.eks.get_or_init(|| Arc::clone(&extensions));
        assert!(
            Arc::ptr_eq(kept, &extensions),
            "this proxy already serves other EKS extensions"
        );
    }

    /// The state of the EKS extensions this proxy serves, if it serves them.
    pub fn eks_extensions(&self) -> Option<&Arc<EksExtensions>> {
        self.shared.eks.get()
    }

    fn start_with(upstream_url: &str, faults: Faults, rewrite: Option<Rewrite>) -> Proxy {
        let upstream = upstream_url
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("the proxy speaks plain http, not {upstream_url}"));
        let upstream = upstream.split('/').next().unwrap_or_default().to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking for tokio");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            upstream,
            rewrite,
            eks: OnceLock::new(),
            state: Mutex::new(State {
                faults,
                since_set: 0,
                log: Vec::new(),
            }),
        });
        let (shutdown, stopped) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime")
                .block_on(super::http::serve(listener, server_shared, handle, stopped));
        });
        Proxy {
            addr,
            shared,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` or a kubeconfig's `server:`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the faults; request numbering for fault decisions starts again from 0.
    pub fn set_faults(&self, faults: Faults) {
        let mut state = self.shared.state();
        state.faults = faults;
        state.since_set = 0;
    }

    /// How many requests arrived since the proxy started.
    pub fn requests(&self) -> usize {
        self.shared.state().log.len()
    }

    /// How many of them met a fault.
    pub fn injected(&self) -> usize {
        let state = self.shared.state();
        state.log.iter().filter(|e| e.fault.is_some()).count()
    }

    /// Every request since the proxy started, in order of arrival.
    pub fn log(&self) -> Vec<Exchange> {
        self.shared.state().log.clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

impl Shared {
    /// A panic in one test must not turn every later request into a second one.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Returned by the service to make hyper close the connection without an answer.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by the fault proxy")
    }
}

impl std::error::Error for Closed {}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Whole>, Closed> {
    let (parts, body) = request.into_parts();
    let body = read_whole(body).await.map_err(|_| Closed)?;
    let received = std::time::Instant::now();
    let service = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(signing_service)
        .map(str::to_owned);
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let method = parts.method.to_string();
    let action = match service.as_deref() {
        Some("iam" | "sts") => query_action(&String::from_utf8_lossy(&body)),
        // REST-JSON: only the operations the extensions answer are named.
        Some("eks") => eks_extensions::operation(&method, &path),
        _ => parts
            .headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
            .and_then(target_operation),
    };
    let (entry, fault, latency, refusal) = {
        let mut state = shared.state();
        let refusal = state
            .faults
            .refuse
            .clone()
            .filter(|refusal| action.as_deref() == Some(refusal.action));
        let fault = state.faults.fault_for(state.since_set);
        state.since_set += 1;
        state.log.push(Exchange {
            service: service.clone(),
            action,
            method: parts.method.to_string(),
            path: path.clone(),
            status: None,
            fault,
            elapsed: None,
        });
        (state.log.len() - 1, fault, state.faults.latency, refusal)
    };
    tokio::time::sleep(latency).await;

    let protocol = Protocol::of(service.as_deref());
    let response = match (fault, refusal) {
        (_, Some(refusal)) => protocol.answer(
            StatusCode::from_u16(refusal.status).expect("a refusal has a valid status"),
            refusal.code,
            &refusal.message,
        ),
        (fault, None) => match fault {
            Some(Fault::Reset) => return Err(Closed),
            Some(Fault::InternalError) => protocol.error(StatusCode::INTERNAL_SERVER_ERROR),
            Some(Fault::Unavailable) => protocol.error(StatusCode::SERVICE_UNAVAILABLE),
            Some(Fault::Throttle) => protocol.throttle(),
            Some(Fault::LostReply) => {
                let _ = upstream_answer(&shared, service.as_deref(), parts, body, &path).await;
                return Err(Closed);
            }
            None => upstream_answer(&shared, service.as_deref(), parts, body, &path)
                .await
                .unwrap_or_else(|message| {
                    Response::builder()
                        .status(StatusCode::BAD_GATEWAY)
                        .body(Whole::new(Bytes::from(message)))
                        .expect("a status and a body make a valid response")
                }),
        },
    };
    let mut state = shared.state();
    state.log[entry].status = Some(response.status().as_u16());
    state.log[entry].elapsed = Some(received.elapsed());
    drop(state);
    Ok(response)
}

/// What the upstream answers, rewritten; or the EKS extensions' answer to what they serve.
async fn upstream_answer(
    shared: &Shared,
    service: Option<&str>,
    parts: hyper::http::request::Parts,
    body: Bytes,
    path: &str,
) -> Result<Response<Whole>, String> {
    let method = parts.method.to_string();
    let eks = shared.eks.get().filter(|_| service == Some("eks"));
    if let Some(eks) = eks
        && let Some(route) = eks_extensions::route(&method, path)
    {
        return serve_eks(&shared.upstream, eks, &route, &parts, &body).await;
    }
    if let Some(extensions) = shared.eks.get().filter(|_| service == Some("s3"))
        && let Some(route) = bucket_policy::route(&method, path)
    {
        let policies = extensions.bucket_policies();
        return serve_bucket_policy(&shared.upstream, policies, &route, parts, body, path).await;
    }
    let response = forward(&shared.upstream, parts, body, path).await?;
    if eks.is_none() && shared.rewrite.is_none() {
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    let mut body = body.0.unwrap_or_default();
    if eks.is_some() {
        body = eks_extensions::unique_issuer(body);
    }
    if let Some(rewrite) = &shared.rewrite {
        body = rewrite(&method, path, body);
    }
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Whole::new(body)))
}

/// The extensions' answer to `route`, once moto was asked for its cluster (a DescribeCluster
/// with the caller's headers: moto checks no signature, and the credentials name the account).
/// An answer of moto's other than the cluster or its absence is passed on as it is.
async fn serve_eks(
    upstream: &str,
    eks: &EksExtensions,
    route: &eks_extensions::Route,
    parts: &hyper::http::request::Parts,
    body: &Bytes,
) -> Result<Response<Whole>, String> {
    let described = match route.cluster() {
        None => None,
        Some(cluster) => {
            let path = eks_extensions::describe_cluster_path(cluster);
            let (mut describe, ()) = Request::get(&path)
                .body(())
                .map_err(|err| format!("build DescribeCluster: {err}"))?
                .into_parts();
            describe.headers = parts.headers.clone();
            describe.headers.remove(CONTENT_LENGTH);
            describe.headers.remove(CONTENT_TYPE);
            let answer = forward(upstream, describe, Bytes::new(), &path).await?;
            match answer.status() {
                StatusCode::OK => answer.into_body().0,
                StatusCode::NOT_FOUND => None,
                _ => return Ok(answer),
            }
        }
    };
    let reply = eks.serve(route, described.as_deref(), body);
    let mut response = Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, "application/json")
        .header("x-amzn-requestid", "00000000-0000-0000-0000-e45e00000000");
    if let Some(error_type) = reply.error_type {
        response = response.header("x-amzn-errortype", error_type);
    }
    response
        .body(Whole::new(reply.body.to_string()))
        .map_err(|err| format!("build the EKS extensions' answer: {err}"))
}

/// A bucket policy call as AWS answers a caller on TLS: moto is given a PutBucketPolicy's policy
/// without its TLS-only statements (a DeleteBucketPolicy when none is left) and the caller gets
/// S3's 204; GetBucketPolicy answers the policy as put, once moto's own answer tells the bucket
/// is there; a DeleteBucketPolicy or DeleteBucket that moto carries out forgets it.
async fn serve_bucket_policy(
    upstream: &str,
    policies: &BucketPolicies,
    route: &bucket_policy::BucketRoute,
    mut parts: hyper::http::request::Parts,
    body: Bytes,
    path: &str,
) -> Result<Response<Whole>, String> {
    let bucket = route.bucket.as_str();
    match route.call {
        BucketCall::PutBucketPolicy => {
            let answer = match bucket_policy::for_moto(&body) {
                ForMoto::AsGiven => forward(upstream, parts, body.clone(), path).await?,
                ForMoto::Put(policy) => {
                    bucket_policy::restate_body(&mut parts.headers, &policy);
                    forward(upstream, parts, policy, path).await?
                }
                ForMoto::Delete => {
                    parts.method = hyper::Method::DELETE;
                    bucket_policy::restate_body(&mut parts.headers, &[]);
                    forward(upstream, parts, Bytes::new(), path).await?
                }
            };
            if !answer.status().is_success() {
                return Ok(answer);
            }
            policies.keep(bucket, body);
            let (mut head, _) = answer.into_parts();
            head.status = StatusCode::NO_CONTENT;
            head.headers.remove(CONTENT_LENGTH);
            head.headers.remove(CONTENT_TYPE);
            Ok(Response::from_parts(head, Whole(None)))
        }
        BucketCall::GetBucketPolicy => {
            let answer = forward(upstream, parts, body, path).await?;
            let moto_has_bucket = answer.status() == StatusCode::OK
                || answer.body().0.as_ref().is_some_and(|error| {
                    String::from_utf8_lossy(error).contains("<Code>NoSuchBucketPolicy</Code>")
                });
            let Some(policy) = policies.get(bucket).filter(|_| moto_has_bucket) else {
                return Ok(answer);
            };
            let (mut head, _) = answer.into_parts();
            head.status = StatusCode::OK;
            head.headers.remove(CONTENT_LENGTH);
            head.headers
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(Response::from_parts(head, Whole::new(policy)))
        }
        BucketCall::DeleteBucketPolicy | BucketCall::DeleteBucket => {
            let answer = forward(upstream, parts, body, path).await?;
            if answer.status().is_success() {
                policies.forget(bucket);
            }
            Ok(answer)
        }
    }
}

/// Sends the request to the upstream on a connection of its own and reads the whole answer.
async fn forward(
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
    path: &str,
) -> Result<Response<Whole>, String> {
    let stream = tokio::net::TcpStream::connect(upstream)
        .await
        .map_err(|err| format!("connect to {upstream}: {err}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake with {upstream}: {err}"))?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(parts.method)
        .uri(path)
        .body(Whole::new(body))
        .map_err(|err| format!("rebuild the request: {err}"))?;
    *request.headers_mut() = parts.headers;
    // The body was read whole: it goes on with a length instead of in chunks.
    request.headers_mut().remove(TRANSFER_ENCODING);
    request.headers_mut().remove(CONNECTION);
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("{upstream} did not answer: {err}"))?;
    let (mut parts, body) = response.into_parts();
    let body = read_whole(body)
        .await
        .map_err(|err| format!("read the answer of {upstream}: {err}"))?;
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.remove(CONNECTION);
    Ok(Response::from_parts(parts, Whole::new(body)))
}

/// A body already read whole, sent in one frame.
struct Whole(Option<Bytes>);

impl Whole {
    fn new(bytes: impl Into<Bytes>) -> Whole {
        Whole(Some(bytes.into()))
    }
}

impl Body for Whole {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.take().map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let length = self.0.as_ref().map_or(0, |bytes| bytes.len() as u64);
        hyper::body::SizeHint::with_exact(length)
    }
}

async fn read_whole(mut body: Incoming) -> Result<Bytes, hyper::Error> {
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Some(data) = frame?.data_ref() {
            bytes.extend_from_slice(data);
        }
    }
    Ok(Bytes::from(bytes))
}

/// How the upstream words its errors.
#[derive(Clone, Copy)]
enum Protocol {
    /// IAM, STS.
    Query,
    S3,
    /// AMP, EKS (REST-JSON) and any other SigV4 service.
    Json,
    Kubernetes,
}

impl Protocol {
    fn of(service: Option<&str>) -> Protocol {
        match service {
            Some("iam" | "sts") => Protocol::Query,
            Some("s3") => Protocol::S3,
            Some(_) => Protocol::Json,
            None => Protocol::Kubernetes,
        }
    }

    fn throttle(self) -> Response<Whole> {
        match self {
            Protocol::Query => self.answer(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
            Protocol::S3 => self.answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "SlowDown",
                "Please reduce your request rate.",
            ),
            Protocol::Json => self.answer(
                StatusCode::TOO_MANY_REQUESTS,
                "ThrottlingException",
                "Rate exceeded",
            ),
            Protocol::Kubernetes => {
                let mut response = self.answer(
                    StatusCode::TOO_MANY_REQUESTS,
                    "TooManyRequests",
                    "the server has received too many requests and has asked us to try again later",
                );
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                response
            }
        }
    }

    fn error(self, status: StatusCode) -> Response<Whole> {
        let code = match (self, status) {
            (Protocol::Kubernetes, StatusCode::INTERNAL_SERVER_ERROR) => "InternalError",
            (Protocol::Json, StatusCode::SERVICE_UNAVAILABLE) => "ServiceUnavailableException",
            (Protocol::S3, StatusCode::INTERNAL_SERVER_ERROR) => "InternalError",
            (_, StatusCode::INTERNAL_SERVER_ERROR) => "InternalFailure",
            _ => "ServiceUnavailable",
        };
        self.answer(status, code, "injected by the fault proxy")
    }

    fn answer(self, status: StatusCode, code: &str, message: &str) -> Response<Whole> {
        let request_id = "00000000-0000-0000-0000-fa0175000000";
        let (content_type, body, error_type) = match self {
            Protocol::Query => {
                let kind = if status.is_server_error() {
                    "Receiver"
                } else {
                    "Sender"
                };
                let body = format!(
                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
                     <Message>{message}</Message></Error><RequestId>{request_id}</RequestId>\
                     </ErrorResponse>"
                );
                ("text/xml", body, None)
            }
            Protocol::S3 => {
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                     <Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
                );
                ("application/xml", body, None)
            }
            Protocol::Json => {
                let body = json!({ "message": message }).to_string();
                ("application/json", body, Some(code))
            }
            Protocol::Kubernetes => {
                let body = json!({
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Failure",
                    "message": message,
                    "reason": code,
                    "code": status.as_u16(),
                })
                .to_string();
                ("application/json", body, None)
            }
        };
        let mut response = Response::builder()
            .status(status)
            .header(CONTENT_TYPE, content_type)
            .header("x-amzn-requestid", request_id);
        if let Some(error_type) = error_type {
            response = response.header("x-amzn-errortype", error_type);
        }
        response
            .body(Whole::new(Bytes::from(body)))
            .expect("a status, headers and a body make a valid response")
    }
}
