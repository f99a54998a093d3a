//! The Kubernetes clients of a run's clusters.

use crate::error::Error;
use crate::helm;

/// One Kubernetes client per cluster, made when first needed and dropped once the cluster's
/// steps have run: a large fleet never holds every cluster's connections at once.
pub struct KubeClients(Vec<tokio::sync::Mutex<Option<::kube::Client>>>);

impl KubeClients {
    /// For `targets` clusters, none connected yet.
    pub fn new(targets: usize) -> Self {
        Self((0..targets).map(|_| Default::default()).collect())
    }

    /// For one cluster whose client planning already made.
    pub fn connected(client: ::kube::Client) -> Self {
        Self(vec![tokio::sync::Mutex::new(Some(client))])
    }

    /// The client of the cluster at `index`, connecting through the context its release names.
    pub async fn get(
        &self,
        index: usize,
        release: &helm::Release,
    ) -> Result<::kube::Client, Error> {
        let mut slot = self.0[index].lock().await;
        if let Some(client) = slot.as_ref() {
            return Ok(client.clone());
        }
        let context = release
            .kube_context
            .as_deref()
            .expect("every target's context is resolved before planning");
        let client = super::client::connect(release.kubeconfig.as_deref(), context).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    pub fn close(&self, index: usize) {
        if let Ok(mut slot) = self.0[index].try_lock() {
            slot.take();
        }
    }
}
