//! The fleet kcfed manages and the clusters in it: what the clusters share (`shared`), how their
//! pods get AWS credentials (`identity`), each cluster as a run installs it (`target`), who the
//! members are (`members`), and what the report says the fleet is made of (`summary`).

mod anchor;
mod identity;
mod members;
mod shared;
mod summary;
mod target;

pub use anchor::{Anchor, Found, holds_record};
pub use identity::IdentityMode;
pub use members::{
    choose_ids, find_member, members, members_of, not_in_fleet, roles_by_cluster, tagged_roles,
};
pub use shared::Fleet;
pub use summary::{ClusterResources, Resources, ServiceAccountRole, port_forward_hint, summary};
pub use target::Target;
