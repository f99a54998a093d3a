//! IAM against mocked answers: paged listings, entities that are gone or already there, and
//! failures that are retried or not.

use aws_sdk_iam::operation::attach_role_policy::AttachRolePolicyError;
use aws_sdk_iam::operation::create_open_id_connect_provider::CreateOpenIDConnectProviderError;
use aws_sdk_iam::operation::create_policy::CreatePolicyError;
use aws_sdk_iam::operation::create_policy_version::CreatePolicyVersionOutput;
use aws_sdk_iam::operation::create_role::{CreateRoleError, CreateRoleOutput};
use aws_sdk_iam::operation::delete_open_id_connect_provider::DeleteOpenIDConnectProviderError;
use aws_sdk_iam::operation::delete_policy::DeletePolicyOutput;
use aws_sdk_iam::operation::delete_policy_version::DeletePolicyVersionOutput;
use aws_sdk_iam::operation::delete_role::DeleteRoleError;
use aws_sdk_iam::operation::detach_role_policy::{DetachRolePolicyError, DetachRolePolicyOutput};
use aws_sdk_iam::operation::get_policy::{GetPolicyError, GetPolicyOutput};
use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionError;
use aws_sdk_iam::operation::get_role::{GetRoleError, GetRoleOutput};
use aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesOutput;
use aws_sdk_iam::operation::list_entities_for_policy::{
    ListEntitiesForPolicyError, ListEntitiesForPolicyOutput,
};
use aws_sdk_iam::operation::list_policies::ListPoliciesOutput;

use aws_sdk_iam::operation::list_policy_versions::ListPolicyVersionsOutput;
use aws_sdk_iam::operation::list_role_policies::ListRolePoliciesOutput;
use aws_sdk_iam::operation::list_roles::{ListRolesError, ListRolesOutput};
use aws_sdk_iam::operation::update_assume_role_policy::UpdateAssumeRolePolicyOutput;
use aws_sdk_iam::types::error::{
    EntityAlreadyExistsException, MalformedPolicyDocumentException, NoSuchEntityException,
};
use aws_sdk_iam::types::{AttachedPolicy, Policy, PolicyRole, PolicyScopeType, PolicyVersion};
use aws_smithy_mocks::mock;
use aws_smithy_types::DateTime;
use serde_json::json;

use super::*;
use crate::aws::mock_clients::{
    MAX_ATTEMPTS, answering, answering_any, aws_failure, service_error,
};
use crate::error::AwsFailure;

const POLICY: &str = "arn:aws:iam::111122223333:policy/kcfed/fleet/kubecost-federated-storage";

fn no_such_entity() -> NoSuchEntityException {
    NoSuchEntityException::builder()
        .message("The entity cannot be found.")
        .build()
}

fn already_exists() -> EntityAlreadyExistsException {
    EntityAlreadyExistsException::builder()
        .message("The entity already exists.")
        .build()
}

/// A role as IAM lists it: its trust URL-encoded.
fn role(name: &str, trust: &serde_json::Value) -> aws_sdk_iam::types::Role {
    aws_sdk_iam::types::Role::builder()
        .path("/kcfed/fleet/")
        .role_name(name)
        .role_id(format!("AROA{name}"))
        .arn(format!("arn:aws:iam::111122223333:role/kcfed/fleet/{name}"))
        .create_date(DateTime::from_secs(1_700_000_000))
        .assume_role_policy_document(
            percent_encoding::utf8_percent_encode(&trust.to_string(), crate::aws::UNRESERVED_ONLY)
                .to_string(),
        )
        .tags(
            Tag::builder()
                .key("managed-by")
                .value("kcfed")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

fn trusting(providers: serde_json::Value) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Federated": providers},
                       "Action": "sts:AssumeRoleWithWebIdentity"}]
    })
}

fn attached(arn: &str) -> AttachedPolicy {
    AttachedPolicy::builder().policy_arn(arn).build()
}

