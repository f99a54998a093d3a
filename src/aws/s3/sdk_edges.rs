//! S3 against mocked answers: HEAD's status-only answers, settings never made, names taken,
//! bulk deletes that refuse objects, paged listings and SlowDown.

use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
use aws_sdk_s3::operation::delete_bucket::DeleteBucketOutput;
use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
use aws_sdk_s3::operation::get_bucket_encryption::{
    GetBucketEncryptionError, GetBucketEncryptionOutput,
};
use aws_sdk_s3::operation::get_bucket_ownership_controls::{
    GetBucketOwnershipControlsError, GetBucketOwnershipControlsOutput,
};
use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
use aws_sdk_s3::operation::get_bucket_tagging::{GetBucketTaggingError, GetBucketTaggingOutput};
use aws_sdk_s3::operation::get_public_access_block::{
    GetPublicAccessBlockError, GetPublicAccessBlockOutput,
};
use aws_sdk_s3::operation::head_bucket::HeadBucketOutput;
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::operation::put_bucket_tagging::PutBucketTaggingOutput;
use aws_sdk_s3::types::error::{BucketAlreadyExists, BucketAlreadyOwnedByYou};
use aws_sdk_s3::types::{DeleteMarkerEntry, Object, ObjectVersion};
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::DateTime;
use serde_json::json;

use super::*;
use crate::aws::mock_clients::{
    MAX_ATTEMPTS, answering, answering_any, aws_failure, service_error,
};
use crate::error::AwsFailure;

const BUCKET: &str = "kcfed-111122223333-us-east-2";

/// S3's XML error body.
fn s3_error(code: &str, message: &str) -> String {
    format!("<Error><Code>{code}</Code><Message>{message}</Message></Error>")
}

fn head(status: u16) -> Rule {
    mock!(aws_sdk_s3::Client::head_bucket)
        .sequence()
        .http_status(status, None)
        .repeatedly()
        .build()
}

/// HEAD answers carry no body: S3 says "missing" and "not yours" by status alone.
#[tokio::test]
async fn a_bucket_whose_head_answers_404_is_missing() {
    let rule = head(404);
    assert_eq!(
        inspect(&answering(&[&rule]), BUCKET).await.unwrap(),
        BucketState::Missing
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_bucket_whose_head_answers_403_is_owned_elsewhere_and_its_settings_are_not_read() {
    let rule = head(403);
    assert_eq!(
        inspect(&answering(&[&rule]), BUCKET).await.unwrap(),
        BucketState::OwnedElsewhere
    );
    assert_eq!(rule.num_calls(), 1);
}

fn head_found() -> Rule {
    mock!(aws_sdk_s3::Client::head_bucket).then_output(|| {
        HeadBucketOutput::builder()
            .bucket_region("us-east-2")
            .build()
    })
}

/// A bucket made by hand has none of the settings kcfed makes; each read answers a "never made"
/// code, which is a setting to make, not a failure.
#[tokio::test]
async fn settings_never_made_read_as_unset_not_as_failures() {
    let head = head_found();
    let public_access = mock!(aws_sdk_s3::Client::get_public_access_block).then_error(|| {
        GetPublicAccessBlockError::generic(service_error(
            "NoSuchPublicAccessBlockConfiguration",
            "The public access block configuration was not found",
        ))
    });
    let encryption = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_error(|| {
        GetBucketEncryptionError::generic(service_error(
            "ServerSideEncryptionConfigurationNotFoundError",
            "The server side encryption configuration was not found",
        ))
    });
    let ownership = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_error(|| {
        GetBucketOwnershipControlsError::generic(service_error(
            "OwnershipControlsNotFoundError",
            "The bucket ownership controls were not found",
        ))
    });
    let policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(service_error(
            "NoSuchBucketPolicy",
            "The bucket policy does not exist",
        ))
    });
    let tagging = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_error(|| {
        GetBucketTaggingError::generic(service_error("NoSuchTagSet", "The TagSet does not exist"))
    });
    let client = answering_any(&[
        &head,
        &public_access,
        &encryption,
        &ownership,
        &policy,
        &tagging,
    ]);
    assert_eq!(
        inspect(&client, BUCKET).await.unwrap(),
        BucketState::Owned(Bucket {
            region: Some("us-east-2".to_owned()),
            ..Bucket::default()
        })
    );
}

