//! An EKS cluster's API endpoint for tests: HTTPS with a certificate of its own test CA, in front
//! of a fake Kubernetes API server, that lets in only requests bearing an EKS token and checks
//! each token as aws-iam-authenticator does: `k8s-aws-v1.` and a base64url presigned
//! `sts:GetCallerIdentity` URL whose signed headers include `x-k8s-aws-id` (the cluster's name),
//! not expired, and signed with a key it knows (checked here from the SigV4 specification); then
//! it asks STS (moto) who holds that key. The authenticator calls the presigned URL itself; moto
//! tells its services apart by a request's Authorization header, which a presigned URL has not, so
//! the front sends the same GetCallerIdentity signed in a header with the same key instead. Only
//! `allowed` principals get in, as only principals with an access entry do.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::oneshot;

use super::amp::{canonical_request, parse_amz_date, sign, signature};

/// A CA and a certificate it signed for 127.0.0.1, made once per test process with openssl.
struct TestCertificates {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key_pem: String,
}

fn certificates() -> &'static TestCertificates {
    static MADE: OnceLock<TestCertificates> = OnceLock::new();
    MADE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for certificates");
        let run = |args: &[&str]| {
            let output = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("run openssl");
            assert!(
                output.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
        run(&[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=kcfed test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign",
            ],
        ]
        .concat());
        run(&[
            &["req"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
        ]
        .concat());
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write the extensions");
        run(&[
            "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext",
        ]);
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
        let server_pem = read("server.pem");
        TestCertificates {
            ca_pem: read("ca.pem"),
            chain: CertificateDer::pem_slice_iter(server_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("the server certificate"),
            key_pem: read("server.key"),
        }
    })
}

/// One request the front answered.
#[derive(Clone, Debug)]
pub struct Admission {
    pub path: String,
    /// The caller's ARN when its token was good.
    pub principal: Option<String>,
    pub refusal: Option<String>,
}

/// A running endpoint; it stops when dropped.
pub struct EksFront {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

struct Shared {
    cluster: String,
    /// `host:port` of the fake API server.
    upstream: String,
    /// STS (moto, or a proxy in front of it) as `host:port`: the only host tokens may name.
    sts: String,
    /// Secret keys by access key id.
    keys: HashMap<String, String>,
    /// Who may in; `None`: anyone with a good token.
    allowed: Mutex<Option<HashSet<String>>>,
    /// Tokens already checked, and whose they are.
    checked: Mutex<HashMap<String, String>>,
    log: Mutex<Vec<Admission>>,
}

impl EksFront {
    /// The endpoint of cluster `cluster` in front of `upstream` (`http://HOST:PORT`), checking
    /// tokens against `sts_url` with `keys` (access key id, secret).
    pub fn start(cluster: &str, upstream: &str, sts_url: &str, keys: &[(&str, &str)]) -> EksFront {
        let host = |url: &str| {
            url.trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned()
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            cluster: cluster.to_owned(),
            upstream: host(upstream),
            sts: host(sts_url),
            keys: keys
                .iter()
                .map(|(id, secret)| ((*id).to_owned(), (*secret).to_owned()))
                .collect(),
            allowed: Mutex::new(None),
            checked: Mutex::default(),
            log: Mutex::default(),
        });
        let certificates = certificates();
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                certificates.chain.clone(),
                PrivateKeyDer::from_pem_slice(certificates.key_pem.as_bytes()).expect("the key"),
            )
            .expect("a TLS server configuration");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let (shutdown, mut stopped) = oneshot::channel::<()>();
        let server_shared = Arc::clone(&shared);
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("front runtime")
                .block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("adopt");
                    loop {
                        let stream = tokio::select! {
                            _ = &mut stopped => return,
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => stream,
                                Err(_) => continue,
                            },
                        };
                        let (acceptor, shared) = (acceptor.clone(), Arc::clone(&server_shared));
                        tokio::spawn(async move {
                            let Ok(tls) = acceptor.accept(stream).await else {
                                return;
                            };
                            let service = hyper::service::service_fn(move |request| {
                                handle(Arc::clone(&shared), request)
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(tls), service)
                                .await;
                        });
                    }
                });
        });
        EksFront {
            addr,
            shared,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// `https://127.0.0.1:PORT`, as DescribeCluster gives a cluster's endpoint.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The CA's certificate in base64, as DescribeCluster gives `certificateAuthority.data`.
    pub fn certificate_authority() -> String {
        base64::engine::general_purpose::STANDARD.encode(&certificates().ca_pem)
    }

    /// Lets only these principals in from now on.
    pub fn allow_only(&self, principals: &[&str]) {
        *self.shared.allowed.lock().unwrap() =
            Some(principals.iter().map(|p| (*p).to_owned()).collect());
    }

    pub fn log(&self) -> Vec<Admission> {
        self.shared.log.lock().unwrap().clone()
    }
}

impl Drop for EksFront {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

type Answer = Response<BoxBody<Bytes, hyper::Error>>;

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Answer, std::convert::Infallible> {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let token = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let admitted = match token {
        None => Err("no bearer token".to_owned()),
        Some(token) => admit(&shared, &token).await,
    };
    shared.log.lock().unwrap().push(Admission {
        path: path.clone(),
        principal: admitted.as_ref().ok().cloned(),
        refusal: admitted.as_ref().err().cloned(),
    });
    if admitted.is_err() {
        let status = serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
        });
        let body = Full::new(Bytes::from(status.to_string()))
            .map_err(|never| match never {})
            .boxed();
        return Ok(Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("content-type", "application/json")
            .body(body)
            .expect("a valid response"));
    }
    Ok(forward(&shared.upstream, request).await)
}

