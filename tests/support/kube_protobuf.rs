//! Reads the protobuf request bodies of client-go's typed clients, for the fake API server: helm
//! keeps its releases in Secrets through one, and it sends `application/vnd.kubernetes.protobuf`.
//!
//! The body is the `k8s\0` magic, then a `runtime.Unknown` envelope (type meta, then the object's
//! own bytes). Only the Secret is decoded, and of its metadata only what a client may set and
//! the fake keeps; anything else is refused so a test never runs on a half-read object.

use base64::Engine;
use serde_json::{Map, Value, json};

const MAGIC: &[u8] = b"k8s\0";

/// The object in `body` as the JSON the API would store, or why it cannot be read.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let envelope = body
        .strip_prefix(MAGIC)
        .ok_or("the body does not start with the k8s protobuf magic")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), None);
    for (number, field) in fields(envelope)? {
        match (number, field) {
            (1, Field::Bytes(type_meta)) => {
                for (number, field) in fields(type_meta)? {
                    match (number, field) {
                        (1, Field::Bytes(text)) => api_version = string(text)?,
                        (2, Field::Bytes(text)) => kind = string(text)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(object)) => raw = Some(object),
            _ => {}
        }
    }
    let raw = raw.ok_or("the envelope carries no object")?;
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => secret(raw),
        other => Err(format!("the fake reads no protobuf {other:?}")),
    }
}

fn secret(raw: &[u8]) -> Result<Value, String> {
    let mut secret = json!({"apiVersion": "v1", "kind": "Secret"});
    let mut data = Map::new();
    for (number, field) in fields(raw)? {
        match (number, field) {
            (1, Field::Bytes(metadata)) => secret["metadata"] = object_meta(metadata)?,
            (2, Field::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(value);
                data.insert(string(key)?, encoded.into());
            }
            (3, Field::Bytes(text)) => secret["type"] = string(text)?.into(),
            (4, Field::Bytes(entry)) => {
                let (key, value) = map_entry(entry)?;
                secret["stringData"][string(key)?] = string(value)?.into();
            }
            (5, Field::Varint(immutable)) => secret["immutable"] = (immutable != 0).into(),
            (number, _) => return Err(format!("unexpected field {number} in a Secret")),
        }
    }
    if !data.is_empty() {
        secret["data"] = data.into();
    }
    Ok(secret)
}

/// ObjectMeta: the fields a client sets (names, labels, annotations, finalizers, the
/// resourceVersion it expects); server-set ones (uid, timestamps) are skipped as the fake sets
/// its own.
fn object_meta(raw: &[u8]) -> Result<Value, String> {
    let mut metadata = Map::new();
    let mut finalizers = Vec::new();
    for (number, field) in fields(raw)? {
        let Field::Bytes(bytes) = field else {
            continue;
        };
        let name = match number {
            1 => "name",
            2 => "generateName",
            3 => "namespace",
            6 => "resourceVersion",
            11 | 12 => {
                let map = if number == 11 {
                    "labels"
                } else {
                    "annotations"
                };
                let (key, value) = map_entry(bytes)?;
                let entries = metadata.entry(map).or_insert_with(|| json!({}));
                entries[string(key)?] = string(value)?.into();
                continue;
            }
            14 => {
                finalizers.push(Value::from(string(bytes)?));
                continue;
            }
            _ => continue,
        };
        let text = string(bytes)?;
        if !text.is_empty() {
            metadata.insert(name.to_owned(), text.into());
        }
    }
    if !finalizers.is_empty() {
        metadata.insert("finalizers".to_owned(), finalizers.into());
    }
    Ok(metadata.into())
}

/// A map entry of protobuf's map encoding: key is field 1, value field 2.
fn map_entry(raw: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (mut key, mut value): (&[u8], &[u8]) = (&[], &[]);
    for (number, field) in fields(raw)? {
        match (number, field) {
            (1, Field::Bytes(bytes)) => key = bytes,
            (2, Field::Bytes(bytes)) => value = bytes,
            _ => {}
        }
    }
    Ok((key, value))
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one message, in order, with their numbers.
fn fields(mut raw: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut out = Vec::new();
    while !raw.is_empty() {
        let tag = varint(&mut raw)?;
        let field = match tag & 7 {
            0 => Field::Varint(varint(&mut raw)?),
            1 | 5 => {
                let width = if tag & 7 == 1 { 8 } else { 4 };
                raw = raw.get(width..).ok_or("truncated fixed-width field")?;
                Field::Fixed
            }
            2 => {
                let length = usize::try_from(varint(&mut raw)?).map_err(|e| e.to_string())?;
                let bytes = raw
                    .get(..length)
                    .ok_or("truncated length-delimited field")?;
                raw = &raw[length..];
                Field::Bytes(bytes)
            }
            wire => return Err(format!("unsupported wire type {wire}")),
        };
        out.push((tag >> 3, field));
    }
    Ok(out)
}

fn varint(raw: &mut &[u8]) -> Result<u64, String> {
    let mut value = 0_u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = raw.split_first().ok_or("truncated varint")?;
        *raw = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint longer than 64 bits".to_owned())
}

fn string(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| e.to_string())
}
