//! Every name kcfed derives (roles, policies, bucket, tags, paths, endpoints), in one place, and the
//! validation of every name a user gives. Nothing here does I/O.

use serde::Serialize;

pub const DEFAULT_WORKSPACE_ALIAS: &str = "kubecost-amp";

/// The service accounts the walkthrough names; the chart is told not to create its own.
pub const COST_ANALYZER_SERVICE_ACCOUNT: &str = "kubecost-cost-analyzer-amp";
pub const PROMETHEUS_SERVER_SERVICE_ACCOUNT: &str = "kubecost-prometheus-server-amp";
pub const OBJECT_STORE_SECRET: &str = "kubecost-object-store";
pub const OBJECT_STORE_SECRET_KEY: &str = "federated-store.yaml";

/// The server-side apply field manager for every Kubernetes object kcfed owns.
pub const FIELD_MANAGER: &str = "kcfed";
/// The port of the chart's SigV4 proxy sidecar (`sigV4Proxy.port`).
pub const SIGV4_PROXY_PORT: u16 = 8005;

/// Tags on AWS resources and labels on Kubernetes objects, so `join` and `cleanup` find what kcfed
/// made without a local state file.
pub mod tags {
    pub const MANAGED_BY: &str = "kcfed:managed-by";
    pub const MANAGED_BY_VALUE: &str = "kcfed";
    /// The fleet's id: its AMP workspace's, or for a fleet that never had one, its bucket's
    /// (see [`super::bucket_fleet_id`]).
    pub const FLEET: &str = "kcfed:fleet";
    /// The EKS cluster ARN a role or provider was made for.
    pub const CLUSTER: &str = "kcfed:cluster";
    /// On a cluster's roles: its cluster id, when that is not its EKS name.
    pub const CLUSTER_ID: &str = "kcfed:cluster-id";
    /// On the workspace: the primary cluster's ARN, so `join` can refuse to join it as an agent.
    pub const PRIMARY_CLUSTER: &str = "kcfed:primary-cluster";
    /// On the workspace: the federated bucket and its region (absent in quick-start fleets).
    pub const BUCKET: &str = "kcfed:bucket";
    pub const BUCKET_REGION: &str = "kcfed:bucket-region";
    /// On the workspace: the bucket kcfed creates for the fleet, tagged before the bucket exists,
    /// so a bucket an interrupted run made but could not tag yet is still known as kcfed's.
    pub const BUCKET_MADE: &str = "kcfed:bucket-made";
    /// On the workspace: how the fleet's pods get AWS credentials (`pod-identity`; absent: IRSA).
    pub const IDENTITY: &str = "kcfed:identity";
    /// On the workspace: the chart version of the primary's release, which a new cluster joins
    /// with unless `--chart-version` says otherwise.
    pub const CHART_VERSION: &str = "kcfed:chart-version";
    /// Kubernetes label with the same meaning as [`MANAGED_BY`].
    pub const K8S_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
}

/// Which of the two Kubecost service accounts a role is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceAccountKind {
    /// The cost-analyzer pod (with its SigV4 proxy): queries AMP, reads and writes the bucket.
    CostAnalyzer,
    /// The bundled Prometheus server: remote-writes to AMP.
    PrometheusServer,
}

impl ServiceAccountKind {
    pub const ALL: [ServiceAccountKind; 2] = [Self::CostAnalyzer, Self::PrometheusServer];

    pub fn service_account(self) -> &'static str {
        match self {
            Self::CostAnalyzer => COST_ANALYZER_SERVICE_ACCOUNT,
            Self::PrometheusServer => PROMETHEUS_SERVER_SERVICE_ACCOUNT,
        }
    }

    fn role_suffix(self) -> &'static str {
        match self {
            Self::CostAnalyzer => "cost-analyzer",
            Self::PrometheusServer => "prometheus",
        }
    }
}

/// ARN partition and DNS suffix of a region (China and GovCloud differ from the rest).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

pub fn dns_suffix(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    }
}

