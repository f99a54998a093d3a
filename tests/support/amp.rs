//! AMP's data plane for tests: a real Prometheus (query API, remote-write receiver) behind a
//! stand-in that serves AMP's paths (`/workspaces/WS/api/v1/query`, `.../remote_write`) and, as
//! AMP does, refuses every request that is not SigV4-signed for `aps` in the workspace's region
//! with a key it knows. Its SigV4 check is written here from the specification, apart from the
//! AWS SDK's signer that kcfed uses, so that the two check each other.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use hmac::{Hmac, KeyInit, Mac};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

/// The real Prometheus that `scripts/test` installs.
pub fn prometheus_binary() -> PathBuf {
    std::env::var_os("KCFED_TEST_PROMETHEUS")
        .expect("KCFED_TEST_PROMETHEUS is not set: run the tests through scripts/test, which installs Prometheus")
        .into()
}

/// One request the stand-in answered.
#[derive(Clone, Debug)]
pub struct Served {
    pub path: String,
    pub status: u16,
    /// Why it was refused, when it was.
    pub refusal: Option<String>,
}

/// A running data plane; Prometheus and the stand-in stop when dropped.
pub struct AmpDataPlane {
    addr: SocketAddr,
    shared: Arc<Shared>,
    prometheus: Child,
    _data: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

struct Shared {
    region: String,
    /// Secret keys by access key id.
    keys: Mutex<HashMap<String, String>>,
    prometheus: SocketAddr,
    log: Mutex<Vec<Served>>,
}

impl AmpDataPlane {
    /// Prometheus on a free port with an empty database, and the stand-in for workspaces in
    /// `region` in front of it.
    pub fn start(region: &str) -> AmpDataPlane {
        let data = tempfile::tempdir().expect("temp dir for Prometheus");
        let prometheus_addr = free_port();
        let prometheus = Command::new(prometheus_binary())
            .arg(format!("--storage.tsdb.path={}", data.path().display()))
            .arg(format!("--web.listen-address={prometheus_addr}"))
            .arg("--config.file=/dev/null")
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Prometheus");
        wait_until_ready(prometheus_addr);

        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(Shared {
            region: region.to_owned(),
            keys: Mutex::default(),
            prometheus: prometheus_addr,
            log: Mutex::default(),
        });
        let (shutdown, stopped) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("stand-in runtime")
                .block_on(super::http::serve(listener, server_shared, handle, stopped));
        });
        AmpDataPlane {
            addr,
            shared,
            prometheus,
            _data: data,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// Accepts signatures made with this key pair.
    pub fn trust(&self, access_key_id: &str, secret_access_key: &str) {
        self.shared
            .keys
            .lock()
            .unwrap()
            .insert(access_key_id.to_owned(), secret_access_key.to_owned());
    }

    /// For a proxy in front of moto: every DescribeWorkspace answer names this plane as the
    /// workspace's `prometheusEndpoint`, as AMP names its own query API.
    pub fn workspace_endpoints(&self) -> super::proxy::Rewrite {
        let base = format!("http://{}", self.addr);
        Box::new(move |method: &str, path: &str, body: Bytes| {
            let describes_workspace = method == "GET"
                && path.starts_with("/workspaces/")
                && path.matches('/').count() == 2;
            let Some(mut answer) = describes_workspace
                .then(|| serde_json::from_slice::<serde_json::Value>(&body).ok())
                .flatten()
            else {
                return body;
            };
            let id = answer["workspace"]["workspaceId"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            answer["workspace"]["prometheusEndpoint"] =
                serde_json::Value::String(format!("{base}/workspaces/{id}/"));
            serde_json::to_vec(&answer).expect("JSON").into()
        })
    }

    pub fn log(&self) -> Vec<Served> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Remote-writes one sample of `metric` with `labels` at `at`, signed with this key pair
    /// in `region`, as a cluster's SigV4 proxy does; returns the stand-in's status.
    pub fn remote_write(
        &self,
        workspace_id: &str,
        key: (&str, &str),
        region: &str,
        metric: &str,
        labels: &[(&str, &str)],
        at: SystemTime,
    ) -> u16 {
        let millis = at
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as i64;
        let body = snap::raw::Encoder::new()
            .compress_vec(&write_request(metric, labels, 1.0, millis))
            .expect("snappy");
        let path = format!("/workspaces/{workspace_id}/api/v1/remote_write");
        let headers = vec![
            ("content-encoding".to_owned(), "snappy".to_owned()),
            (
                "content-type".to_owned(),
                "application/x-protobuf".to_owned(),
            ),
            (
                "x-prometheus-remote-write-version".to_owned(),
                "0.1.0".to_owned(),
            ),
        ];
        let host = self.addr.to_string();
        let signed = sign("POST", &host, &path, headers, &body, key, region, "aps");
        self.post(&path, signed, body)
    }

    /// POSTs `body` with exactly these headers (none signs it unless given); returns the status.
    pub fn post(&self, path: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> u16 {
        post(self.addr, path, headers, body)
    }
}

impl Drop for AmpDataPlane {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
        let _ = self.prometheus.kill();
        let _ = self.prometheus.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
    listener.local_addr().expect("listener address")
}

fn wait_until_ready(addr: SocketAddr) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = stream.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n");
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("Prometheus at {addr} did not become ready within 30 s");
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<http_body_util::Full<Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt;
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let route = path
        .strip_prefix("/workspaces/")
        .and_then(|rest| rest.split_once('/'))
        .and_then(|(_, api)| match api {
            "api/v1/query" => Some("/api/v1/query"),
            "api/v1/remote_write" => Some("/api/v1/write"),
            _ => None,
        });
    let refusal = match route {
        None => Some((StatusCode::NOT_FOUND, format!("no AMP API at {path}"))),
        Some(_) => verify(&shared, &parts, &body)
            .err()
            .map(|why| (StatusCode::FORBIDDEN, why)),
    };
    let response = match (refusal.clone(), route) {
        (Some((status, why)), _) => answer(status, Bytes::from(format!("{{\"message\":{why:?}}}"))),
        (None, Some(target)) => forward(shared.prometheus, &parts, target, body).await,
        (None, None) => unreachable!("unrouted requests are refused"),
    };
    shared.log.lock().unwrap().push(Served {
        path,
        status: response.status().as_u16(),
        refusal: refusal.map(|(_, why)| why),
    });
    Ok(response)
}

fn answer(status: StatusCode, body: Bytes) -> Response<http_body_util::Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(body))
        .expect("a valid response")
}

