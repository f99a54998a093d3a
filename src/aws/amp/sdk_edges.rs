//! AMP against mocked answers: workspaces gone or not there yet, the CREATING → ACTIVE wait, the
//! create's idempotency token and throttling.

use aws_sdk_amp::operation::create_workspace::CreateWorkspaceOutput;
use aws_sdk_amp::operation::delete_workspace::DeleteWorkspaceError;
use aws_sdk_amp::operation::describe_workspace::{DescribeWorkspaceError, DescribeWorkspaceOutput};
use aws_sdk_amp::operation::list_workspaces::ListWorkspacesOutput;
use aws_sdk_amp::types::error::{
    AccessDeniedException, ResourceNotFoundException, ThrottlingException,
};
use aws_sdk_amp::types::{WorkspaceDescription, WorkspaceStatus, WorkspaceSummary};
use aws_smithy_mocks::{Rule, mock};

use super::*;
use crate::aws::mock_clients::{MAX_ATTEMPTS, answering, aws_failure, service_error};
use crate::error::AwsFailure;

const ID: &str = "ws-0123abcd";
const ENDPOINT: &str = "https://aps-workspaces.us-east-2.amazonaws.com/workspaces/ws-0123abcd/";

fn status(code: WorkspaceStatusCode) -> WorkspaceStatus {
    WorkspaceStatus::builder()
        .status_code(code)
        .build()
        .unwrap()
}

fn described(code: WorkspaceStatusCode) -> DescribeWorkspaceOutput {
    DescribeWorkspaceOutput::builder()
        .workspace(
            WorkspaceDescription::builder()
                .workspace_id(ID)
                .alias("kubecost-amp")
                .arn(format!("arn:aws:aps:us-east-2:111122223333:workspace/{ID}"))
                .status(status(code))
                .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .prometheus_endpoint(ENDPOINT)
                .tags("managed-by", "kcfed")
                .build()
                .unwrap(),
        )
        .build()
}

fn not_found() -> ResourceNotFoundException {
    ResourceNotFoundException::builder()
        .message("Workspace not found")
        .resource_id(ID)
        .resource_type("Workspace")
        .build()
        .unwrap()
}

/// DescribeWorkspace answering `codes` in turn; `None` is a ResourceNotFound.
fn describing(codes: &[Option<WorkspaceStatusCode>]) -> Rule {
    let mut sequence = mock!(aws_sdk_amp::Client::describe_workspace)
        .match_requests(|input| input.workspace_id() == Some(ID))
        .sequence();
    for code in codes.iter().cloned() {
        sequence = match code {
            Some(code) => sequence.output(move || described(code.clone())),
            None => {
                sequence.error(|| DescribeWorkspaceError::ResourceNotFoundException(not_found()))
            }
        };
    }
    sequence.build()
}

#[tokio::test]
async fn a_workspace_that_does_not_exist_is_none() {
    let rule = describing(&[None]);
    assert_eq!(describe(&answering(&[&rule]), ID).await.unwrap(), None);
}

#[tokio::test]
async fn a_described_workspace_carries_its_query_endpoint_and_tags() {
    let rule = describing(&[Some(WorkspaceStatusCode::Active)]);
    let ws = describe(&answering(&[&rule]), ID).await.unwrap().unwrap();
    assert_eq!(
        (
            ws.active,
            ws.prometheus_endpoint.as_deref(),
            ws.tags["managed-by"].as_str()
        ),
        (true, Some(ENDPOINT), "kcfed")
    );
}

#[tokio::test]
async fn deleting_a_workspace_already_gone_succeeds() {
    let rule = mock!(aws_sdk_amp::Client::delete_workspace)
        .then_error(|| DeleteWorkspaceError::ResourceNotFoundException(not_found()));
    delete(&answering(&[&rule]), ID).await.unwrap();
    assert_eq!(rule.num_calls(), 1);
}

