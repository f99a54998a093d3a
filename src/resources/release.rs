//! A cluster's Helm release of the cost-analyzer chart, with the values files kcfed renders for
//! its role in the fleet.

use std::path::Path;
use std::time::Duration;

use crate::aws::amp;
use crate::chart::{self, ChartLine, Move};
use crate::error::Error;
use crate::fleet::{Fleet, Target};
use crate::helm;
use crate::plan::{Action, ResourceKind, Step};
use crate::render::{ReleaseContext, Renderer, ValuesFile};

/// kcfed's values files of the cluster's release, in the order helm merges them.
fn kcfed_values(
    fleet: &Fleet,
    target: &Target,
    renderer: &Renderer,
) -> Result<Vec<ValuesFile>, Error> {
    let line = target.line()?;
    let workspace = fleet.endpoints();
    if line.uses_amp() && workspace.is_none() {
        return Err(fleet.no_workspace_for(&target.release.chart_version));
    }
    renderer.helm_values(
        &ReleaseContext::new(
            target.role,
            &target.cluster_id,
            &target.cluster.account,
            workspace,
            fleet.store.clone(),
            line,
        )
        .with_storage_class(target.storage_class.clone())
        .with_cloud_integration_secret(target.cloud_integration_secret.clone()),
    )
}

/// Every values file of the release in helm's order: the EKS defaults, the user's `--values`
/// files, then kcfed's settings the fleet depends on, which no user file can change.
pub fn values(
    fleet: &Fleet,
    target: &Target,
    renderer: &Renderer,
) -> Result<Vec<ValuesFile>, Error> {
    Ok(with_user_values(
        kcfed_values(fleet, target, renderer)?,
        target,
    ))
}

fn with_user_values(mut files: Vec<ValuesFile>, target: &Target) -> Vec<ValuesFile> {
    files.splice(1..1, target.user_values.iter().cloned());
    files
}

/// The release's step from what helm reports: install, upgrade (status, chart version or
/// values differ), or nothing.
/// A release to install or upgrade: on which cluster, with which values files.
#[derive(Debug, Clone, PartialEq)]
pub struct Install {
    pub release: helm::Release,
    pub values: Vec<ValuesFile>,
    /// A workspace still being created: the release's remote write waits for it.
    pub workspace_creating: Option<String>,
}

pub fn plan(
    scope: &str,
    fleet: &Fleet,
    target: &Target,
    observed: Option<helm::Installed>,
    renderer: &Renderer,
) -> Result<(Step, Option<Install>), Error> {
    let kcfed = kcfed_values(fleet, target, renderer)?;
    let overridden = crate::render::overridden_fleet_settings(&kcfed[1..], &target.user_values)?;
    let values = with_user_values(kcfed, target);
    let release_step = |action| {
        Step::new(
            scope,
            ResourceKind::HelmRelease,
            format!("{}/{}", target.release.namespace, target.release.name),
            action,
        )
        .with_detail(format!(
            "{} {} {}",
            target.line().map_or("cost-analyzer", ChartLine::chart_name),
            target.release.chart_version,
            target.release.reached_how()
        ))
    };
    let wanted_values = crate::render::merged_values(&values)?;
    let install = Install {
        release: target.release.clone(),
        values,
        workspace_creating: fleet
            .workspace()
            .filter(|ws| !ws.active)
            .map(|ws| ws.id.clone()),
    };
    let release_step = |action| {
        let step = release_step(action);
        if overridden.is_empty() {
            step
        } else {
            step.with_detail(format!(
                "your values set {}: kcfed keeps its own, which the fleet depends on",
                overridden.join(", ")
            ))
        }
    };
    Ok(match observed {
        None => (release_step(Action::Create), Some(install)),
        Some(installed)
            if installed.deployed
                && installed.chart_version == target.release.chart_version
                && installed.values == wanted_values =>
        {
            (release_step(Action::Exists), None)
        }
        Some(installed) => {
            let mut details = Vec::new();
            if !installed.deployed {
                details.push(format!("release status is {}", installed.status));
            }
            if installed.chart_version != target.release.chart_version {
                details.push(format!(
                    "chart {} -> {}",
                    installed.chart_version, target.release.chart_version
                ));
                match chart::moving(
                    &installed.chart_version,
                    &target.release.chart_version,
                    &target.cluster.arn,
                )? {
                    Move::Upgrade(notes) => details.extend(notes),
                    Move::Refused(reason) => {
                        return Ok((release_step(Action::Conflict).with_detail(reason), None));
                    }
                }
            }
            if installed.values != wanted_values {
                details.push("values differ".to_owned());
            }
            let mut step = release_step(Action::Update);
            step.details.extend(details);
            (step, Some(install))
        }
    })
}