#[tokio::test]
async fn a_roles_attached_policies_are_read_from_every_page() {
    let trust = trusting(json!(
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
    ));
    let get = mock!(aws_sdk_iam::Client::get_role).then_output({
        let trust = trust.clone();
        move || {
            GetRoleOutput::builder()
                .role(role("kubecost-cost-analyzer", &trust))
                .build()
        }
    });
    let first = mock!(aws_sdk_iam::Client::list_attached_role_policies)
        .match_requests(|input| input.marker().is_none())
        .then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(attached(POLICY))
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_iam::Client::list_attached_role_policies)
        .match_requests(|input| input.marker() == Some("page-2"))
        .then_output(|| {
            ListAttachedRolePoliciesOutput::builder()
                .attached_policies(attached("arn:aws:iam::aws:policy/ReadOnlyAccess"))
                .is_truncated(false)
                .build()
        });
    let role = get_role(
        &answering(&[&get, &first, &second]),
        "kubecost-cost-analyzer",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        role.attached_policies,
        [POLICY, "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    );
    assert_eq!(role.trust, Some(trust));
    assert_eq!(role.tags["managed-by"], "kcfed");
    assert_eq!((first.num_calls(), second.num_calls()), (1, 1));
}

/// A role that is gone is `None`, and its policies are not listed: the mock would refuse the call.
#[tokio::test]
async fn a_missing_role_is_none_without_listing_its_policies() {
    let get = mock!(aws_sdk_iam::Client::get_role)
        .then_error(|| GetRoleError::NoSuchEntityException(no_such_entity()));
    let tags = mock!(aws_sdk_iam::Client::get_role)
        .then_error(|| GetRoleError::NoSuchEntityException(no_such_entity()));
    let client = answering(&[&get, &tags]);
    assert_eq!(
        get_role(&client, "kubecost-cost-analyzer").await.unwrap(),
        None
    );
    assert_eq!(
        role_tags(&client, "kubecost-cost-analyzer").await.unwrap(),
        None
    );
    assert_eq!((get.num_calls(), tags.num_calls()), (1, 1));
}

#[tokio::test]
async fn role_names_under_a_path_follow_the_marker_through_every_page() {
    let trust = trusting(json!(
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
    ));
    let first = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|input| {
            input.path_prefix() == Some("/kcfed/fleet/") && input.marker().is_none()
        })
        .then_output({
            let trust = trust.clone();
            move || {
                ListRolesOutput::builder()
                    .roles(role("kubecost-a", &trust))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
                    .unwrap()
            }
        });
    let second = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|input| {
            input.path_prefix() == Some("/kcfed/fleet/") && input.marker() == Some("page-2")
        })
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("kubecost-b", &trust))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let names = role_names_under(&answering(&[&first, &second]), "/kcfed/fleet/")
        .await
        .unwrap();
    assert_eq!(names, ["kubecost-a", "kubecost-b"]);
}

/// Whether an OIDC provider is still trusted must see every role of the account, on every page.
#[tokio::test]
async fn trusted_providers_are_gathered_from_every_page_of_the_accounts_roles() {
    let a = "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A";
    let b = "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/B";
    let first = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|input| input.marker().is_none())
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("kubecost-a", &trusting(json!(a))))
                .is_truncated(true)
                .marker("page-2")
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|input| input.marker() == Some("page-2"))
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("kubecost-ab", &trusting(json!([a, b]))))
                .is_truncated(false)
                .build()
                .unwrap()
        });
    let by_provider = roles_by_trusted_provider(&answering(&[&first, &second]))
        .await
        .unwrap();
    assert_eq!(by_provider[a], ["kubecost-a", "kubecost-ab"]);
    assert_eq!(by_provider[b], ["kubecost-ab"]);
    assert_eq!(by_provider.len(), 2);
}