/// Right after CreateWorkspace, DescribeWorkspace may not know the workspace yet, then shows it
/// CREATING: both are waited through.
#[tokio::test]
async fn a_new_workspace_is_waited_for_while_not_yet_visible_and_while_creating() {
    let rule = describing(&[
        None,
        Some(WorkspaceStatusCode::Creating),
        Some(WorkspaceStatusCode::Active),
    ]);
    let ws = wait_active(&answering(&[&rule]), ID, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((ws.id.as_str(), ws.active), (ID, true));
    assert_eq!(ws.prometheus_endpoint.as_deref(), Some(ENDPOINT));
    assert_eq!(rule.num_calls(), 3);
}

/// Polls at 0 s and 0.5 s; the next would come after the 1 s deadline, so the wait stops there.
#[tokio::test]
async fn a_workspace_still_creating_at_the_deadline_is_a_timeout_naming_it() {
    let rule = mock!(aws_sdk_amp::Client::describe_workspace)
        .sequence()
        .output(|| described(WorkspaceStatusCode::Creating))
        .repeatedly()
        .build();
    let err = wait_active(&answering(&[&rule]), ID, Duration::from_secs(1))
        .await
        .unwrap_err();
    let Error::Timeout { what, seconds } = &err else {
        panic!("expected a timeout, got {err:?}");
    };
    assert_eq!(
        (what.as_str(), *seconds),
        ("AMP workspace ws-0123abcd to become ACTIVE", 1)
    );
    assert_eq!(rule.num_calls(), 2);
    assert_eq!(
        err.fix().unwrap(),
        "raise --timeout or check the resource in the AWS console; running the command again resumes"
    );
}

/// A workspace whose creation failed never becomes active: the wait ends at once, saying so.
#[tokio::test]
async fn a_workspace_whose_creation_failed_ends_the_wait_with_the_fix() {
    let rule = describing(&[
        Some(WorkspaceStatusCode::Creating),
        Some(WorkspaceStatusCode::CreationFailed),
    ]);
    let err = wait_active(&answering(&[&rule]), ID, Duration::from_secs(600))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CREATION_FAILED"), "{err}");
    assert!(
        err.fix()
            .unwrap()
            .contains("aws amp delete-workspace --workspace-id ws-0123abcd"),
        "{err:?}"
    );
    assert_eq!(rule.num_calls(), 2);
}

#[tokio::test]
async fn a_refused_describe_ends_the_wait_at_once() {
    let rule = mock!(aws_sdk_amp::Client::describe_workspace)
        .sequence()
        .error(|| {
            DescribeWorkspaceError::AccessDeniedException(
                AccessDeniedException::builder()
                    .message("not authorized")
                    .meta(service_error("AccessDeniedException", "not authorized"))
                    .build()
                    .unwrap(),
            )
        })
        .repeatedly()
        .build();
    let err = wait_active(&answering(&[&rule]), ID, Duration::from_secs(60))
        .await
        .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "aps:DescribeWorkspace",
            AwsFailure::AccessDenied,
            "AccessDeniedException: not authorized"
        )
    );
    assert_eq!(rule.num_calls(), 1);
}

fn throttled() -> DescribeWorkspaceError {
    DescribeWorkspaceError::ThrottlingException(
        ThrottlingException::builder()
            .message("Rate exceeded")
            .meta(service_error("ThrottlingException", "Rate exceeded"))
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn a_throttled_describe_is_retried_until_the_attempts_run_out_then_reported_as_throttled() {
    let rule = mock!(aws_sdk_amp::Client::describe_workspace)
        .sequence()
        .error(throttled)
        .repeatedly()
        .build();
    let err = describe(&answering(&[&rule]), ID).await.unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "aps:DescribeWorkspace",
            AwsFailure::Throttled,
            "ThrottlingException: Rate exceeded"
        )
    );
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn a_describe_throttled_once_is_answered_by_its_retry() {
    let rule = mock!(aws_sdk_amp::Client::describe_workspace)
        .sequence()
        .error(throttled)
        .output(|| described(WorkspaceStatusCode::Active))
        .build();
    let ws = describe(&answering(&[&rule]), ID).await.unwrap().unwrap();
    assert!(ws.active);
    assert_eq!(rule.num_calls(), 2);
}

/// AMP returns the workspace a token already made instead of a second one: racing runs of the
/// same fleet share one workspace only if the token reaches the request.
#[tokio::test]
async fn a_created_workspace_is_asked_for_with_the_fleets_client_token_and_is_not_active_yet() {
    let rule = mock!(aws_sdk_amp::Client::create_workspace)
        .match_requests(|input| {
            input.alias() == Some("kubecost-amp")
                && input.client_token() == Some("kcfed-kubecost-amp")
                && input
                    .tags()
                    .and_then(|tags| tags.get("managed-by"))
                    .map(String::as_str)
                    == Some("kcfed")
        })
        .then_output(|| {
            CreateWorkspaceOutput::builder()
                .workspace_id(ID)
                .arn(format!("arn:aws:aps:us-east-2:111122223333:workspace/{ID}"))
                .status(status(WorkspaceStatusCode::Creating))
                .build()
                .unwrap()
        });
    let ws = create(
        &answering(&[&rule]),
        "kubecost-amp",
        "kcfed-kubecost-amp",
        vec![("managed-by".to_owned(), "kcfed".to_owned())],
    )
    .await
    .unwrap();
    assert_eq!(
        (ws.id.as_str(), ws.alias.as_deref(), ws.active),
        (ID, Some("kubecost-amp"), false)
    );
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn a_workspace_whose_creation_failed_is_not_a_candidate() {
    let rule = mock!(aws_sdk_amp::Client::list_workspaces).then_output(|| {
        let summary = |id: &str, code| {
            WorkspaceSummary::builder()
                .workspace_id(id)
                .alias("kubecost-amp")
                .arn(format!("arn:aws:aps:us-east-2:111122223333:workspace/{id}"))
                .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
                .status(status(code))
                .build()
                .unwrap()
        };
        ListWorkspacesOutput::builder()
            .workspaces(summary("ws-failed", WorkspaceStatusCode::CreationFailed))
            .workspaces(summary("ws-updating", WorkspaceStatusCode::Updating))
            .build()
            .unwrap()
    });
    let found = find_by_alias(&answering(&[&rule]), "kubecost-amp")
        .await
        .unwrap();
    let found: Vec<_> = found.iter().map(|ws| (ws.id.as_str(), ws.active)).collect();
    assert_eq!(found, [("ws-updating", false)]);
}