/// The principal a token stands for, or why it is refused.
async fn admit(shared: &Shared, token: &str) -> Result<String, String> {
    let known = shared.checked.lock().unwrap().get(token).cloned();
    let principal = match known {
        Some(principal) => principal,
        None => {
            let principal = check_token(shared, token).await?;
            shared
                .checked
                .lock()
                .unwrap()
                .insert(token.to_owned(), principal.clone());
            principal
        }
    };
    match &*shared.allowed.lock().unwrap() {
        Some(allowed) if !allowed.contains(&principal) => {
            Err(format!("{principal} has no access entry"))
        }
        _ => Ok(principal),
    }
}

async fn check_token(shared: &Shared, token: &str) -> Result<String, String> {
    let encoded = token
        .strip_prefix("k8s-aws-v1.")
        .ok_or("not an EKS token")?;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|err| format!("not base64url without padding: {err}"))?;
    let url = String::from_utf8(url).map_err(|_| "not a URL")?;
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or("not an http(s) URL")?;
    let (host, path_and_query) = rest.split_once('/').ok_or("no path")?;
    if host != shared.sts {
        return Err(format!("the token names {host}, not STS"));
    }
    let query = path_and_query.strip_prefix('?').ok_or("no query")?;
    let params: HashMap<&str, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| {
            let value = percent_encoding::percent_decode_str(value).decode_utf8_lossy();
            (name, value.into_owned())
        })
        .collect();
    let param = |name: &str| params.get(name).cloned().ok_or(format!("no {name}"));
    if param("Action")? != "GetCallerIdentity" || param("Version")? != "2011-06-15" {
        return Err("not a GetCallerIdentity of version 2011-06-15".to_owned());
    }
    let signed_headers = param("X-Amz-SignedHeaders")?;
    if !signed_headers.split(';').any(|h| h == "x-k8s-aws-id") {
        return Err("the signature does not cover x-k8s-aws-id".to_owned());
    }
    let amz_date = param("X-Amz-Date")?;
    let signed_at = parse_amz_date(&amz_date).ok_or("malformed X-Amz-Date")?;
    let age = SystemTime::now()
        .duration_since(signed_at)
        .map_err(|_| "signed in the future")?;
    if age > Duration::from_secs(15 * 60) {
        return Err("the token is older than 15 minutes".to_owned());
    }
    let credential = param("X-Amz-Credential")?;
    let (access_key, scope) = credential.split_once('/').ok_or("malformed credential")?;
    if scope.split('/').nth(2) != Some("sts") {
        return Err(format!("signed for {scope}, not sts"));
    }
    let secret = shared
        .keys
        .get(access_key)
        .ok_or(format!("unknown access key {access_key}"))?;
    let unsigned_query: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.starts_with("X-Amz-Signature="))
        .collect();
    let headers = vec![
        ("host".to_owned(), host.to_owned()),
        ("x-k8s-aws-id".to_owned(), shared.cluster.clone()),
    ];
    let canonical = canonical_request(
        "GET",
        "/",
        Some(&unsigned_query.join("&")),
        &headers,
        &signed_headers,
        // The hash of the empty body of a GET.
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    if signature(secret, &amz_date, scope, &canonical) != param("X-Amz-Signature")? {
        return Err(format!(
            "the signature does not match the request for cluster {}",
            shared.cluster
        ));
    }
    let region = scope.split('/').nth(1).unwrap_or_default();
    caller_arn(&shared.sts, (access_key, secret), region).await
}

/// The ARN STS gives the holder of `key`.
async fn caller_arn(sts: &str, key: (&str, &str), region: &str) -> Result<String, String> {
    let stream = tokio::net::TcpStream::connect(sts)
        .await
        .map_err(|err| format!("STS unreachable: {err}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| err.to_string())?;
    tokio::spawn(connection);
    let body = b"Action=GetCallerIdentity&Version=2011-06-15".to_vec();
    let headers = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    let mut request = Request::post("/");
    for (name, value) in sign("POST", sts, "/", headers, &body, key, region, "sts") {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request");
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| err.to_string())?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| err.to_string())?
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    if !status.is_success() {
        return Err(format!("STS refused: {status} {text}"));
    }
    text.split("<Arn>")
        .nth(1)
        .and_then(|rest| rest.split("</Arn>").next())
        .map(str::to_owned)
        .ok_or(format!("STS gave no ARN: {text}"))
}

/// Passes the request to the fake API server, its answer streamed back (watches included).
async fn forward(upstream: &str, request: Request<Incoming>) -> Answer {
    let failed = |message: String| {
        Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(
                Full::new(Bytes::from(message))
                    .map_err(|never| match never {})
                    .boxed(),
            )
            .expect("a valid response")
    };
    let stream = match tokio::net::TcpStream::connect(upstream).await {
        Ok(stream) => stream,
        Err(err) => return failed(format!("connect to {upstream}: {err}")),
    };
    let (mut sender, connection) =
        match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
            Ok(handshake) => handshake,
            Err(err) => return failed(err.to_string()),
        };
    tokio::spawn(connection);
    let (mut parts, body) = request.into_parts();
    parts.headers.remove("authorization");
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .expect("a path");
    match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(response) => response.map(BodyExt::boxed),
        Err(err) => failed(err.to_string()),
    }
}