#[tokio::test]
async fn local_policy_arns_under_a_path_are_read_from_every_page() {
    let first = mock!(aws_sdk_iam::Client::list_policies)
        .match_requests(|input| {
            input.scope() == Some(&PolicyScopeType::Local)
                && input.path_prefix() == Some("/kcfed/fleet/")
                && input.marker().is_none()
        })
        .then_output(|| {
            ListPoliciesOutput::builder()
                .policies(Policy::builder().arn(POLICY).build())
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_iam::Client::list_policies)
        .match_requests(|input| input.marker() == Some("page-2"))
        .then_output(|| {
            ListPoliciesOutput::builder()
                .policies(
                    Policy::builder()
                        .arn("arn:aws:iam::111122223333:policy/kcfed/fleet/kubecost-amp")
                        .build(),
                )
                .build()
        });
    let arns = policy_arns_under(&answering(&[&first, &second]), "/kcfed/fleet/")
        .await
        .unwrap();
    assert_eq!(
        arns,
        [
            POLICY,
            "arn:aws:iam::111122223333:policy/kcfed/fleet/kubecost-amp"
        ]
    );
}

/// Two runs racing to create a role: the loser sets the trust it wanted, so the result does not
/// depend on which run won.
#[tokio::test]
async fn a_role_a_concurrent_run_created_is_given_the_wanted_trust() {
    let trust = trusting(json!(
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
    ));
    let create = mock!(aws_sdk_iam::Client::create_role)
        .then_error(|| CreateRoleError::EntityAlreadyExistsException(already_exists()));
    let update = mock!(aws_sdk_iam::Client::update_assume_role_policy)
        .match_requests({
            let wanted = trust.to_string();
            move |input| {
                input.role_name() == Some("kubecost-cost-analyzer")
                    && input.policy_document() == Some(wanted.as_str())
            }
        })
        .then_output(|| UpdateAssumeRolePolicyOutput::builder().build());
    create_role(
        &answering(&[&create, &update]),
        "kubecost-cost-analyzer",
        "/kcfed/fleet/",
        &trust,
        "Kubecost",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!((create.num_calls(), update.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_role_this_run_created_is_not_updated_again() {
    let create =
        mock!(aws_sdk_iam::Client::create_role).then_output(|| CreateRoleOutput::builder().build());
    create_role(
        &answering(&[&create]),
        "kubecost-cost-analyzer",
        "/kcfed/fleet/",
        &trusting(json!(
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
        )),
        "Kubecost",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test]
async fn a_policy_or_oidc_provider_that_already_exists_is_as_good_as_created() {
    let policy = mock!(aws_sdk_iam::Client::create_policy)
        .then_error(|| CreatePolicyError::EntityAlreadyExistsException(already_exists()));
    let provider = mock!(aws_sdk_iam::Client::create_open_id_connect_provider).then_error(|| {
        CreateOpenIDConnectProviderError::EntityAlreadyExistsException(already_exists())
    });
    let client = answering(&[&policy, &provider]);
    create_policy(
        &client,
        "kubecost-federated-storage",
        "/kcfed/fleet/",
        &json!({}),
        vec![],
    )
    .await
    .unwrap();
    create_oidc_provider(
        &client,
        "https://oidc.eks.us-east-2.amazonaws.com/id/A",
        vec![],
    )
    .await
    .unwrap();
    assert_eq!((policy.num_calls(), provider.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_missing_policy_is_none() {
    let get = mock!(aws_sdk_iam::Client::get_policy)
        .then_error(|| GetPolicyError::NoSuchEntityException(no_such_entity()));
    assert_eq!(get_policy(&answering(&[&get]), POLICY).await.unwrap(), None);
}

/// A default version deleted between the two reads leaves the policy without a document, which
/// the plan then rewrites; it is not an error.
#[tokio::test]
async fn a_policy_whose_default_version_is_gone_has_no_document() {
    let get = mock!(aws_sdk_iam::Client::get_policy).then_output(|| {
        GetPolicyOutput::builder()
            .policy(
                Policy::builder()
                    .arn(POLICY)
                    .default_version_id("v3")
                    .build(),
            )
            .build()
    });
    let version = mock!(aws_sdk_iam::Client::get_policy_version)
        .match_requests(|input| input.version_id() == Some("v3"))
        .then_error(|| GetPolicyVersionError::NoSuchEntityException(no_such_entity()));
    let policy = get_policy(&answering(&[&get, &version]), POLICY)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (policy.default_version.as_str(), policy.document),
        ("v3", None)
    );
}

fn version(id: &str, created: i64, default: bool) -> PolicyVersion {
    PolicyVersion::builder()
        .version_id(id)
        .create_date(DateTime::from_secs(created))
        .is_default_version(default)
        .build()
}

/// IAM keeps five versions of a policy; a sixth is refused with LimitExceeded unless one goes.
#[tokio::test]
async fn a_policy_at_the_five_version_limit_loses_its_oldest_non_default_version_first() {
    let list = mock!(aws_sdk_iam::Client::list_policy_versions).then_output(|| {
        ListPolicyVersionsOutput::builder()
            .versions(version("v1", 100, true))
            .versions(version("v5", 500, false))
            .versions(version("v3", 300, false))
            .versions(version("v2", 200, false))
            .versions(version("v4", 400, false))
            .build()
    });
    let delete = mock!(aws_sdk_iam::Client::delete_policy_version)
        .match_requests(|input| input.version_id() == Some("v2"))
        .then_output(|| DeletePolicyVersionOutput::builder().build());
    let create = mock!(aws_sdk_iam::Client::create_policy_version)
        .match_requests(|input| input.set_as_default() == Some(true))
        .then_output(|| CreatePolicyVersionOutput::builder().build());
    set_policy_document(&answering(&[&list, &delete, &create]), POLICY, &json!({}))
        .await
        .unwrap();
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
}

#[tokio::test]
async fn a_policy_under_the_version_limit_keeps_its_versions() {
    let list = mock!(aws_sdk_iam::Client::list_policy_versions).then_output(|| {
        ListPolicyVersionsOutput::builder()
            .versions(version("v1", 100, false))
            .versions(version("v2", 200, true))
            .build()
    });
    let create = mock!(aws_sdk_iam::Client::create_policy_version)
        .then_output(|| CreatePolicyVersionOutput::builder().build());
    set_policy_document(&answering(&[&list, &create]), POLICY, &json!({}))
        .await
        .unwrap();
    assert_eq!(create.num_calls(), 1);
}

/// IAM refuses to delete a policy that is attached or has old versions (DeleteConflict).
#[tokio::test]
async fn a_policy_is_detached_and_its_old_versions_deleted_before_it_is() {
    let entities = mock!(aws_sdk_iam::Client::list_entities_for_policy).then_output(|| {
        ListEntitiesForPolicyOutput::builder()
            .policy_roles(PolicyRole::builder().role_name("kubecost-a").build())
            .build()
    });
    let detach = mock!(aws_sdk_iam::Client::detach_role_policy)
        .match_requests(|input| input.role_name() == Some("kubecost-a"))
        .then_output(|| DetachRolePolicyOutput::builder().build());
    let versions = mock!(aws_sdk_iam::Client::list_policy_versions).then_output(|| {
        ListPolicyVersionsOutput::builder()
            .versions(version("v1", 100, false))
            .versions(version("v2", 200, true))
            .build()
    });
    let old = mock!(aws_sdk_iam::Client::delete_policy_version)
        .match_requests(|input| input.version_id() == Some("v1"))
        .then_output(|| DeletePolicyVersionOutput::builder().build());
    let delete = mock!(aws_sdk_iam::Client::delete_policy)
        .then_output(|| DeletePolicyOutput::builder().build());
    delete_policy(
        &answering(&[&entities, &detach, &versions, &old, &delete]),
        POLICY,
    )
    .await
    .unwrap();
    assert_eq!(
        [detach.num_calls(), old.num_calls(), delete.num_calls()],
        [1, 1, 1]
    );
}

/// A policy attached to more roles than one page lists is detached from all of them.
#[tokio::test]
async fn a_policy_is_detached_from_the_roles_of_every_page() {
    let first = mock!(aws_sdk_iam::Client::list_entities_for_policy)
        .match_requests(|input| input.marker().is_none())
        .then_output(|| {
            ListEntitiesForPolicyOutput::builder()
                .policy_roles(PolicyRole::builder().role_name("kubecost-a").build())
                .is_truncated(true)
                .marker("page-2")
                .build()
        });
    let second = mock!(aws_sdk_iam::Client::list_entities_for_policy)
        .match_requests(|input| input.marker() == Some("page-2"))
        .then_output(|| {
            ListEntitiesForPolicyOutput::builder()
                .policy_roles(PolicyRole::builder().role_name("kubecost-b").build())
                .build()
        });
    let detach = mock!(aws_sdk_iam::Client::detach_role_policy)
        .then_output(|| DetachRolePolicyOutput::builder().build());
    let versions = mock!(aws_sdk_iam::Client::list_policy_versions)
        .then_output(|| ListPolicyVersionsOutput::builder().build());
    let delete = mock!(aws_sdk_iam::Client::delete_policy)
        .then_output(|| DeletePolicyOutput::builder().build());
    delete_policy(
        &answering_any(&[&first, &second, &detach, &versions, &delete]),
        POLICY,
    )
    .await
    .unwrap();
    assert_eq!([detach.num_calls(), delete.num_calls()], [2, 1]);
}

/// Cleanup run twice, or after someone deleted things by hand, finds them gone: that is done.
#[tokio::test]
async fn deleting_a_role_policy_or_provider_that_is_already_gone_succeeds() {
    let detach = mock!(aws_sdk_iam::Client::detach_role_policy)
        .then_error(|| DetachRolePolicyError::NoSuchEntityException(no_such_entity()));
    let delete_role_rule = mock!(aws_sdk_iam::Client::delete_role)
        .then_error(|| DeleteRoleError::NoSuchEntityException(no_such_entity()));
    let inline = mock!(aws_sdk_iam::Client::list_role_policies).then_output(|| {
        ListRolePoliciesOutput::builder()
            .set_policy_names(Some(Vec::new()))
            .build()
            .expect("policy names are set")
    });
    // A policy that is gone stops at its first read: nothing else is asked.
    let entities = mock!(aws_sdk_iam::Client::list_entities_for_policy)
        .then_error(|| ListEntitiesForPolicyError::NoSuchEntityException(no_such_entity()));
    let provider = mock!(aws_sdk_iam::Client::delete_open_id_connect_provider)
        .then_error(|| DeleteOpenIDConnectProviderError::NoSuchEntityException(no_such_entity()));
    let client = answering(&[&detach, &inline, &delete_role_rule, &entities, &provider]);
    let gone = Role {
        name: "kubecost-cost-analyzer".to_owned(),
        arn: "arn:aws:iam::111122223333:role/kcfed/fleet/kubecost-cost-analyzer".to_owned(),
        path: "/kcfed/fleet/".to_owned(),
        trust: None,
        tags: HashMap::new(),
        attached_policies: vec![POLICY.to_owned()],
        inline_policy: None,
    };
    delete_role(&client, &gone).await.unwrap();
    delete_policy(&client, POLICY).await.unwrap();
    delete_oidc_provider(
        &client,
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A",
    )
    .await
    .unwrap();
    assert_eq!(
        [
            detach.num_calls(),
            delete_role_rule.num_calls(),
            entities.num_calls(),
            provider.num_calls()
        ],
        [1, 1, 1, 1]
    );
}

#[tokio::test]
async fn a_throttled_iam_read_is_retried_until_the_attempts_run_out_then_reported_as_throttled() {
    let get = mock!(aws_sdk_iam::Client::get_role)
        .sequence()
        .error(|| GetRoleError::generic(service_error("Throttling", "Rate exceeded")))
        .repeatedly()
        .build();
    let err = get_role(&answering(&[&get]), "kubecost-cost-analyzer")
        .await
        .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "iam:GetRole",
            AwsFailure::Throttled,
            "Throttling: Rate exceeded"
        )
    );
    assert_eq!(get.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_throttled_listing_page_is_retried_and_the_listing_goes_on() {
    let trust = trusting(json!(
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
    ));
    let first = mock!(aws_sdk_iam::Client::list_roles)
        .sequence()
        .error(|| ListRolesError::generic(service_error("Throttling", "Rate exceeded")))
        .output({
            let trust = trust.clone();
            move || {
                ListRolesOutput::builder()
                    .roles(role("kubecost-a", &trust))
                    .is_truncated(true)
                    .marker("page-2")
                    .build()
                    .unwrap()
            }
        })
        .build();
    let second = mock!(aws_sdk_iam::Client::list_roles)
        .match_requests(|input| input.marker() == Some("page-2"))
        .then_output(move || {
            ListRolesOutput::builder()
                .roles(role("kubecost-b", &trust))
                .build()
                .unwrap()
        });
    let names = role_names_under(&answering(&[&first, &second]), "/kcfed/fleet/")
        .await
        .unwrap();
    assert_eq!(names, ["kubecost-a", "kubecost-b"]);
    assert_eq!((first.num_calls(), second.num_calls()), (2, 1));
}

#[tokio::test]
async fn an_access_denied_listing_names_the_iam_action_to_grant_and_is_not_retried() {
    let list = mock!(aws_sdk_iam::Client::list_roles)
        .sequence()
        .error(|| {
            ListRolesError::generic(service_error(
                "AccessDenied",
                "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:ListRoles",
            ))
        })
        .repeatedly()
        .build();
    let err = role_names_under(&answering(&[&list]), "/kcfed/fleet/")
        .await
        .unwrap_err();
    assert_eq!(aws_failure(&err).1, AwsFailure::AccessDenied);
    assert_eq!(list.num_calls(), 1);
    assert_eq!(
        err.fix().unwrap(),
        "grant the calling identity `iam:ListRoles` (README lists every permission kcfed needs)"
    );
}

/// IAM is eventually consistent: a trust naming an OIDC provider made a moment ago can be refused
/// as an invalid principal. kcfed does not wait for it; the call fails once and a rerun resumes.
#[tokio::test]
async fn a_trust_naming_a_provider_iam_does_not_see_yet_fails_once_and_a_rerun_resumes() {
    let create = mock!(aws_sdk_iam::Client::create_role)
        .sequence()
        .error(|| {
            CreateRoleError::MalformedPolicyDocumentException(
                MalformedPolicyDocumentException::builder()
                    .message("Invalid principal in policy")
                    .meta(service_error(
                        "MalformedPolicyDocument",
                        "Invalid principal in policy",
                    ))
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let err = create_role(
        &answering(&[&create]),
        "kubecost-cost-analyzer",
        "/kcfed/fleet/",
        &trusting(json!(
            "arn:aws:iam::111122223333:oidc-provider/oidc.eks/id/A"
        )),
        "Kubecost",
        vec![],
    )
    .await
    .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "iam:CreateRole",
            AwsFailure::Other,
            "MalformedPolicyDocument: Invalid principal in policy"
        )
    );
    assert_eq!(create.num_calls(), 1);
    assert_eq!(
        err.fix().unwrap(),
        "run the command again; it resumes where it stopped"
    );
}

/// The same for a role made a moment ago that AttachRolePolicy does not see yet.
#[tokio::test]
async fn attaching_to_a_role_iam_does_not_see_yet_fails_once_without_retry() {
    let attach = mock!(aws_sdk_iam::Client::attach_role_policy)
        .sequence()
        .error(|| {
            AttachRolePolicyError::NoSuchEntityException(
                NoSuchEntityException::builder()
                    .message("The role with name kubecost-cost-analyzer cannot be found.")
                    .meta(service_error(
                        "NoSuchEntity",
                        "The role with name kubecost-cost-analyzer cannot be found.",
                    ))
                    .build(),
            )
        })
        .repeatedly()
        .build();
    let err = attach_policy(&answering(&[&attach]), "kubecost-cost-analyzer", POLICY)
        .await
        .unwrap_err();
    let (action, failure, message) = aws_failure(&err);
    assert_eq!(
        (action, failure),
        ("iam:AttachRolePolicy", AwsFailure::Other)
    );
    assert!(message.starts_with("NoSuchEntity: "), "{message}");
    assert_eq!(attach.num_calls(), 1);
}
