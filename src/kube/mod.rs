//! kcfed's Kubernetes access: which kube context (or direct AWS credentials) reaches an EKS
//! cluster, the client for it, and the one bounded retry every call goes through. What kcfed
//! writes in a cluster is a resource kind (`resources::kube_objects`); what it reads for
//! `status` lives with status.

pub(crate) mod api;
mod client;
mod contexts;
mod direct;
pub mod forward;
mod pool;
mod reach;

pub use client::{connect, probe};
pub use contexts::{
    context_for_cluster, current_eks_cluster, eks_cluster_arns, find_context, load_kubeconfig,
    load_kubeconfig_or_empty, server_of,
};
pub use direct::RunKubeconfigs;
pub use pool::KubeClients;
pub use reach::{Reached, Reacher, existing_release, reach_and_open, read_cluster, release};
