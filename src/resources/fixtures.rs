//! A fleet and a cluster to plan for, without AWS: the middle rung of the test ladder.

use crate::aws::{amp, eks};
use crate::chart::CHART_REF;
use crate::cli::ClusterRole;
use crate::fleet::{Anchor, Fleet, IdentityMode, Target};
use crate::helm;
use crate::render::StoreLocation;

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "us-east-2";
pub const WORKSPACE: &str = "ws-12345678-abcd-1234-abcd-123456789012";

/// A federated fleet whose workspace exists.
pub fn fleet() -> Fleet {
    Fleet {
        account_id: ACCOUNT.to_owned(),
        workspace_region: REGION.to_owned(),
        anchor: Anchor::Workspace(Some(amp::Workspace {
            id: WORKSPACE.to_owned(),
            alias: Some("kubecost-amp".to_owned()),
            arn: format!("arn:aws:aps:{REGION}:{ACCOUNT}:workspace/{WORKSPACE}"),
            active: true,
            failed: false,
            created_at: 0,
            tags: Default::default(),
            prometheus_endpoint: None,
        })),
        store: Some(StoreLocation::new("kcfed-etl", REGION)),
        identity: IdentityMode::Irsa,
        chart_version: "1.103.4".to_owned(),
    }
}

/// The same fleet once it uses EKS Pod Identity.
pub fn pod_identity_fleet() -> Fleet {
    Fleet {
        identity: IdentityMode::PodIdentity,
        ..fleet()
    }
}

/// The primary cluster `prod`.
pub fn target() -> Target {
    let arn = format!("arn:aws:eks:{REGION}:{ACCOUNT}:cluster/prod");
    Target {
        role: ClusterRole::Primary,
        cluster: eks::Cluster {
            name: "prod".to_owned(),
            arn: arn.clone(),
            region: REGION.to_owned(),
            account: ACCOUNT.to_owned(),
            oidc_issuer: format!("https://oidc.eks.{REGION}.amazonaws.com/id/ABCDEF0123456789"),
            endpoint: None,
            certificate_authority: None,
            auto_mode: false,
        },
        cluster_id: "prod".to_owned(),
        id_shared_with: None,
        release: helm::Release {
            name: "kubecost".to_owned(),
            namespace: "kubecost".to_owned(),
            chart: CHART_REF.to_owned(),
            chart_version: "1.103.4".to_owned(),
            kube_context: Some(arn),
            kubeconfig: None,
            direct: false,
            timeout_secs: 600,
        },
        storage_class: None,
        user_values: Vec::new(),
        cloud_integration_secret: None,
    }
}
