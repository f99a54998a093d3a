//! The workloads whose pods run as kcfed's service accounts, restarted when their cluster moves
//! between IRSA and Pod Identity. A pod takes its credentials when it starts (IRSA's web identity
//! is injected into it then), so it keeps the old mode until it restarts. The restart stamps the
//! pod template with the mode, as `kubectl rollout restart` stamps a time: a template that says
//! the cluster's mode already needs nothing, so a rerun restarts nothing.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};

use crate::error::Error;
use crate::fleet::IdentityMode;
use crate::kube::api::{KUBE_BACKOFF, kube_error, list_in, retry};
use crate::names::FIELD_MANAGER;
use crate::plan::{Action, ResourceKind, Step};

/// The pod template annotation that says which mode a workload's pods were started in.
pub const IDENTITY_ANNOTATION: &str = "kcfed/identity";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Deployment,
    StatefulSet,
    DaemonSet,
}

impl WorkloadKind {
    fn label(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "deployment",
            WorkloadKind::StatefulSet => "statefulset",
            WorkloadKind::DaemonSet => "daemonset",
        }
    }
}

/// A workload as read: what its pods run as, the mode its template was stamped with, and the
/// chart that made it (its `helm.sh/chart` label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub namespace: String,
    pub name: String,
    pub service_account: Option<String>,
    pub identity: Option<String>,
    pub chart: Option<String>,
}

/// The StatefulSets among `workloads`, by name and chart (see `chart::blocking_workloads`).
pub fn stateful_sets(workloads: &[Workload]) -> impl Iterator<Item = (&str, Option<&str>)> {
    workloads
        .iter()
        .filter(|w| w.kind == WorkloadKind::StatefulSet)
        .map(|w| (w.name.as_str(), w.chart.as_deref()))
}

/// A workload to restart in a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub workload: Workload,
    pub identity: IdentityMode,
}

/// The namespace's Deployments, StatefulSets and DaemonSets.
pub async fn observe(client: &Client, namespace: &str) -> Result<Vec<Workload>, Error> {
    let (deployments, sets, daemons) = tokio::try_join!(
        list_in::<Deployment>(client, namespace, "deployments"),
        list_in::<StatefulSet>(client, namespace, "statefulsets"),
        list_in::<DaemonSet>(client, namespace, "daemonsets"),
    )?;
    let workload = |kind, metadata: &kube::api::ObjectMeta, template: Option<&PodTemplateSpec>| {
        let annotations = template.and_then(|t| t.metadata.as_ref()?.annotations.as_ref());
        Workload {
            kind,
            namespace: namespace.to_owned(),
            name: metadata.name.clone().unwrap_or_default(),
            service_account: template.and_then(|t| t.spec.as_ref()?.service_account_name.clone()),
            identity: annotations.and_then(|a| a.get(IDENTITY_ANNOTATION).cloned()),
            chart: metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get("helm.sh/chart").cloned()),
        }
    };
    let deployments = deployments.iter().map(|d| {
        let template = d.spec.as_ref().map(|s| &s.template);
        workload(WorkloadKind::Deployment, &d.metadata, template)
    });
    let sets = sets.iter().map(|s| {
        let template = s.spec.as_ref().map(|s| &s.template);
        workload(WorkloadKind::StatefulSet, &s.metadata, template)
    });
    let daemons = daemons.iter().map(|d| {
        let template = d.spec.as_ref().map(|s| &s.template);
        workload(WorkloadKind::DaemonSet, &d.metadata, template)
    });
    Ok(deployments.chain(sets).chain(daemons).collect())
}

/// The restarts a cluster needs: each workload running as one of `service_accounts` whose
/// template says another mode, or none while `moving` (its service accounts change mode now).
pub fn plan(
    scope: &str,
    workloads: &[Workload],
    service_accounts: &[&str],
    identity: IdentityMode,
    moving: bool,
) -> Vec<(Step, Option<Restart>)> {
    workloads
        .iter()
        .filter(|w| {
            w.service_account
                .as_deref()
                .is_some_and(|sa| service_accounts.contains(&sa))
        })
        .filter(|w| match &w.identity {
            Some(stamped) => stamped != identity.as_str(),
            None => moving,
        })
        .map(|workload| {
            let step = Step::new(
                scope,
                ResourceKind::Workload,
                format!(
                    "{}/{}/{}",
                    workload.namespace,
                    workload.kind.label(),
                    workload.name
                ),
                Action::Update,
            )
            .with_detail(format!(
                "restart: its pods start with {identity} credentials"
            ));
            let restart = Restart {
                workload: workload.clone(),
                identity,
            };
            (step, Some(restart))
        })
        .collect()
}

/// Stamps the pod template, which makes the controller replace the pods.
pub async fn apply(client: &Client, Restart { workload, identity }: &Restart) -> Result<(), Error> {
    let stamp = Patch::Merge(serde_json::json!({
        "spec": {"template": {"metadata": {"annotations": {
            IDENTITY_ANNOTATION: identity.as_str()
        }}}}
    }));
    let (namespace, name) = (&workload.namespace, &workload.name);
    let patched = match workload.kind {
        WorkloadKind::Deployment => {
            merge_patch::<Deployment>(client, namespace, name, &stamp).await
        }
        WorkloadKind::StatefulSet => {
            merge_patch::<StatefulSet>(client, namespace, name, &stamp).await
        }
        WorkloadKind::DaemonSet => merge_patch::<DaemonSet>(client, namespace, name, &stamp).await,
    };
    let resource = format!("{} {}", workload.kind.label(), workload.name);
    patched.map_err(|err| kube_error("restart", &resource, err))
}

/// One merge patch of a namespaced workload, as kcfed's field manager.
async fn merge_patch<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    patch: &Patch<serde_json::Value>,
) -> Result<(), kube::Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PatchParams::default()
    };
    let api = Api::<K>::namespaced(client.clone(), namespace);
    retry(KUBE_BACKOFF, || api.patch(name, &params, patch))
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(name: &str, account: &str, identity: Option<&str>) -> Workload {
        Workload {
            kind: WorkloadKind::Deployment,
            namespace: "kubecost".to_owned(),
            name: name.to_owned(),
            service_account: Some(account.to_owned()),
            identity: identity.map(str::to_owned),
            chart: None,
        }
    }

    #[test]
    fn a_moving_cluster_restarts_its_workloads_once() {
        let accounts = ["kubecost-cost-analyzer-amp"];
        let running = [
            workload("kubecost-cost-analyzer", "kubecost-cost-analyzer-amp", None),
            workload("kubecost-grafana", "kubecost-grafana", None),
        ];
        let mode = IdentityMode::PodIdentity;
        assert!(plan("prod", &running, &accounts, mode, false).is_empty());
        let moving = plan("prod", &running, &accounts, mode, true);
        assert_eq!(
            moving.len(),
            1,
            "only what runs as kcfed's service accounts"
        );
        assert_eq!(
            moving[0].0.name,
            "kubecost/deployment/kubecost-cost-analyzer"
        );
        let stamped = [workload(
            "kubecost-cost-analyzer",
            "kubecost-cost-analyzer-amp",
            Some("pod-identity"),
        )];
        assert!(plan("prod", &stamped, &accounts, mode, true).is_empty());
        let back = plan("prod", &stamped, &accounts, IdentityMode::Irsa, false);
        assert_eq!(back.len(), 1, "moving back restarts again");
    }
}
