//! S3: the fleet's federated ETL bucket, created hardened and emptied completely on cleanup.

use std::collections::HashMap;

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::{call_failed, decode_policy_document};
use crate::error::Error;

/// What a bucket name refers to, seen from this account.
#[derive(Debug, Clone, PartialEq)]
pub enum BucketState {
    Missing,
    /// Answers 403: another account owns the name, or the caller may not list it.
    OwnedElsewhere,
    Owned(Bucket),
}

/// The settings kcfed checks and enforces on the bucket.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bucket {
    pub region: Option<String>,
    pub tags: HashMap<String, String>,
    pub public_access_blocked: bool,
    pub encrypted: bool,
    pub owner_enforced: bool,
    pub policy: Option<serde_json::Value>,
}

/// The error codes S3 uses for "this setting was never made".
fn is_unset(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "NoSuchPublicAccessBlockConfiguration"
                | "ServerSideEncryptionConfigurationNotFoundError"
                | "OwnershipControlsNotFoundError"
                | "NoSuchBucketPolicy"
                | "NoSuchTagSet"
        )
    )
}

macro_rules! setting {
    ($call:expr, $action:literal, $bucket:expr) => {
        match $call.await {
            Ok(output) => Some(output),
            Err(err) if is_unset(err.code()) => None,
            Err(err) => return Err(call_failed($action, format!("bucket {}", $bucket), err)),
        }
    };
}

pub async fn inspect(client: &aws_sdk_s3::Client, bucket: &str) -> Result<BucketState, Error> {
    let head = match client.head_bucket().bucket(bucket).send().await {
        Ok(head) => head,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
            return Ok(BucketState::Missing);
        }
        Err(err) if err.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
            return Ok(BucketState::OwnedElsewhere);
        }
        Err(err) => {
            return Err(call_failed(
                "s3:ListBucket",
                format!("bucket {bucket}"),
                err,
            ));
        }
    };
    let (public_access, encryption, ownership, policy, tagging) = tokio::join!(
        client.get_public_access_block().bucket(bucket).send(),
        client.get_bucket_encryption().bucket(bucket).send(),
        client.get_bucket_ownership_controls().bucket(bucket).send(),
        client.get_bucket_policy().bucket(bucket).send(),
        client.get_bucket_tagging().bucket(bucket).send(),
    );
    let public_access = setting!(
        std::future::ready(public_access),
        "s3:GetBucketPublicAccessBlock",
        bucket
    );
    let encryption = setting!(
        std::future::ready(encryption),
        "s3:GetEncryptionConfiguration",
        bucket
    );
    let ownership = setting!(
        std::future::ready(ownership),
        "s3:GetBucketOwnershipControls",
        bucket
    );
    let policy = setting!(std::future::ready(policy), "s3:GetBucketPolicy", bucket);
    let tagging = setting!(std::future::ready(tagging), "s3:GetBucketTagging", bucket);

    let public_access_blocked = public_access
        .and_then(|o| o.public_access_block_configuration().cloned())
        .is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        });
    let encrypted = encryption
        .and_then(|o| o.server_side_encryption_configuration().cloned())
        .is_some_and(|c| {
            c.rules().iter().any(|rule| {
                rule.apply_server_side_encryption_by_default()
                    .is_some_and(|d| {
                        matches!(
                            d.sse_algorithm(),
                            ServerSideEncryption::Aes256 | ServerSideEncryption::AwsKms
                        )
                    })
            })
        });
    let owner_enforced = ownership
        .and_then(|o| o.ownership_controls().cloned())
        .is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        });
    Ok(BucketState::Owned(Bucket {
        region: head.bucket_region().map(str::to_owned),
        tags: tagging
            .map(|t| {
                t.tag_set()
                    .iter()
                    .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        public_access_blocked,
        encrypted,
        owner_enforced,
        policy: policy
            .and_then(|p| p.policy().map(str::to_owned))
            .and_then(|text| {
                serde_json::from_str(&text)
                    .ok()
                    .or_else(|| decode_policy_document(&text))
            }),
    }))
}

pub async fn create(client: &aws_sdk_s3::Client, bucket: &str, region: &str) -> Result<(), Error> {
    // us-east-1 is the one region that refuses an explicit location constraint.
    let configuration = (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    });
    match client
        .create_bucket()
        .bucket(bucket)
        .set_create_bucket_configuration(configuration)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_owned_by_you()) =>
        {
            Ok(())
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_bucket_already_exists()) =>
        {
            Err(bucket_taken(bucket))
        }
        Err(err) => Err(call_failed(
            "s3:CreateBucket",
            format!("bucket {bucket}"),
            err,
        )),
    }
}

/// Why a bucket whose HEAD answers 403 cannot be used; S3 does not say which of the two it is.
pub const FORBIDDEN: &str = "S3 answers 403 Forbidden: another AWS account owns the name (bucket names are global), or the calling identity lacks `s3:ListBucket` on it; pass another --bucket, or grant `s3:ListBucket` if the bucket is yours";

pub fn bucket_taken(bucket: &str) -> Error {
    Error::Conflict {
        resource: format!("S3 bucket {bucket}"),
        reason: "the name belongs to another AWS account (bucket names are global)".to_owned(),
        fix: "pass another name with --bucket, or omit --bucket for kcfed's per-account default"
            .to_owned(),
    }
}

pub async fn block_public_access(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    client
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|err| {
            call_failed(
                "s3:PutBucketPublicAccessBlock",
                format!("bucket {bucket}"),
                err,
            )
        })?;
    Ok(())
}

