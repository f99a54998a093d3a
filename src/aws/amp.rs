//! Amazon Managed Service for Prometheus: the fleet's workspace.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_amp::types::WorkspaceStatusCode;

use crate::aws::call_failed;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    pub id: String,
    pub alias: Option<String>,
    pub arn: String,
    pub active: bool,
    /// Its creation failed: it never becomes active.
    pub failed: bool,
    /// Nanoseconds since the epoch; orders workspaces created by racing runs.
    pub created_at: i128,
    pub tags: HashMap<String, String>,
    /// The base URL of its Prometheus-compatible query API; only DescribeWorkspace gives it.
    pub prometheus_endpoint: Option<String>,
}

/// The workspace with this id, or `None`.
pub async fn describe(
    client: &aws_sdk_amp::Client,
    workspace_id: &str,
) -> Result<Option<Workspace>, Error> {
    let output = match client
        .describe_workspace()
        .workspace_id(workspace_id)
        .send()
        .await
    {
        Ok(output) => output,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(call_failed(
                "aps:DescribeWorkspace",
                format!("workspace {workspace_id}"),
                err,
            ));
        }
    };
    Ok(output.workspace().map(|ws| Workspace {
        id: ws.workspace_id().to_owned(),
        alias: ws.alias().map(str::to_owned),
        arn: ws.arn().to_owned(),
        active: ws.status().map(|s| s.status_code()) == Some(&WorkspaceStatusCode::Active),
        failed: ws.status().map(|s| s.status_code()) == Some(&WorkspaceStatusCode::CreationFailed),
        created_at: ws.created_at().as_nanos(),
        tags: ws.tags().cloned().unwrap_or_default(),
        prometheus_endpoint: ws.prometheus_endpoint().map(str::to_owned),
    }))
}

/// Every workspace whose alias is exactly `alias`. The API filters by prefix, so the results are
/// checked again here; workspaces being deleted are not candidates.
pub async fn find_by_alias(
    client: &aws_sdk_amp::Client,
    alias: &str,
) -> Result<Vec<Workspace>, Error> {
    let mut pages = client
        .list_workspaces()
        .alias(alias)
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|err| {
            call_failed(
                "aps:ListWorkspaces",
                format!("workspaces aliased {alias}"),
                err,
            )
        })?;
        for ws in page.workspaces() {
            let status = ws.status().map(|s| s.status_code());
            if ws.alias() == Some(alias)
                && !matches!(
                    status,
                    Some(WorkspaceStatusCode::Deleting | WorkspaceStatusCode::CreationFailed)
                )
            {
                found.push(Workspace {
                    id: ws.workspace_id().to_owned(),
                    alias: Some(alias.to_owned()),
                    arn: ws.arn().to_owned(),
                    active: status == Some(&WorkspaceStatusCode::Active),
                    failed: false,
                    created_at: ws.created_at().as_nanos(),
                    tags: ws.tags().cloned().unwrap_or_default(),
                    prometheus_endpoint: None,
                });
            }
        }
    }
    Ok(found)
}

/// Creates the workspace. The client token is derived from the alias, so two kcfed runs racing
/// to create the same fleet get one workspace from AWS, not two. The workspace is returned as
/// AWS describes it right after the create, usually still CREATING.
pub async fn create(
    client: &aws_sdk_amp::Client,
    alias: &str,
    client_token: &str,
    tags: Vec<(String, String)>,
) -> Result<Workspace, Error> {
    let output = client
        .create_workspace()
        .alias(alias)
        .client_token(client_token)
        .set_tags(Some(tags.iter().cloned().collect()))
        .send()
        .await
        .map_err(|err| call_failed("aps:CreateWorkspace", format!("workspace {alias}"), err))?;
    let created_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as i128);
    Ok(Workspace {
        id: output.workspace_id().to_owned(),
        alias: Some(alias.to_owned()),
        arn: output.arn().to_owned(),
        active: output.status().map(|s| s.status_code()) == Some(&WorkspaceStatusCode::Active),
        failed: false,
        created_at,
        tags: tags.into_iter().collect(),
        prometheus_endpoint: None,
    })
}