/// Where an AMP workspace is, and the endpoints the chart needs to reach it. Always derived from the
/// workspace's own region, never from the cluster's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkspaceEndpoints {
    pub id: String,
    pub region: String,
    pub arn: String,
    /// The SigV4 proxy's upstream host (`sigV4Proxy.host`).
    pub sigv4_host: String,
    pub remote_write_url: String,
    /// The query endpoint seen by the cost-analyzer: through its SigV4 proxy sidecar.
    pub query_url: String,
}

impl WorkspaceEndpoints {
    pub fn new(account_id: &str, region: &str, workspace_id: &str) -> Self {
        let sigv4_host = format!("aps-workspaces.{region}.{}", dns_suffix(region));
        Self {
            id: workspace_id.to_owned(),
            region: region.to_owned(),
            arn: format!(
                "arn:{}:aps:{region}:{account_id}:workspace/{workspace_id}",
                partition(region)
            ),
            remote_write_url: format!(
                "https://{sigv4_host}/workspaces/{workspace_id}/api/v1/remote_write"
            ),
            query_url: format!("http://localhost:{SIGV4_PROXY_PORT}/workspaces/{workspace_id}"),
            sigv4_host,
        }
    }
}

/// The names shared by every cluster of one fleet (one AMP workspace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FleetNames {
    pub account_id: String,
    pub partition: &'static str,
    pub workspace_id: String,
}

/// The IAM policies a fleet shares between its clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FleetPolicy {
    AmpQuery,
    AmpRemoteWrite,
    FederatedStore,
}

impl FleetPolicy {
    /// The policies a fleet has while its clusters reach AMP.
    pub const AMP: [FleetPolicy; 2] = [Self::AmpQuery, Self::AmpRemoteWrite];

    fn suffix(self) -> &'static str {
        match self {
            Self::AmpQuery => "amp-query",
            Self::AmpRemoteWrite => "amp-remote-write",
            Self::FederatedStore => "federated-store",
        }
    }

    /// The policies a service account's role needs: least privilege, unlike the walkthrough, which
    /// attached both AMP policies to both roles.
    pub fn for_service_account(
        kind: ServiceAccountKind,
        federated: bool,
        amp: bool,
    ) -> Vec<FleetPolicy> {
        match kind {
            ServiceAccountKind::CostAnalyzer if !amp => vec![Self::FederatedStore],
            ServiceAccountKind::CostAnalyzer if federated => {
                vec![Self::AmpQuery, Self::FederatedStore]
            }
            ServiceAccountKind::CostAnalyzer => vec![Self::AmpQuery],
            ServiceAccountKind::PrometheusServer => vec![Self::AmpRemoteWrite],
        }
    }
}

impl FleetNames {
    pub fn new(account_id: &str, region: &str, workspace_id: &str) -> Self {
        Self {
            account_id: account_id.to_owned(),
            partition: partition(region),
            workspace_id: workspace_id.to_owned(),
        }
    }

    /// Every IAM object of a fleet lives under this path, so one prefix lists them all.
    pub fn iam_path(&self) -> String {
        format!("/kcfed/{}/", self.workspace_id)
    }

    pub fn policy_name(&self, policy: FleetPolicy) -> String {
        format!("kcfed-{}-{}", self.workspace_id, policy.suffix())
    }

    pub fn policy_arn(&self, policy: FleetPolicy) -> String {
        format!(
            "arn:{}:iam::{}:policy{}{}",
            self.partition,
            self.account_id,
            self.iam_path(),
            self.policy_name(policy)
        )
    }

    pub fn role_arn(&self, role_name: &str) -> String {
        self.role_arn_in(&self.account_id, role_name)
    }

    /// A role under the fleet's IAM path in `account` (Pod Identity roles live in each
    /// cluster's account).
    pub fn role_arn_in(&self, account: &str, role_name: &str) -> String {
        format!(
            "arn:{}:iam::{account}:role{}{role_name}",
            self.partition,
            self.iam_path()
        )
    }

    /// A Pod Identity fleet's role for one service account, the same name in every account:
    /// shared by all the fleet's clusters there.
    pub fn shared_role_name(&self, kind: ServiceAccountKind) -> String {
        format!("kcfed-{}-{}", self.workspace_id, kind.role_suffix())
    }

