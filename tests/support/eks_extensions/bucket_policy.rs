//! S3 bucket policies as AWS applies them to a caller on TLS, the only way kcfed reaches AWS.
//! moto applies a Deny on `aws:SecureTransport` `false` to every object call, https or not, and
//! the bench speaks plain http to it, so moto is given a bucket's policy without those
//! statements and the caller gets back the policy it put, kept here. Only path-style requests
//! (`/BUCKET?policy`) are recognised: the SDK uses them against an IP endpoint such as the
//! proxy's.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use hyper::HeaderMap;
use hyper::body::Bytes;
use hyper::header::{CONTENT_LENGTH, HeaderValue};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A bucket request the extensions take part in, read from its method and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRoute {
    pub bucket: String,
    pub call: BucketCall,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BucketCall {
    PutBucketPolicy,
    GetBucketPolicy,
    DeleteBucketPolicy,
    /// Takes the bucket's policy with it.
    DeleteBucket,
}

/// The bucket call at `method` `path` (with its query) that touches a bucket's policy; `None`
/// for the rest, which goes to moto untouched (GetBucketPolicyStatus among them).
pub fn route(method: &str, path: &str) -> Option<BucketRoute> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let bucket = path.strip_prefix('/')?.trim_end_matches('/');
    if bucket.is_empty() || bucket.contains('/') {
        return None;
    }
    let mut keys = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key));
    let policy = keys.clone().any(|key| key == "policy");
    let call = match (method, policy) {
        ("PUT", true) => BucketCall::PutBucketPolicy,
        ("GET", true) => BucketCall::GetBucketPolicy,
        ("DELETE", true) => BucketCall::DeleteBucketPolicy,
        ("DELETE", false) if keys.next().is_none() => BucketCall::DeleteBucket,
        _ => return None,
    };
    Some(BucketRoute {
        bucket: percent_encoding::percent_decode_str(bucket)
            .decode_utf8_lossy()
            .into_owned(),
        call,
    })
}

/// What moto is given for a PutBucketPolicy.
#[derive(Debug, PartialEq)]
pub enum ForMoto {
    /// The policy as the caller gave it: it holds no TLS-only statement, or is no policy JSON
    /// (moto answers for it).
    AsGiven,
    /// The policy without its TLS-only statements.
    Put(Bytes),
    /// Nothing is left: moto gets a DeleteBucketPolicy instead.
    Delete,
}

/// What moto is given in place of `policy`: the same without the statements whose only effect
/// is to deny insecure transport (see [`denies_only_insecure_transport`]).
pub fn for_moto(policy: &[u8]) -> ForMoto {
    let Ok(Value::Object(mut document)) = serde_json::from_slice::<Value>(policy) else {
        return ForMoto::AsGiven;
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(statements)) => statements.clone(),
        Some(statement @ Value::Object(_)) => vec![statement.clone()],
        _ => return ForMoto::AsGiven,
    };
    let kept: Vec<Value> = statements
        .iter()
        .filter(|statement| !denies_only_insecure_transport(statement))
        .cloned()
        .collect();
    if kept.len() == statements.len() {
        return ForMoto::AsGiven;
    }
    if kept.is_empty() {
        return ForMoto::Delete;
    }
    document.insert("Statement".to_owned(), Value::Array(kept));
    ForMoto::Put(Bytes::from(Value::Object(document).to_string()))
}

/// A Deny whose Condition is exactly `{"Bool": {"aws:SecureTransport": "false"}}` (the value
/// also as JSON `false`): on TLS it never applies. Any other statement is kept, so a real
/// refusal still refuses.
pub fn denies_only_insecure_transport(statement: &Value) -> bool {
    let Some(condition) = statement["Condition"].as_object() else {
        return false;
    };
    let Some(Value::Object(bools)) = condition.get("Bool") else {
        return false;
    };
    let insecure = match bools.get("aws:SecureTransport") {
        Some(Value::Bool(secure)) => !secure,
        Some(Value::String(secure)) => secure == "false",
        _ => false,
    };
    statement["Effect"] == "Deny" && condition.len() == 1 && bools.len() == 1 && insecure
}

/// Makes `headers` fit a body changed to `body` (empty for a DeleteBucketPolicy): its length,
/// its SHA-256 when the signature carried one, and no checksum of the body it replaced.
pub fn restate_body(headers: &mut HeaderMap, body: &[u8]) {
    let checksums: Vec<_> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name == "content-md5" || name.starts_with("x-amz-checksum-") || name == "x-amz-trailer"
        })
        .cloned()
        .collect();
    for name in checksums {
        headers.remove(name);
    }
    headers.remove("x-amz-sdk-checksum-algorithm");
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    let signed_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()));
    if signed_hash {
        let hash: String = Sha256::digest(body)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        let hash = HeaderValue::from_str(&hash).expect("hex digits make a header value");
        headers.insert("x-amz-content-sha256", hash);
    }
}

/// The policies put through the proxy, each as its caller gave it, by bucket name (bucket
/// names are global on AWS; moto keeps them per account).
#[derive(Default)]
pub struct BucketPolicies {
    policies: Mutex<HashMap<String, Bytes>>,
}

impl BucketPolicies {
    /// A panic in one test must not turn every later request into a second one.
    fn policies(&self) -> MutexGuard<'_, HashMap<String, Bytes>> {
        self.policies.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The policy of `bucket` as its caller put it, if one was put through the proxy.
    pub fn get(&self, bucket: &str) -> Option<Bytes> {
        self.policies().get(bucket).cloned()
    }

    pub fn keep(&self, bucket: &str, policy: Bytes) {
        self.policies().insert(bucket.to_owned(), policy);
    }

    pub fn forget(&self, bucket: &str) {
        self.policies().remove(bucket);
    }
}