/// Passes the request on to Prometheus's own path for it.
async fn forward(
    prometheus: SocketAddr,
    parts: &hyper::http::request::Parts,
    target: &str,
    body: Bytes,
) -> Response<http_body_util::Full<Bytes>> {
    use http_body_util::BodyExt;
    let stream = tokio::net::TcpStream::connect(prometheus)
        .await
        .expect("connect to Prometheus");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake with Prometheus");
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(parts.method.clone())
        .uri(target)
        .header("host", prometheus.to_string())
        .body(http_body_util::Full::new(body))
        .expect("a valid request");
    for name in [
        "content-type",
        "content-encoding",
        "x-prometheus-remote-write-version",
    ] {
        if let Some(value) = parts.headers.get(name) {
            request.headers_mut().insert(name, value.clone());
        }
    }
    let response = sender
        .send_request(request)
        .await
        .expect("Prometheus answers");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("read Prometheus's answer")
        .to_bytes();
    answer(status, body)
}

// ---------------------------------------------------------------------------------------------
// SigV4, from the specification

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The signature of a canonical request, for `scope` = `DATE/REGION/SERVICE/aws4_request`.
pub fn signature(secret: &str, amz_date: &str, scope: &str, canonical_request: &str) -> String {
    let mut parts = scope.split('/');
    let (date, region, service) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, service);
    let key = hmac(&key, "aws4_request");
    hex(&hmac(&key, &string_to_sign))
}

/// Unreserved characters stay, every other byte is %XX (uppercase).
fn uri_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn canonical_query(query: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (uri_encode(&decode(name)), uri_encode(&decode(value)))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn canonical_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    headers: &[(String, String)],
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|name| {
            let values: Vec<&str> = headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.trim())
                .collect();
            format!("{name}:{}\n", values.join(","))
        })
        .collect();
    format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        canonical_query(query)
    )
}

