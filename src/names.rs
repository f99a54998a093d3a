//! Every name kcfed derives (roles, policies, bucket, tags, paths, endpoints), in one place, and the
//! validation of every name a user gives. Nothing here does I/O.

use serde::Serialize;

use crate::error::Error;

/// The chart version kcfed installs by default, as a macro so `--version` can embed it with `concat!`.
#[macro_export]
macro_rules! default_chart_version {
    () => {
        "1.103.4"
    };
}
pub const DEFAULT_CHART_VERSION: &str = default_chart_version!();
pub const CHART_REF: &str = "oci://public.ecr.aws/kubecost/cost-analyzer";
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
    /// The fleet is identified by its AMP workspace id.
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
    fn suffix(self) -> &'static str {
        match self {
            Self::AmpQuery => "amp-query",
            Self::AmpRemoteWrite => "amp-remote-write",
            Self::FederatedStore => "federated-store",
        }
    }

    /// The policies a service account's role needs: least privilege, unlike the walkthrough, which
    /// attached both AMP policies to both roles.
    pub fn for_service_account(kind: ServiceAccountKind, federated: bool) -> Vec<FleetPolicy> {
        match kind {
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
        format!(
            "arn:{}:iam::{}:role{}{role_name}",
            self.partition,
            self.account_id,
            self.iam_path()
        )
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

// ---------------------------------------------------------------------------------------------
// Validation of user input: run before any call so bad input never leaves anything behind.

fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidInput {
        what,
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn is_dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// EKS: 1-100 characters, letters, digits, hyphens and underscores, starting with a letter or digit.
pub fn validate_cluster_name(value: &str) -> Result<(), Error> {
    let reason = "an EKS cluster name has 1-100 letters, digits, '-' or '_' and starts with a letter or digit";
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let starts_well = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if value.len() > 100 || !valid_chars || !starts_well {
        return Err(invalid("cluster name", value, reason));
    }
    Ok(())
}

pub fn validate_namespace(value: &str) -> Result<(), Error> {
    if value.len() > 63 || !is_dns_label(value) {
        return Err(invalid(
            "namespace",
            value,
            "a namespace is a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

pub fn validate_release(value: &str) -> Result<(), Error> {
    if value.len() > 53 || !value.split('.').all(is_dns_label) {
        return Err(invalid(
            "release name",
            value,
            "a Helm release name has at most 53 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// A StorageClass name is a DNS subdomain.
pub fn validate_storage_class(value: &str) -> Result<(), Error> {
    if value.len() > 253 || !value.split('.').all(is_dns_label) {
        return Err(invalid(
            "storage class",
            value,
            "a StorageClass name has at most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// The S3 general-purpose bucket naming rules.
pub fn validate_bucket(value: &str) -> Result<(), Error> {
    let fail = |reason: &str| Err(invalid("bucket name", value, reason));
    if !(3..=63).contains(&value.len()) {
        return fail("a bucket name has 3 to 63 characters");
    }
    if !value.split('.').all(is_dns_label) {
        return fail(
            "a bucket name has lowercase letters, digits, '.' and '-' only, and each part starts and ends with a letter or digit",
        );
    }
    if value.split('.').count() == 4 && value.split('.').all(|part| part.parse::<u8>().is_ok()) {
        return fail("a bucket name must not look like an IP address");
    }
    if value.starts_with("xn--")
        || value.starts_with("sthree-")
        || value.starts_with("amzn-s3-demo-")
    {
        return fail("a bucket name must not start with 'xn--', 'sthree-' or 'amzn-s3-demo-'");
    }
    if ["-s3alias", "--ol-s3", "--x-s3", "--table-s3"]
        .iter()
        .any(|suffix| value.ends_with(suffix))
    {
        return fail(
            "a bucket name must not end with a suffix S3 reserves ('-s3alias', '--ol-s3', '--x-s3', '--table-s3')",
        );
    }
    Ok(())
}

/// Commercial, China and GovCloud regions where EKS and AMP can run. Typos in a region are the
/// most common copy-paste error of the walkthrough, so unknown names are refused up front.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

pub fn validate_region(value: &str) -> Result<(), Error> {
    if KNOWN_REGIONS.contains(&value) {
        return Ok(());
    }
    let reason = match closest_region(value) {
        Some(region) => format!("not an AWS region kcfed knows; did you mean {region}?"),
        None => "not an AWS region kcfed knows (for example us-east-1, eu-west-1, ap-southeast-2)"
            .to_owned(),
    };
    Err(invalid("region", value, reason))
}

/// The known region a mistyped one most likely means: the same in lower case, or one or two
/// characters away.
fn closest_region(value: &str) -> Option<&'static str> {
    let lower = value.to_ascii_lowercase();
    KNOWN_REGIONS
        .iter()
        .map(|region| (edit_distance(&lower, region), *region))
        .filter(|(distance, _)| *distance <= 2)
        .min()
        .map(|(_, region)| region)
}

/// Levenshtein distance over bytes (region names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

pub fn validate_account_id(value: &str) -> Result<(), Error> {
    if value.len() != 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "account id",
            value,
            "an AWS account id has exactly 12 digits",
        ));
    }
    Ok(())
}

/// AMP ids look like `ws-` followed by a UUID.
pub fn validate_workspace_id(value: &str) -> Result<(), Error> {
    let rest = value.strip_prefix("ws-").unwrap_or_default();
    let valid = !rest.is_empty()
        && value.len() <= 64
        && rest
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(invalid(
            "workspace id",
            value,
            "an AMP workspace id looks like ws-12345678-abcd-1234-abcd-123456789012 (see `aws amp list-workspaces`)",
        ));
    }
    Ok(())
}

pub fn validate_workspace_alias(value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 100 {
        return Err(invalid(
            "workspace alias",
            value,
            "an AMP workspace alias has 1 to 100 characters",
        ));
    }
    Ok(())
}

/// The chart versions kcfed's tests install, one per minor line it knows well.
const TESTED_CHART_VERSIONS: &[&str] = &["1.103.4", "2.4.2", "2.8.7"];

/// The line of the cost-analyzer chart a version belongs to: its AMP and federation settings
/// differ (1.x: federator; 2.x: aggregator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum ChartLine {
    #[serde(rename = "1")]
    V1,
    #[serde(rename = "2")]
    V2,
}

impl ChartLine {
    /// The line of `version`: 1.103-1.108 or 2.4-2.8, the releases whose values kcfed knows
    /// (its tests install 1.103.4, 2.4.2 and 2.8.7); the rest are refused with the reason.
    pub fn of(version: &str) -> Result<ChartLine, Error> {
        let numbers: Vec<Option<u32>> = version.split('.').map(|part| part.parse().ok()).collect();
        let [Some(major), Some(minor), Some(_patch)] = numbers[..] else {
            let reason = match TESTED_CHART_VERSIONS
                .iter()
                .find(|tested| tested.starts_with(&format!("{version}.")))
            {
                Some(tested) => format!("a chart version has three parts; did you mean {tested}?"),
                None => "a chart version looks like 2.8.7".to_owned(),
            };
            return Err(invalid("chart version", version, reason));
        };
        let refused = |reason: &str| Err(invalid("chart version", version, reason.to_owned()));
        match (major, minor) {
            (1, 103..=108) => Ok(ChartLine::V1),
            (2, 4..=8) => Ok(ChartLine::V2),
            (1, _) => refused(
                "kcfed knows cost-analyzer 1.103 to 1.108 (the 1.x line ends at 1.108.1); use 1.108.1, or 2.8.7",
            ),
            (2, 0..=3) => refused(
                "kcfed knows the 2.x values of 2.4 to 2.8 (its tests install 2.4.2 and 2.8.7); use 2.8.7",
            ),
            (2, _) => refused(
                "2.9 is the bridge to 3.0 and needs the Kubecost FinOps agent, which AMP federation does not use; 2.8.x is the last line kcfed installs with AMP (2.8.7)",
            ),
            _ => refused(
                "cost-analyzer 3.x has no bundled Prometheus and no global.amp: its multi-cluster model is S3 federated storage with the FinOps agent, which kcfed does not set up; install 2.8.7 with kcfed, or Kubecost 3 with its own guide",
            ),
        }
    }
}

pub fn validate_chart_version(value: &str) -> Result<(), Error> {
    ChartLine::of(value).map(drop)
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
            FleetPolicy::for_service_account(CostAnalyzer, true),
            [AmpQuery, FederatedStore]
        );
        assert_eq!(
            FleetPolicy::for_service_account(CostAnalyzer, false),
            [AmpQuery]
        );
        assert_eq!(
            FleetPolicy::for_service_account(PrometheusServer, true),
            [AmpRemoteWrite]
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

    #[test]
    fn validation_accepts_good_and_refuses_bad_names() {
        assert!(validate_cluster_name("prod-eu_1").is_ok());
        for bad in ["", "-x", "a b", &"x".repeat(101)] {
            assert!(validate_cluster_name(bad).is_err(), "{bad}");
        }
        assert!(validate_namespace("kubecost").is_ok());
        for bad in ["Kubecost", "-a", "a-", &"a".repeat(64)] {
            assert!(validate_namespace(bad).is_err(), "{bad}");
        }
        assert!(validate_release("kubecost").is_ok());
        assert!(validate_release(&"r".repeat(54)).is_err());
        assert!(validate_bucket("kcfed-111122223333-us-east-1-kubecost-etl").is_ok());
        for bad in [
            "ab",
            "Upper",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "x-s3alias",
            "a_b",
        ] {
            assert!(validate_bucket(bad).is_err(), "{bad}");
        }
        assert!(validate_region("eu-west-1").is_ok());
        assert!(validate_region("eu-west-9").is_err());
        for (typo, meant) in [("US-EAST-1", "us-east-1"), ("eu-wst-1", "eu-west-1")] {
            let err = validate_region(typo).unwrap_err().to_string();
            assert!(err.contains(&format!("did you mean {meant}?")), "{err}");
        }
        assert!(
            !validate_region("mars-1")
                .unwrap_err()
                .to_string()
                .contains("did you mean")
        );
        let err = validate_chart_version("2.8").unwrap_err().to_string();
        assert!(err.contains("did you mean 2.8.7?"), "{err}");
        assert!(validate_account_id("111122223333").is_ok());
        assert!(validate_account_id("11112222333a").is_err());
        assert!(validate_workspace_id("ws-0f1e2d3c-aaaa-bbbb-cccc-123456789012").is_ok());
        assert!(validate_workspace_id("kubecost-amp").is_err());
        assert_eq!(ChartLine::of("1.103.4").unwrap(), ChartLine::V1);
        assert_eq!(ChartLine::of("1.108.1").unwrap(), ChartLine::V1);
        assert_eq!(ChartLine::of("2.4.2").unwrap(), ChartLine::V2);
        assert_eq!(ChartLine::of("2.8.7").unwrap(), ChartLine::V2);
        for (bad, reason) in [
            ("1.99.0", "1.103 to 1.108"),
            ("2.3.0", "2.4 to 2.8"),
            ("2.9.0", "FinOps agent"),
            ("3.0.1", "no global.amp"),
            ("latest", "looks like"),
            ("1.103", "did you mean 1.103.4?"),
        ] {
            let err = validate_chart_version(bad).unwrap_err().to_string();
            assert!(err.contains(reason), "{bad}: {err}");
        }
        let default_bucket = default_bucket("111122223333", "ap-southeast-3");
        assert!(validate_bucket(&default_bucket).is_ok());
    }
}