#[tokio::test]
async fn settings_made_are_read_back() {
    let head = head_found();
    let public_access = mock!(aws_sdk_s3::Client::get_public_access_block).then_output(|| {
        GetPublicAccessBlockOutput::builder()
            .public_access_block_configuration(
                PublicAccessBlockConfiguration::builder()
                    .block_public_acls(true)
                    .ignore_public_acls(true)
                    .block_public_policy(true)
                    .restrict_public_buckets(true)
                    .build(),
            )
            .build()
    });
    let encryption = mock!(aws_sdk_s3::Client::get_bucket_encryption).then_output(|| {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::AwsKms)
            .build()
            .unwrap();
        GetBucketEncryptionOutput::builder()
            .server_side_encryption_configuration(
                ServerSideEncryptionConfiguration::builder()
                    .rules(
                        ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(by_default)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let ownership = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls).then_output(|| {
        GetBucketOwnershipControlsOutput::builder()
            .ownership_controls(
                OwnershipControls::builder()
                    .rules(
                        OwnershipControlsRule::builder()
                            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build()
    });
    let policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_output(|| {
        GetBucketPolicyOutput::builder()
            .policy(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .build()
    });
    let tagging = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_output(|| {
        GetBucketTaggingOutput::builder()
            .tag_set(
                Tag::builder()
                    .key("managed-by")
                    .value("kcfed")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    });
    let client = answering_any(&[
        &head,
        &public_access,
        &encryption,
        &ownership,
        &policy,
        &tagging,
    ]);
    assert_eq!(
        inspect(&client, BUCKET).await.unwrap(),
        BucketState::Owned(Bucket {
            region: Some("us-east-2".to_owned()),
            tags: HashMap::from([("managed-by".to_owned(), "kcfed".to_owned())]),
            public_access_blocked: true,
            encrypted: true,
            owner_enforced: true,
            policy: Some(json!({"Version": "2012-10-17", "Statement": []})),
        })
    );
}

#[tokio::test]
async fn a_setting_read_refused_is_an_access_denied_naming_its_action() {
    let head = head_found();
    let public_access = mock!(aws_sdk_s3::Client::get_public_access_block)
        .then_output(|| GetPublicAccessBlockOutput::builder().build());
    let encryption = mock!(aws_sdk_s3::Client::get_bucket_encryption)
        .then_output(|| GetBucketEncryptionOutput::builder().build());
    let ownership = mock!(aws_sdk_s3::Client::get_bucket_ownership_controls)
        .then_output(|| GetBucketOwnershipControlsOutput::builder().build());
    let policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(service_error("AccessDenied", "Access Denied"))
    });
    let tagging = mock!(aws_sdk_s3::Client::get_bucket_tagging).then_output(|| {
        GetBucketTaggingOutput::builder()
            .set_tag_set(Some(vec![]))
            .build()
            .unwrap()
    });
    let client = answering_any(&[
        &head,
        &public_access,
        &encryption,
        &ownership,
        &policy,
        &tagging,
    ]);
    let err = inspect(&client, BUCKET).await.unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "s3:GetBucketPolicy",
            AwsFailure::AccessDenied,
            "AccessDenied: Access Denied"
        )
    );
}

#[tokio::test]
async fn a_bucket_this_account_already_owns_is_as_good_as_created() {
    let owned = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
        CreateBucketError::BucketAlreadyOwnedByYou(BucketAlreadyOwnedByYou::builder().build())
    });
    create(&answering(&[&owned]), BUCKET, "us-east-2")
        .await
        .unwrap();
    assert_eq!(owned.num_calls(), 1);
}

/// Bucket names are global: a name another account holds can never be this fleet's.
#[tokio::test]
async fn a_bucket_name_another_account_holds_is_a_conflict_telling_to_pick_another() {
    let taken = mock!(aws_sdk_s3::Client::create_bucket).then_error(|| {
        CreateBucketError::BucketAlreadyExists(BucketAlreadyExists::builder().build())
    });
    let err = create(&answering(&[&taken]), BUCKET, "us-east-2")
        .await
        .unwrap_err();
    let Error::Conflict { resource, .. } = &err else {
        panic!("expected a conflict, got {err:?}");
    };
    assert_eq!(resource, "S3 bucket kcfed-111122223333-us-east-2");
    assert_eq!(
        err.fix().unwrap(),
        "pass another name with --bucket, or omit --bucket for kcfed's per-account default"
    );
}