/// Checks the request as AMP does: a SigV4 `Authorization` for `aps` in the workspace's region,
/// by a known key, fresh, whose signature covers the host, the date and the body.
fn verify(shared: &Shared, parts: &hyper::http::request::Parts, body: &[u8]) -> Result<(), String> {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let authorization = header("authorization").ok_or("the request is not signed")?;
    let fields = authorization
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or("not a SigV4 signature")?;
    let field = |name: &str| {
        fields
            .split(", ")
            .find_map(|f| f.trim().strip_prefix(name))
            .map(str::to_owned)
            .ok_or(format!("the signature has no {name}"))
    };
    let credential = field("Credential=")?;
    let signed_headers = field("SignedHeaders=")?;
    let given = field("Signature=")?;
    let (access_key, scope) = credential.split_once('/').ok_or("malformed credential")?;
    let scope_parts: Vec<&str> = scope.split('/').collect();
    if scope_parts.len() != 4 || scope_parts[3] != "aws4_request" {
        return Err(format!("malformed credential scope {scope}"));
    }
    if scope_parts[2] != "aps" {
        return Err(format!("signed for service {}, not aps", scope_parts[2]));
    }
    if scope_parts[1] != shared.region {
        return Err(format!(
            "signed for region {}, not the workspace's {}",
            scope_parts[1], shared.region
        ));
    }
    for required in ["host", "x-amz-date"] {
        if !signed_headers.split(';').any(|h| h == required) {
            return Err(format!("the signature does not cover {required}"));
        }
    }
    let amz_date = header("x-amz-date").ok_or("no x-amz-date")?;
    if !amz_date.starts_with(scope_parts[0]) {
        return Err("x-amz-date is not the scope's date".to_owned());
    }
    let signed_at = parse_amz_date(&amz_date).ok_or("malformed x-amz-date")?;
    let skew = SystemTime::now()
        .duration_since(signed_at)
        .unwrap_or_else(|err| err.duration());
    if skew > Duration::from_secs(300) {
        return Err("the signature is more than 5 minutes off".to_owned());
    }
    let secret = shared
        .keys
        .lock()
        .unwrap()
        .get(access_key)
        .cloned()
        .ok_or(format!("unknown access key {access_key}"))?;
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let payload_hash = header("x-amz-content-sha256").unwrap_or_else(|| sha256_hex(body));
    let canonical = canonical_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &headers,
        &signed_headers,
        &payload_hash,
    );
    if signature(&secret, &amz_date, scope, &canonical) != given {
        return Err("the signature does not match the request".to_owned());
    }
    Ok(())
}

/// `20261201T225656Z` as a time.
pub fn parse_amz_date(value: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| value.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let seconds = days * 86400 + hour * 3600 + minute * 60 + second;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).ok()?))
}

/// Signs a request the way a SigV4 proxy does: the headers given plus host and x-amz-date.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    host: &str,
    path: &str,
    mut headers: Vec<(String, String)>,
    body: &[u8],
    (access_key, secret): (&str, &str),
    region: &str,
    service: &str,
) -> Vec<(String, String)> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs();
    let amz_date = amz_date(now);
    let scope = format!("{}/{region}/{service}/aws4_request", &amz_date[..8]);
    headers.push(("host".to_owned(), host.to_owned()));
    headers.push(("x-amz-date".to_owned(), amz_date.clone()));
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = canonical_request(
        method,
        path,
        None,
        &headers,
        &signed_headers,
        &sha256_hex(body),
    );
    let signature = signature(secret, &amz_date, &scope, &canonical);
    headers.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
    ));
    headers
}

/// Seconds since the epoch as `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(seconds: u64) -> String {
    let days = (seconds / 86400) as i64;
    let rest = seconds % 86400;
    // The civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rest / 3600,
        (rest % 3600) / 60,
        rest % 60
    )
}

/// A blocking HTTP/1.0 POST; returns the status.
fn post(addr: SocketAddr, path: &str, headers: Vec<(String, String)>, body: Vec<u8>) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the stand-in");
    let mut head = format!("POST {path} HTTP/1.0\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("send the request");
    stream.write_all(&body).expect("send the body");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Remote write's protobuf: WriteRequest { repeated TimeSeries timeseries = 1; }
// TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
// Label { string name = 1; string value = 2; }  Sample { double value = 1; int64 timestamp = 2; }

fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn length_delimited(field: u64, bytes: &[u8], out: &mut Vec<u8>) {
    varint((field << 3) | 2, out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

fn write_request(metric: &str, labels: &[(&str, &str)], value: f64, millis: i64) -> Vec<u8> {
    let mut all: Vec<(&str, &str)> = vec![("__name__", metric)];
    all.extend_from_slice(labels);
    // Prometheus wants the labels sorted by name.
    all.sort();
    let mut series = Vec::new();
    for (name, label_value) in all {
        let mut label = Vec::new();
        length_delimited(1, name.as_bytes(), &mut label);
        length_delimited(2, label_value.as_bytes(), &mut label);
        length_delimited(1, &label, &mut series);
    }
    let mut sample = Vec::new();
    varint((1 << 3) | 1, &mut sample);
    sample.extend_from_slice(&value.to_le_bytes());
    varint(2 << 3, &mut sample);
    varint(millis as u64, &mut sample);
    length_delimited(2, &sample, &mut series);
    let mut request = Vec::new();
    length_delimited(1, &series, &mut request);
    request
}