pub async fn tag(
    client: &aws_sdk_amp::Client,
    workspace: &Workspace,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    client
        .tag_resource()
        .resource_arn(&workspace.arn)
        .set_tags(Some(tags.into_iter().collect()))
        .send()
        .await
        .map_err(|err| {
            call_failed(
                "aps:TagResource",
                format!("workspace {}", workspace.id),
                err,
            )
        })?;
    Ok(())
}

/// Polls until the workspace is ACTIVE, for at most `timeout`.
pub async fn wait_active(
    client: &aws_sdk_amp::Client,
    workspace_id: &str,
    timeout: Duration,
) -> Result<Workspace, Error> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match describe(client, workspace_id).await? {
            Some(ws) if ws.active => return Ok(ws),
            Some(ws) if ws.failed => {
                return Err(Error::Conflict {
                    resource: format!("AMP workspace {workspace_id}"),
                    reason:
                        "its creation failed (status CREATION_FAILED): it will never become active"
                            .to_owned(),
                    fix: format!(
                        "delete it (`aws amp delete-workspace --workspace-id {workspace_id}`), then run again to create another"
                    ),
                });
            }
            _ => {}
        }
        if started.elapsed() + delay > timeout {
            return Err(Error::Timeout {
                what: format!("AMP workspace {workspace_id} to become ACTIVE"),
                seconds: timeout.as_secs(),
            });
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

pub async fn delete(client: &aws_sdk_amp::Client, workspace_id: &str) -> Result<(), Error> {
    match client
        .delete_workspace()
        .workspace_id(workspace_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(call_failed(
            "aps:DeleteWorkspace",
            format!("workspace {workspace_id}"),
            err,
        )),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_amp::operation::list_workspaces::ListWorkspacesOutput;
    use aws_sdk_amp::types::{WorkspaceStatus, WorkspaceSummary};
    use aws_smithy_mocks::mock;

    use super::*;
    use crate::aws::mock_clients::answering;

    fn summary(id: &str, alias: &str, status: WorkspaceStatusCode) -> WorkspaceSummary {
        WorkspaceSummary::builder()
            .workspace_id(id)
            .alias(alias)
            .arn(format!("arn:aws:aps:us-east-2:111122223333:workspace/{id}"))
            .created_at(aws_smithy_types::DateTime::from_secs(1_700_000_000))
            .status(
                WorkspaceStatus::builder()
                    .status_code(status)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    /// AWS matches `--alias` as a prefix and pages its answer: kcfed keeps the exact alias on
    /// every page.
    #[tokio::test]
    async fn only_the_exact_alias_counts_on_every_page_and_deleting_workspaces_do_not() {
        let first = mock!(aws_sdk_amp::Client::list_workspaces)
            .match_requests(|input| input.next_token().is_none())
            .then_output(|| {
                ListWorkspacesOutput::builder()
                    .workspaces(summary("ws-1", "kubecost-amp", WorkspaceStatusCode::Active))
                    .workspaces(summary(
                        "ws-2",
                        "kubecost-amp-old",
                        WorkspaceStatusCode::Active,
                    ))
                    .next_token("page-2")
                    .build()
                    .unwrap()
            });
        let second = mock!(aws_sdk_amp::Client::list_workspaces)
            .match_requests(|input| input.next_token() == Some("page-2"))
            .then_output(|| {
                ListWorkspacesOutput::builder()
                    .workspaces(summary(
                        "ws-3",
                        "kubecost-amp",
                        WorkspaceStatusCode::Deleting,
                    ))
                    .workspaces(summary(
                        "ws-4",
                        "kubecost-amp",
                        WorkspaceStatusCode::Creating,
                    ))
                    .build()
                    .unwrap()
            });
        let found = find_by_alias(&answering(&[&first, &second]), "kubecost-amp")
            .await
            .unwrap();
        let found: Vec<_> = found.iter().map(|ws| (ws.id.as_str(), ws.active)).collect();
        assert_eq!(found, [("ws-1", true), ("ws-4", false)]);
    }
}

#[cfg(test)]
mod sdk_edges;