pub async fn enable_default_encryption(
    client: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<(), Error> {
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .expect("the algorithm is set");
    let configuration = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .bucket_key_enabled(true)
                .build(),
        )
        .build()
        .expect("the rules are set");
    client
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .map_err(|err| {
            call_failed(
                "s3:PutEncryptionConfiguration",
                format!("bucket {bucket}"),
                err,
            )
        })?;
    Ok(())
}

pub async fn enforce_bucket_owner(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    let controls = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                .build()
                .expect("the ownership is set"),
        )
        .build()
        .expect("the rules are set");
    client
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(controls)
        .send()
        .await
        .map_err(|err| {
            call_failed(
                "s3:PutBucketOwnershipControls",
                format!("bucket {bucket}"),
                err,
            )
        })?;
    Ok(())
}

pub async fn put_policy(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    policy: &serde_json::Value,
) -> Result<(), Error> {
    client
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .map_err(|err| call_failed("s3:PutBucketPolicy", format!("bucket {bucket}"), err))?;
    Ok(())
}

pub async fn delete_policy(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    client
        .delete_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .map_err(|err| call_failed("s3:DeleteBucketPolicy", format!("bucket {bucket}"), err))?;
    Ok(())
}

pub async fn put_tags(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    let tag_set = tags
        .into_iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect::<Result<Vec<_>, _>>()
        .expect("keys and values are set");
    client
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(
            Tagging::builder()
                .set_tag_set(Some(tag_set))
                .build()
                .expect("the tag set is set"),
        )
        .send()
        .await
        .map_err(|err| call_failed("s3:PutBucketTagging", format!("bucket {bucket}"), err))?;
    Ok(())
}

pub async fn delete_tags(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    client
        .delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .map_err(|err| call_failed("s3:PutBucketTagging", format!("bucket {bucket}"), err))?;
    Ok(())
}

/// Deletes every object version and delete marker, then the bucket: `aws s3 rb --force` leaves
/// versions behind and fails on a versioned bucket.
pub async fn empty_and_delete(client: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    loop {
        let listing = match client.list_object_versions().bucket(bucket).send().await {
            Ok(listing) => listing,
            Err(err) if err.code() == Some("NoSuchBucket") => return Ok(()),
            Err(err) => {
                return Err(call_failed(
                    "s3:ListBucketVersions",
                    format!("bucket {bucket}"),
                    err,
                ));
            }
        };
        let objects: Vec<ObjectIdentifier> = listing
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                listing
                    .delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key?)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .ok()
            })
            .collect();
        if objects.is_empty() {
            break;
        }
        let deleted = client
            .delete_objects()
            .bucket(bucket)
            .delete(
                Delete::builder()
                    .set_objects(Some(objects))
                    .quiet(true)
                    .build()
                    .expect("objects are set"),
            )
            .send()
            .await
            .map_err(|err| {
                call_failed("s3:DeleteObjectVersion", format!("bucket {bucket}"), err)
            })?;
        // A bulk delete reports refused objects in its answer, not as an error: listing them
        // again would loop forever.
        if let Some(refused) = deleted.errors().first() {
            let code = refused.code().unwrap_or("unknown error");
            return Err(Error::Aws {
                action: "s3:DeleteObjectVersion",
                resource: format!("s3://{bucket}/{}", refused.key().unwrap_or_default()),
                failure: if code == "AccessDenied" {
                    crate::error::AwsFailure::AccessDenied
                } else {
                    crate::error::AwsFailure::Other
                },
                message: format!(
                    "{code}: {} ({} objects refused)",
                    refused.message().unwrap_or_default(),
                    deleted.errors().len()
                ),
            });
        }
    }
    match client.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("NoSuchBucket") => Ok(()),
        Err(err) => Err(call_failed(
            "s3:DeleteBucket",
            format!("bucket {bucket}"),
            err,
        )),
    }
}

/// When the newest object under `prefix` was written (seconds since the epoch), or `None` when
/// there is none.
pub async fn newest_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Option<f64>, Error> {
    let objects = objects_under(client, bucket, prefix).await?;
    Ok(objects
        .iter()
        .filter_map(|object| object.last_modified())
        .map(|modified| modified.as_secs_f64())
        .reduce(f64::max))
}

/// The keys under `prefix`, every page (a thousand keys a call).
pub async fn keys_under(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, Error> {
    let objects = objects_under(client, bucket, prefix).await?;
    Ok(objects
        .iter()
        .filter_map(|object| object.key().map(str::to_owned))
        .collect())
}

/// Every object under `prefix`, every page.
async fn objects_under(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<aws_sdk_s3::types::Object>, Error> {
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    let mut objects = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|err| call_failed("s3:ListBucket", format!("s3://{bucket}/{prefix}"), err))?;
        objects.extend(page.contents().iter().cloned());
    }
    Ok(objects)
}

pub async fn put_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<(), Error> {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .content_type("application/json")
        .send()
        .await
        .map_err(|err| call_failed("s3:PutObject", format!("s3://{bucket}/{key}"), err))?;
    Ok(())
}

/// Deletes the object; S3 answers a missing one as deleted.
pub async fn delete_object(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<(), Error> {
    client
        .delete_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|err| call_failed("s3:DeleteObject", format!("s3://{bucket}/{key}"), err))?;
    Ok(())
}

#[cfg(test)]
mod sdk_edges;