    /// The fleet account's role for one service account that the clusters of other accounts
    /// reach, as their associations' target role.
    pub fn target_role_name(&self, kind: ServiceAccountKind) -> String {
        format!("kcfed-{}-{}-xa", self.workspace_id, kind.role_suffix())
    }

    /// What every account's shared roles match, for the target roles' trust: kcfed's path and
    /// name in any account.
    pub fn shared_role_pattern(&self, kind: ServiceAccountKind) -> String {
        self.role_arn_in("*", &self.shared_role_name(kind))
    }
}

/// IAM role names are at most 64 characters; the cluster part is shortened to fit and a hash of
/// region and cluster keeps same-named clusters in different regions apart (and, for a cluster
/// in another account than the fleet's, in different accounts: the fleet's own clusters keep
/// the names they always had).
const ROLE_NAME_MAX: usize = 64;

pub fn role_name(
    cluster: &str,
    region: &str,
    other_account: Option<&str>,
    kind: ServiceAccountKind,
) -> String {
    let key = match other_account {
        None => format!("{region}/{cluster}"),
        Some(account) => format!("{account}/{region}/{cluster}"),
    };
    let hash = fnv1a32(key.as_bytes());
    let suffix = kind.role_suffix();
    let fixed = "kcfed-".len() + 1 + 8 + 1 + suffix.len();
    let cluster_part: String = cluster.chars().take(ROLE_NAME_MAX - fixed).collect();
    format!("kcfed-{cluster_part}-{hash:08x}-{suffix}")
}

/// A stable, dependency-free hash for names; never used for security.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// AMP's idempotency token for creating a fleet's workspace: the same for every run that creates
/// the same alias in the same account and region, so concurrent runs make one workspace.
pub fn workspace_client_token(account_id: &str, region: &str, alias: &str) -> String {
    format!(
        "kcfed-{:08x}",
        fnv1a32(format!("{account_id}/{region}/{alias}").as_bytes())
    )
}

/// The default federated bucket: one per account and region, never a global name that another
/// account may already own.
pub fn default_bucket(account_id: &str, region: &str) -> String {
    format!("kcfed-{account_id}-{region}-kubecost-etl")
}

/// The id of a fleet made without an AMP workspace, from its bucket's name (which S3 keeps
/// unique): short enough for the role names built on it, as a workspace id is.
pub fn bucket_fleet_id(bucket: &str) -> String {
    format!("s3-{:08x}", fnv1a32(bucket.as_bytes()))
}

pub fn s3_endpoint(region: &str) -> String {
    format!("s3.{region}.{}", dns_suffix(region))
}

pub fn bucket_arn(region: &str, bucket: &str) -> String {
    format!("arn:{}:s3:::{bucket}", partition(region))
}

/// The issuer without its scheme, as IAM names OIDC providers and trust conditions.
pub fn oidc_provider_host(issuer_url: &str) -> &str {
    issuer_url.trim_start_matches("https://")
}

pub fn oidc_provider_arn(account_id: &str, region: &str, issuer_url: &str) -> String {
    format!(
        "arn:{}:iam::{account_id}:oidc-provider/{}",
        partition(region),
        oidc_provider_host(issuer_url)
    )
}

/// The `system:serviceaccount:NS:NAME` subject a pod's web identity token carries.
pub fn service_account_subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

/// `aws eks update-kubeconfig` names contexts and clusters by the cluster ARN.
pub fn eks_cluster_arn(partition: &str, region: &str, account_id: &str, cluster: &str) -> String {
    format!("arn:{partition}:eks:{region}:{account_id}:cluster/{cluster}")
}

/// A `--cluster` value: an EKS cluster ARN gives (name, its region); a plain name gives (name,
/// `default_region`).
pub fn parse_cluster_ref<'a>(
    value: &'a str,
    default_region: Option<&'a str>,
) -> (&'a str, Option<&'a str>) {
    match parse_eks_cluster_arn(value) {
        Some((region, _, name)) => (name, Some(region)),
        None => (value, default_region),
    }
}

