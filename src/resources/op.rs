//! What applying one step does, with everything it needs: the object to write, the values to
//! install, the ids to delete. Each kind defines its own change in its own file; this file only
//! names them, so apply never reads a step's name back.

use crate::aws::{amp, iam};
use crate::engine::run;
use crate::helm;
use crate::plan::Step;
use crate::render::StoreLocation;

use super::bucket::BucketChange;
use super::kube_objects::{KubeObject, KubeRef};
use super::member_record::RecordChange;
use super::oidc::ProviderChange;
use super::pod_identity::{AssociationChange, AssociationRef};
use super::policies::PolicyChange;
use super::release::Install;
use super::roles::RoleChange;
use super::workload::Restart;

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Nothing,
    /// The fleet's anchor: what depends on its id is planned again once it exists.
    CreateWorkspace {
        alias: String,
        client_token: String,
        tags: Vec<(String, String)>,
    },
    TagWorkspace {
        workspace: Box<amp::Workspace>,
        tags: Vec<(String, String)>,
    },
    Bucket(BucketChange),
    Policy(PolicyChange),
    OidcProvider(ProviderChange),
    Role(Box<RoleChange>),
    Association(Box<AssociationChange>),
    /// A member record written or removed (cleanup removes with it).
    Record(Box<RecordChange>),
    Kube(Box<KubeObject>),
    /// Restarts a workload's pods in the cluster's identity mode.
    Restart(Box<Restart>),
    Helm(Box<Install>),
    Uninstall(Box<helm::Release>),
    DeleteKube(KubeRef),
    DeleteRole(Box<iam::Role>),
    DeleteAssociation(Box<AssociationRef>),
    DeleteOidcProvider(String),
    DeletePolicy(String),
    DeleteBucket(StoreLocation),
    DeleteWorkspace(String),
}

/// A step with what it takes to apply it.
pub type Planned = run::Planned<Op>;

/// A step of the fleet's own (no cluster).
pub fn fleet_step(step: Step, op: impl Into<Op>) -> Planned {
    Planned {
        step,
        op: op.into(),
        target: None,
    }
}

/// A cluster's step, `target` the cluster's place among the run's clusters.
pub fn cluster_step(step: Step, op: impl Into<Op>, target: usize) -> Planned {
    Planned {
        step,
        op: op.into(),
        target: Some(target),
    }
}

/// A kind's planner says `None` when its step has nothing to apply.
impl<T: Into<Op>> From<Option<T>> for Op {
    fn from(change: Option<T>) -> Op {
        change.map_or(Op::Nothing, Into::into)
    }
}

impl From<BucketChange> for Op {
    fn from(change: BucketChange) -> Op {
        Op::Bucket(change)
    }
}

impl From<PolicyChange> for Op {
    fn from(change: PolicyChange) -> Op {
        Op::Policy(change)
    }
}

impl From<ProviderChange> for Op {
    fn from(change: ProviderChange) -> Op {
        Op::OidcProvider(change)
    }
}

impl From<RoleChange> for Op {
    fn from(change: RoleChange) -> Op {
        Op::Role(Box::new(change))
    }
}

impl From<AssociationChange> for Op {
    fn from(change: AssociationChange) -> Op {
        Op::Association(Box::new(change))
    }
}

impl From<RecordChange> for Op {
    fn from(change: RecordChange) -> Op {
        Op::Record(Box::new(change))
    }
}

impl From<AssociationRef> for Op {
    fn from(association: AssociationRef) -> Op {
        Op::DeleteAssociation(Box::new(association))
    }
}

impl From<Restart> for Op {
    fn from(restart: Restart) -> Op {
        Op::Restart(Box::new(restart))
    }
}

impl From<KubeObject> for Op {
    fn from(object: KubeObject) -> Op {
        Op::Kube(Box::new(object))
    }
}

impl From<Install> for Op {
    fn from(install: Install) -> Op {
        Op::Helm(Box::new(install))
    }
}

impl From<KubeRef> for Op {
    fn from(object: KubeRef) -> Op {
        Op::DeleteKube(object)
    }
}
