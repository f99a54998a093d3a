//! A client for one context of a kubeconfig, and the check that its cluster answers.

use std::path::Path;

use kube::Client;
use kube::config::KubeConfigOptions;

use super::api::{KUBE_BACKOFF, kube_error, retry};
use super::contexts::one_context;
use crate::error::{Error, error_chain};

/// A client for `context` of the kubeconfig at `kubeconfig` (or the default one).
pub async fn connect(kubeconfig: Option<&Path>, context: &str) -> Result<Client, Error> {
    let config = one_context(kubeconfig, context)?;
    let options = KubeConfigOptions {
        context: Some(context.to_owned()),
        ..KubeConfigOptions::default()
    };
    let unusable = |message: String| Error::Kubeconfig {
        message: format!("context {context:?} cannot be used: {message}"),
        fix: format!(
            "check it with `kubectl --context {context} get namespaces`; for EKS, rewrite it with `aws eks update-kubeconfig --name CLUSTER --region REGION`"
        ),
    };
    let mut config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|err| unusable(error_chain(&err)))?;
    // kube's own retry layer waits out 429/503/504 for minutes; `retry` below is the one bounded
    // retry of every call, so the client must not add its own underneath.
    config.default_retry = false;
    Client::try_from(config).map_err(|err| unusable(error_chain(&err)))
}

/// Asks the API server its version: a cluster that cannot be reached or refuses kcfed is found
/// here, once, before the reads and helm calls that would each report it.
pub async fn probe(client: &Client) -> Result<(), Error> {
    retry(KUBE_BACKOFF, || client.apiserver_version())
        .await
        .map(drop)
        .map_err(|err| kube_error("read", "the API server's version", err))
}
