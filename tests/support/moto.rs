//! moto, a local AWS: one server per test binary, and a fresh AWS account for each test on it, so tests
//! share the server without seeing each other's resources. As on AWS, S3 bucket names are the exception:
//! they are global, so a bucket name a test creates must be unique, e.g. by holding the account id.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use base64::Engine;
use serde_json::Value;
use tempfile::NamedTempFile;

/// Runs moto_server (its arguments) until stdin reaches EOF, which is when the test process holding the
/// pipe's other end exits, however it exits. If moto stops by itself, prints the end of its log and fails.
const LAUNCHER: &str = r#"
import subprocess, sys, tempfile, threading
log = tempfile.TemporaryFile()
moto = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
eof = threading.Event()
def stop_at_eof():
    sys.stdin.buffer.read()
    eof.set()
    moto.terminate()
threading.Thread(target=stop_at_eof, daemon=True).start()
moto.wait()
if not eof.is_set():
    log.seek(0)
    sys.stderr.buffer.write(log.read()[-4000:])
    sys.exit(1)
"#;

/// moto_server for enforced authorization, without its signature check: moto 5.2.5 recomputes a
/// signature over the request as it re-encodes it from what it parsed, not over the bytes sent,
/// so signed GETs to REST-JSON services (EKS, AMP) and IAM form bodies the Rust SDK encodes
/// otherwise than Python all fail with SignatureDoesNotMatch. The access key id is still checked.
const WITHOUT_SIGNATURE_CHECK: &str = r#"
import sys
from moto.iam import access_control
from moto.server import main
access_control.IAMRequestBase.check_signature = lambda self: None
sys.exit(main(sys.argv[1:]))
"#;

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Moto {
    endpoint_url: String,
    launcher: Child,
    recording: Option<NamedTempFile>,
}

impl Moto {
    /// The server of this test binary, started on first use.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start(None, false))
    }

    /// A server of its own that records every request; it stops when dropped.
    pub fn start_recording() -> Moto {
        let recording = NamedTempFile::new().expect("create the moto recording file");
        Moto::start(Some(recording), false)
    }

    /// A server of its own that enforces IAM authorization, as AWS does: every request must be
    /// signed by a known identity (an IAM user's access key) whose policies allow the action.
    /// Set-up and inspection run inside [`Moto::without_auth`]. It records every request, like
    /// [`Moto::start_recording`], and stops when dropped.
    pub fn start_enforcing_auth() -> Moto {
        let recording = NamedTempFile::new().expect("create the moto recording file");
        Moto::start(Some(recording), true)
    }

    fn start(recording: Option<NamedTempFile>, enforce_auth: bool) -> Moto {
        let moto_server = std::env::var_os("KCFED_TEST_MOTO_SERVER")
            .expect("KCFED_TEST_MOTO_SERVER is not set: run the tests through scripts/test, which installs moto");
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("find a free port")
            .port();
        let mut command = Command::new("python3");
        command.args(["-c", LAUNCHER]);
        if enforce_auth {
            // moto_server's own interpreter, to patch moto before it serves.
            let python = std::path::Path::new(&moto_server).with_file_name("python3");
            command.arg(python).args(["-c", WITHOUT_SIGNATURE_CHECK]);
        } else {
            command.arg(moto_server);
        }
        command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            // As on AWS, another account's bucket answers 403 instead of serving its settings.
            .env("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if enforce_auth {
            // moto authorizes every request once this many have been served.
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", "0");
        }
        if let Some(file) = &recording {
            command
                .env("MOTO_ENABLE_RECORDING", "true")
                .env("MOTO_RECORDER_FILEPATH", file.path());
        }
        let mut launcher = command.spawn().expect("start python3 to run moto_server");

        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = launcher.try_wait().expect("check on moto_server") {
                let mut log = String::new();
                if let Some(mut stderr) = launcher.stderr.take() {
                    let _ = stderr.read_to_string(&mut log);
                }
                panic!("moto_server stopped ({status}):\n{log}");
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "moto_server did not answer on port {port} within {START_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            endpoint_url: format!("http://127.0.0.1:{port}"),
            launcher,
            recording,
        }
    }

    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// Runs `f` with authorization lifted (on a server from [`Moto::start_enforcing_auth`]), for
    /// what the test itself creates or reads back; enforcement resumes when `f` returns.
    pub fn without_auth<T>(&self, f: impl FnOnce() -> T) -> T {
        self.set_initial_no_auth_action_count("inf");
        let result = f();
        self.set_initial_no_auth_action_count("0");
        result
    }

    /// moto's `/moto-api/reset-auth`: the number of requests served before authorization starts,
    /// counted from now.
    fn set_initial_no_auth_action_count(&self, count: &str) {
        let address = self.endpoint_url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).expect("connect to moto");
        write!(
            stream,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{count}",
            count.len()
        )
        .expect("send reset-auth to moto");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read moto's answer to reset-auth");
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "moto refused reset-auth: {answer}"
        );
    }

    /// A new, empty AWS account: credentials of a role assumed in it, which moto maps to that account.
    /// Synchronous so that plain and tokio tests alike can call it: the call to STS runs on a thread and
    /// runtime of its own.
    pub fn new_account(&self) -> AwsAccount {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let account_id = format!(
            "1{:05}{:06}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let endpoint_url = self.endpoint_url.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build a tokio runtime")
                .block_on(assume_test_role(endpoint_url, account_id))
        })
        .join()
        .expect("assume a role in a new account")
    }

    /// Every request this (recording) server received, in order.
    pub fn recorded_calls(&self) -> Vec<RecordedCall> {
        let recording = self
            .recording
            .as_ref()
            .expect("only a server from Moto::start_recording or start_enforcing_auth records");
        fs::read_to_string(recording.path())
            .expect("read the moto recording")
            .lines()
            .map(RecordedCall::parse)
            .collect()
    }

    /// The recorded calls that may change state.
    pub fn mutating_calls(&self) -> Vec<RecordedCall> {
        self.recorded_calls()
            .into_iter()
            .filter(RecordedCall::is_mutating)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        // The launcher stops moto when its stdin closes.
        drop(self.launcher.stdin.take());
        let _ = self.launcher.wait();
    }
}

