//! `kcfed dashboard`'s Kubernetes side: the pod that serves Kubecost's UI, and one forwarded
//! connection to it through the API server's port-forward subresource, as `kubectl
//! port-forward` makes it.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};

use super::api::kube_error;
use crate::chart::{ChartLine, UI_PORT, ui_deployment};
use crate::error::Error;

/// The running pod of the release's cost-analyzer Deployment, and the chart it was installed
/// from (`helm.sh/chart`, `cost-analyzer-2.8.7`), which says whether it has a UI.
pub struct UiPod {
    pub name: String,
    pub chart: Option<String>,
}

pub async fn ui_pod(client: &Client, namespace: &str, release: &str) -> Result<UiPod, Error> {
    // The line is known once the Deployment is read: each line's UI Deployment is looked for.
    let names = [
        ui_deployment(release, ChartLine::V2),
        ui_deployment(release, ChartLine::V3),
    ];
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let found = futures::future::try_join_all(names.iter().map(|name| {
        let deployments = &deployments;
        async move {
            deployments
                .get_opt(name)
                .await
                .map_err(|err| kube_error("get", &format!("deployment {namespace}/{name}"), err))
        }
    }))
    .await?;
    let (deployment_name, deployment) = names
        .iter()
        .zip(found)
        .find_map(|(name, deployment)| Some((name, deployment?)))
        .ok_or_else(|| Error::NotFound {
            what: "Kubecost deployment",
            name: names.join(" or "),
            place: format!("in namespace {namespace}"),
            fix: "install Kubecost on the cluster with `kcfed init primary` or `kcfed join cluster`, or pass its --namespace and --release".to_owned(),
        })?;
    let resource = format!("deployment {namespace}/{deployment_name}");
    let chart = deployment
        .metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get("helm.sh/chart"))
        .cloned();
    let selector = deployment
        .spec
        .and_then(|spec| spec.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let listed = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|err| kube_error("list", &format!("pods of {resource}"), err))?;
    let running = listed.items.into_iter().find(|pod| {
        pod.status
            .as_ref()
            .and_then(|status| status.phase.as_deref())
            == Some("Running")
    });
    let pod = running.ok_or_else(|| Error::Conflict {
        resource,
        reason: "no pod of it is running".to_owned(),
        fix: format!(
            "check its pods: `kubectl --namespace {namespace} get pods -l {selector}`; `kcfed status` shows what is not ready"
        ),
    })?;
    Ok(UiPod {
        name: pod.metadata.name.unwrap_or_default(),
        chart,
    })
}

/// Carries one local connection to the pod's UI port and back until either side closes.
pub async fn forward(
    client: &Client,
    namespace: &str,
    pod: &str,
    mut local: tokio::net::TcpStream,
) -> Result<(), Error> {
    let resource = format!("pod {namespace}/{pod}");
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut forwarder = pods
        .portforward(pod, &[UI_PORT])
        .await
        .map_err(|err| kube_error("port-forward", &resource, err))?;
    let mut upstream = forwarder
        .take_stream(UI_PORT)
        .expect("the forwarder has a stream for the port it was asked for");
    // A browser closing its connection early is the normal end of a forward.
    let _ = tokio::io::copy_bidirectional(&mut local, &mut upstream).await;
    drop(upstream);
    forwarder.join().await.map_err(|err| Error::Kube {
        action: "port-forward",
        resource,
        message: err.to_string(),
        unreachable: false,
        denied: false,
    })
}
