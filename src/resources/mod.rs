//! The resources kcfed provisions, one file per kind: what it should be, how it is read, how
//! what exists turns into plan steps (pure functions), and how its change is applied. `op`
//! names each kind's change; `apply` runs them, for building a fleet and for tearing it down;
//! `cluster` reads and plans one cluster's share.

pub mod apply;
pub mod bucket;
pub mod cluster;
pub mod fleet_lookup;
pub mod irsa_remains;
pub mod kube_objects;
pub mod member_record;
pub mod oidc;
pub mod op;
pub mod pod_identity;
pub mod policies;
pub mod quotas;
pub mod release;
pub mod roles;
pub mod shared_roles;
pub mod storage;
pub mod workload;
pub mod workspace;

#[cfg(test)]
pub(crate) mod fixtures;