/// The parts of an ARN: partition, service, region, account, resource.
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
pub fn parse_arn(arn: &str) -> Option<Arn<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(Arn {
        partition,
        service,
        region,
        account,
        resource,
    })
}

/// Splits `arn:PARTITION:eks:REGION:ACCOUNT:cluster/NAME` into (region, account, name).
pub fn parse_eks_cluster_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let arn = parse_arn(arn).filter(|arn| arn.service == "eks")?;
    let name = arn.resource.strip_prefix("cluster/")?;
    Some((arn.region, arn.account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_fit_iam_limits_and_differ_per_region_and_account() {
        let long = "c".repeat(100);
        let name = role_name(&long, "us-east-1", None, ServiceAccountKind::CostAnalyzer);
        assert_eq!(name.len(), 64, "{name}");
        let prometheus = ServiceAccountKind::PrometheusServer;
        assert_ne!(
            role_name("prod", "us-east-1", None, prometheus),
            role_name("prod", "eu-west-1", None, prometheus)
        );
        assert_ne!(
            role_name("prod", "us-east-1", None, prometheus),
            role_name("prod", "us-east-1", Some("222233334444"), prometheus)
        );
        // A fleet's own clusters keep the names earlier versions gave them.
        assert_eq!(
            role_name("prod", "us-east-1", None, ServiceAccountKind::CostAnalyzer),
            format!(
                "kcfed-prod-{:08x}-cost-analyzer",
                fnv1a32(b"us-east-1/prod")
            )
        );
    }

    #[test]
    fn endpoints_use_the_workspace_region() {
        let ws = WorkspaceEndpoints::new("111122223333", "eu-west-1", "ws-abc");
        assert_eq!(ws.sigv4_host, "aps-workspaces.eu-west-1.amazonaws.com");
        assert_eq!(
            ws.remote_write_url,
            "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-abc/api/v1/remote_write"
        );
        assert_eq!(ws.query_url, "http://localhost:8005/workspaces/ws-abc");
        assert_eq!(
            ws.arn,
            "arn:aws:aps:eu-west-1:111122223333:workspace/ws-abc"
        );
        let china = WorkspaceEndpoints::new("111122223333", "cn-north-1", "ws-abc");
        assert_eq!(
            china.sigv4_host,
            "aps-workspaces.cn-north-1.amazonaws.com.cn"
        );
        assert!(china.arn.starts_with("arn:aws-cn:aps:"));
    }

    #[test]
    fn fleet_iam_objects_share_one_path() {
        let fleet = FleetNames::new("111122223333", "us-east-2", "ws-1");
        assert_eq!(
            fleet.policy_arn(FleetPolicy::AmpQuery),
            "arn:aws:iam::111122223333:policy/kcfed/ws-1/kcfed-ws-1-amp-query"
        );
        assert_eq!(
            fleet.role_arn("r"),
            "arn:aws:iam::111122223333:role/kcfed/ws-1/r"
        );
    }

    #[test]
    fn least_privilege_policy_sets() {
        use FleetPolicy::*;
        use ServiceAccountKind::*;
        assert_eq!(
            FleetPolicy::for_service_account(CostAnalyzer, true, true),
            [AmpQuery, FederatedStore]
        );
        assert_eq!(
            FleetPolicy::for_service_account(CostAnalyzer, false, true),
            [AmpQuery]
        );
        assert_eq!(
            FleetPolicy::for_service_account(PrometheusServer, true, true),
            [AmpRemoteWrite]
        );
        // Kubecost 3 reaches no AMP: the bucket alone.
        assert_eq!(
            FleetPolicy::for_service_account(CostAnalyzer, true, false),
            [FederatedStore]
        );
    }

    #[test]
    fn eks_arns_round_trip() {
        let arn = eks_cluster_arn("aws", "us-west-2", "111122223333", "prod");
        assert_eq!(
            parse_eks_cluster_arn(&arn),
            Some(("us-west-2", "111122223333", "prod"))
        );
        assert_eq!(parse_eks_cluster_arn("gke_project_zone_name"), None);
    }
}