/// us-east-1 refuses an explicit location constraint; every other region needs one.
#[tokio::test]
async fn only_buckets_outside_us_east_1_are_created_with_a_location_constraint() {
    let in_us_east_1 = mock!(aws_sdk_s3::Client::create_bucket)
        .match_requests(|input| input.create_bucket_configuration().is_none())
        .then_output(|| CreateBucketOutput::builder().build());
    let elsewhere = mock!(aws_sdk_s3::Client::create_bucket)
        .match_requests(|input| {
            input
                .create_bucket_configuration()
                .and_then(|c| c.location_constraint())
                == Some(&BucketLocationConstraint::from("eu-west-1"))
                && input.object_ownership() == Some(&ObjectOwnership::BucketOwnerEnforced)
        })
        .then_output(|| CreateBucketOutput::builder().build());
    let client = answering(&[&in_us_east_1, &elsewhere]);
    create(&client, BUCKET, "us-east-1").await.unwrap();
    create(&client, BUCKET, "eu-west-1").await.unwrap();
    assert_eq!((in_us_east_1.num_calls(), elsewhere.num_calls()), (1, 1));
}

fn listing(versions: &[&str], markers: &[&str]) -> ListObjectVersionsOutput {
    ListObjectVersionsOutput::builder()
        .set_versions(Some(
            versions
                .iter()
                .map(|key| ObjectVersion::builder().key(*key).version_id("v1").build())
                .collect(),
        ))
        .set_delete_markers(Some(
            markers
                .iter()
                .map(|key| {
                    DeleteMarkerEntry::builder()
                        .key(*key)
                        .version_id("m1")
                        .build()
                })
                .collect(),
        ))
        .build()
}

/// Each bulk delete takes one listing page; the bucket is listed again from the start until no
/// version or delete marker is left, and only then deleted.
#[tokio::test]
async fn emptying_lists_again_after_each_bulk_delete_until_nothing_is_left() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_output(|| listing(&["a.json", "b.json"], &["c.json"]));
    let first_delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|input| {
            input.delete().is_some_and(|d| {
                d.quiet() == Some(true)
                    && d.objects().iter().map(|o| (o.key(), o.version_id())).eq([
                        ("a.json", Some("v1")),
                        ("b.json", Some("v1")),
                        ("c.json", Some("m1")),
                    ])
            })
        })
        .then_output(|| DeleteObjectsOutput::builder().build());
    let relist =
        mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| listing(&["d.json"], &[]));
    let second_delete = mock!(aws_sdk_s3::Client::delete_objects)
        .match_requests(|input| input.delete().is_some_and(|d| d.objects().len() == 1))
        .then_output(|| DeleteObjectsOutput::builder().build());
    let empty = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| listing(&[], &[]));
    let delete_bucket = mock!(aws_sdk_s3::Client::delete_bucket)
        .then_output(|| DeleteBucketOutput::builder().build());
    empty_and_delete(
        &answering(&[
            &list,
            &first_delete,
            &relist,
            &second_delete,
            &empty,
            &delete_bucket,
        ]),
        BUCKET,
    )
    .await
    .unwrap();
    assert_eq!(
        [
            list.num_calls(),
            first_delete.num_calls(),
            relist.num_calls(),
            second_delete.num_calls(),
            empty.num_calls(),
            delete_bucket.num_calls()
        ],
        [1, 1, 1, 1, 1, 1]
    );
}

/// NoSuchBucket is not a modeled error of these operations: S3's code on the wire decides.
#[tokio::test]
async fn a_bucket_already_gone_before_or_during_cleanup_is_deleted_without_error() {
    let gone_list = mock!(aws_sdk_s3::Client::list_object_versions)
        .sequence()
        .http_status(
            404,
            Some(s3_error(
                "NoSuchBucket",
                "The specified bucket does not exist",
            )),
        )
        .build();
    let empty = mock!(aws_sdk_s3::Client::list_object_versions).then_output(|| listing(&[], &[]));
    let gone_delete = mock!(aws_sdk_s3::Client::delete_bucket)
        .sequence()
        .http_status(
            404,
            Some(s3_error(
                "NoSuchBucket",
                "The specified bucket does not exist",
            )),
        )
        .build();
    let client = answering(&[&gone_list, &empty, &gone_delete]);
    // Gone before: the listing says so and nothing else is asked.
    empty_and_delete(&client, BUCKET).await.unwrap();
    // Gone between the listing and the delete.
    empty_and_delete(&client, BUCKET).await.unwrap();
    assert_eq!(
        [
            gone_list.num_calls(),
            empty.num_calls(),
            gone_delete.num_calls()
        ],
        [1, 1, 1]
    );
}