async fn assume_test_role(endpoint_url: String, account_id: String) -> AwsAccount {
    let base_credentials = Credentials::new("kcfed-test", "kcfed-test", None, None, "kcfed-test");
    let config = sdk_config(&endpoint_url, "us-east-1", base_credentials).await;
    let assumed = aws_sdk_sts::Client::new(&config)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account_id}:role/kcfed-test"))
        .role_session_name("kcfed-test")
        .send()
        .await
        .expect("AssumeRole on moto");
    let credentials = assumed.credentials.expect("AssumeRole returns credentials");
    AwsAccount {
        account_id,
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: credentials.session_token,
        endpoint_url,
    }
}

async fn sdk_config(endpoint_url: &str, region: &str, credentials: Credentials) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint_url)
        .credentials_provider(credentials)
        .load()
        .await
}

/// An AWS account of its own on moto, and credentials for it.
#[derive(Clone, Debug)]
pub struct AwsAccount {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    pub endpoint_url: String,
}

impl AwsAccount {
    /// The environment that points a process (kcfed) at this account, for `Command::envs`; the
    /// developer's own AWS configuration files and instance metadata stay out of it.
    pub fn envs(&self, region: &str) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint_url.as_str()),
            ("AWS_REGION", region),
            ("AWS_ACCESS_KEY_ID", &self.access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &self.secret_access_key),
            ("AWS_SESSION_TOKEN", &self.session_token),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// An SDK configuration for this account, for tests to create and read resources themselves.
    pub async fn sdk_config(&self, region: &str) -> SdkConfig {
        let credentials = Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            Some(self.session_token.clone()),
            None,
            "kcfed-test",
        );
        sdk_config(&self.endpoint_url, region, credentials).await
    }
}

/// One request as moto recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedCall {
    /// The signing name: `iam`, `sts`, `s3`, `aps` (AMP), `eks`.
    pub service: String,
    /// The `Action` of the query-protocol services (IAM, STS) and the operation of the JSON
    /// ones (Service Quotas, from `X-Amz-Target`); REST services have none.
    pub action: Option<String>,
    pub method: String,
    /// The path and query of the URL.
    pub path: String,
    /// The access key id the request was signed with.
    pub access_key_id: Option<String>,
}

impl RecordedCall {
    /// Parses one line of moto's recording: `{"method", "url", "headers", "body", "body_encoded"}`.
    fn parse(line: &str) -> RecordedCall {
        let entry: Value = serde_json::from_str(line).expect("a moto recording line is JSON");
        let header = |name: &str| {
            let headers = entry["headers"].as_object().expect("recorded headers");
            headers
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .and_then(|(_, value)| value.as_str())
        };
        let service = header("authorization")
            .and_then(signing_service)
            .unwrap_or_default()
            .to_owned();
        let action = match service.as_str() {
            "iam" | "sts" => form_action(&entry),
            _ => header("x-amz-target").and_then(target_operation),
        };
        let url = entry["url"].as_str().expect("recorded url");
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path = after_scheme
            .find('/')
            .map_or("/", |start| &after_scheme[start..])
            .to_owned();
        let method = entry["method"]
            .as_str()
            .expect("recorded method")
            .to_owned();
        let access_key_id = header("authorization")
            .and_then(|value| value.split_once("Credential="))
            .and_then(|(_, rest)| rest.split('/').next())
            .map(str::to_owned);
        RecordedCall {
            service,
            action,
            method,
            path,
            access_key_id,
        }
    }

    /// REST calls other than GET and HEAD; IAM actions other than Get* and List*. STS changes nothing.
    pub fn is_mutating(&self) -> bool {
        match &self.action {
            Some(action) => {
                self.service != "sts" && !action.starts_with("Get") && !action.starts_with("List")
            }
            None => !matches!(self.method.as_str(), "GET" | "HEAD"),
        }
    }
}

/// The `Action=` of a recorded form body, which moto stores base64-encoded.
fn form_action(entry: &Value) -> Option<String> {
    let body = entry["body"].as_str()?;
    let body = if entry["body_encoded"] == true {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .ok()?,
        )
        .ok()?
    } else {
        body.to_owned()
    };
    query_action(&body)
}

/// The service a request is signed for, from its `Authorization` header's credential scope
/// (`AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request, ...`): `iam`, `sts`,
/// `s3`, `aps` (AMP), `eks`. `None` for anything not signed with SigV4.
pub fn signing_service(authorization: &str) -> Option<&str> {
    authorization
        .split("Credential=")
        .nth(1)
        .and_then(|scope| scope.split('/').nth(3))
}

/// The operation a JSON-protocol request names in its `X-Amz-Target` header
/// (`ServiceQuotasV20190624.GetServiceQuota`).
pub fn target_operation(target: &str) -> Option<String> {
    target
        .rsplit_once('.')
        .map(|(_, operation)| operation.to_owned())
}

/// The `Action` of a query-protocol (IAM, STS) form body.
pub fn query_action(body: &str) -> Option<String> {
    body.split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_owned)
}
