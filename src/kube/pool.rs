//! The Kubernetes clients of a run's clusters.

use crate::error::Error;
use crate::helm;

/// One Kubernetes client per cluster, made when first needed (through the context its release
/// names) and dropped once the cluster's steps have run: a large fleet never holds every
/// cluster's connections at once.
pub struct KubeClients(Vec<Slot>);

struct Slot {
    release: helm::Release,
    client: tokio::sync::Mutex<Option<::kube::Client>>,
}

impl KubeClients {
    /// One slot per cluster: how its release reaches it, and the client planning made, if any.
    pub fn new(
        clusters: impl IntoIterator<Item = (helm::Release, Option<::kube::Client>)>,
    ) -> Self {
        Self(
            clusters
                .into_iter()
                .map(|(release, client)| Slot {
                    release,
                    client: tokio::sync::Mutex::new(client),
                })
                .collect(),
        )
    }

    /// The client of the cluster at `index`.
    pub async fn get(&self, index: usize) -> Result<::kube::Client, Error> {
        let slot = &self.0[index];
        let mut client = slot.client.lock().await;
        if let Some(client) = client.as_ref() {
            return Ok(client.clone());
        }
        let context = slot
            .release
            .kube_context
            .as_deref()
            .expect("every cluster's context is resolved before planning");
        let connected = super::client::connect(slot.release.kubeconfig.as_deref(), context).await?;
        *client = Some(connected.clone());
        Ok(connected)
    }

    pub fn close(&self, index: usize) {
        if let Ok(mut client) = self.0[index].client.try_lock() {
            client.take();
        }
    }
}