/// A bulk delete reports refused objects in a 200 answer; listing again would find them again
/// and loop forever.
#[tokio::test]
async fn objects_a_bulk_delete_refuses_stop_the_emptying_naming_the_first() {
    let list = mock!(aws_sdk_s3::Client::list_object_versions)
        .then_output(|| listing(&["a.json", "b.json"], &[]));
    let delete = mock!(aws_sdk_s3::Client::delete_objects).then_output(|| {
        let refused = |key: &str| {
            aws_sdk_s3::types::Error::builder()
                .key(key)
                .version_id("v1")
                .code("AccessDenied")
                .message("Access Denied")
                .build()
        };
        DeleteObjectsOutput::builder()
            .errors(refused("a.json"))
            .errors(refused("b.json"))
            .build()
    });
    let err = empty_and_delete(&answering(&[&list, &delete]), BUCKET)
        .await
        .unwrap_err();
    let Error::Aws {
        action,
        resource,
        failure,
        message,
    } = &err
    else {
        panic!("expected an AWS failure, got {err:?}");
    };
    assert_eq!(
        (*action, resource.as_str(), *failure, message.as_str()),
        (
            "s3:DeleteObjectVersion",
            "s3://kcfed-111122223333-us-east-2/a.json",
            AwsFailure::AccessDenied,
            "AccessDenied: Access Denied (2 objects refused)"
        )
    );
    assert_eq!((list.num_calls(), delete.num_calls()), (1, 1));
}

fn objects(modified: &[i64], next: Option<&str>) -> ListObjectsV2Output {
    ListObjectsV2Output::builder()
        .set_contents(Some(
            modified
                .iter()
                .map(|secs| {
                    Object::builder()
                        .key(format!("federated/{secs}"))
                        .last_modified(DateTime::from_secs(*secs))
                        .build()
                })
                .collect(),
        ))
        .is_truncated(next.is_some())
        .set_next_continuation_token(next.map(str::to_owned))
        .build()
}

#[tokio::test]
async fn the_newest_object_is_found_across_every_page() {
    let first = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|input| {
            input.prefix() == Some("federated/") && input.continuation_token().is_none()
        })
        .then_output(|| objects(&[1_700_000_100, 1_700_000_300], Some("page-2")));
    let second = mock!(aws_sdk_s3::Client::list_objects_v2)
        .match_requests(|input| input.continuation_token() == Some("page-2"))
        .then_output(|| objects(&[1_700_000_500, 1_700_000_200], None));
    let newest = newest_object(&answering(&[&first, &second]), BUCKET, "federated/")
        .await
        .unwrap();
    assert_eq!(newest, Some(1_700_000_500.0));
}

#[tokio::test]
async fn a_prefix_without_objects_has_no_newest_object() {
    let empty = mock!(aws_sdk_s3::Client::list_objects_v2).then_output(|| objects(&[], None));
    assert_eq!(
        newest_object(&answering(&[&empty]), BUCKET, "federated/")
            .await
            .unwrap(),
        None
    );
}

fn slow_down() -> String {
    s3_error("SlowDown", "Please reduce your request rate.")
}

/// S3 throttles with 503 SlowDown; the SDK retries it as configured.
#[tokio::test]
async fn slow_down_is_retried_until_the_attempts_run_out_then_reported_as_throttled() {
    let put = mock!(aws_sdk_s3::Client::put_bucket_tagging)
        .sequence()
        .http_status(503, Some(slow_down()))
        .repeatedly()
        .build();
    let err = put_tags(&answering(&[&put]), BUCKET, vec![])
        .await
        .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "s3:PutBucketTagging",
            AwsFailure::Throttled,
            "SlowDown: Please reduce your request rate."
        )
    );
    assert_eq!(put.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_call_slowed_down_once_succeeds_on_its_retry() {
    let put = mock!(aws_sdk_s3::Client::put_bucket_tagging)
        .sequence()
        .http_status(503, Some(slow_down()))
        .output(|| PutBucketTaggingOutput::builder().build())
        .build();
    put_tags(
        &answering(&[&put]),
        BUCKET,
        vec![("managed-by".to_owned(), "kcfed".to_owned())],
    )
    .await
    .unwrap();
    assert_eq!(put.num_calls(), 2);
}