/// Installs or upgrades the release, once a workspace still being created is active.
pub async fn apply(
    helm_path: &Path,
    amp_client: &aws_sdk_amp::Client,
    timeout: Duration,
    install: &Install,
) -> Result<(), Error> {
    if let Some(workspace) = &install.workspace_creating {
        amp::wait_active(amp_client, workspace, timeout).await?;
    }
    helm::upgrade(helm_path, &install.release, &install.values).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fixtures::{fleet, target};

    fn installed(chart_version: &str, status: &str) -> helm::Installed {
        let values = values(&fleet(), &target(), &Renderer::new()).unwrap();
        helm::Installed {
            status: status.to_owned(),
            deployed: status == "deployed",
            chart_version: chart_version.to_owned(),
            values: crate::render::merged_values(&values).unwrap(),
        }
    }

    /// The step's action, and whether it installs.
    fn plan_for(observed: Option<helm::Installed>) -> (Step, bool) {
        plan_with(&target(), observed)
    }

    fn plan_with(target: &Target, observed: Option<helm::Installed>) -> (Step, bool) {
        let (step, install) = plan("prod", &fleet(), target, observed, &Renderer::new()).unwrap();
        if let Some(install) = &install {
            assert_eq!(install.release, target.release);
            assert_eq!(
                install.values,
                values(&fleet(), target, &Renderer::new()).unwrap()
            );
        }
        (step, install.is_some())
    }

    #[test]
    fn a_release_is_installed_kept_or_upgraded_with_the_reason() {
        let (step, op) = plan_for(None);
        assert_eq!((step.action, op), (Action::Create, true));
        assert_eq!(step.name, "kubecost/kubecost");

        let (step, op) = plan_for(Some(installed("1.103.4", "deployed")));
        assert_eq!((step.action, op), (Action::Exists, false));

        let (step, op) = plan_for(Some(installed("1.103.3", "failed")));
        assert_eq!((step.action, op), (Action::Update, true));
        assert!(
            step.details
                .contains(&"release status is failed".to_owned()),
            "{step:?}"
        );
        assert!(
            step.details
                .contains(&"chart 1.103.3 -> 1.103.4".to_owned()),
            "{step:?}"
        );

        // Onto 2.x, and never back.
        let mut on_2x = target();
        on_2x.release.chart_version = "2.8.7".to_owned();
        let (step, op) = plan_with(&on_2x, Some(installed("1.103.4", "deployed")));
        assert_eq!((step.action, op), (Action::Update, true));
        assert!(
            step.details.contains(&"chart 1.103.4 -> 2.8.7".to_owned()),
            "{step:?}"
        );
        let (step, op) = plan_for(Some(installed("2.8.7", "deployed")));
        assert_eq!((step.action, op), (Action::Conflict, false));
        assert!(step.details[1].contains("back to 1.x"), "{step:?}");

        let mut changed = installed("1.103.4", "deployed");
        changed.values["kubecostProductConfigs"]["clusterName"] = "old".into();
        let (step, _) = plan_for(Some(changed));
        assert!(
            step.details.contains(&"values differ".to_owned()),
            "{step:?}"
        );
    }
}
