//! Checks of the command line that need no call: every value a user gives (names, regions,
//! versions) and the cluster selection. They run before any call, so bad input never leaves
//! anything behind.

use crate::chart::ChartLine;
use crate::cli::{
    ChartArgs, CleanupArgs, DashboardArgs, InitPrimaryArgs, JoinClusterArgs, RenderArgs, StatusArgs,
};
use crate::cluster_id;
use crate::error::Error;
use crate::names;

/// Checks `--cluster` values (names, or EKS cluster ARNs) and that `--kube-context`, when
/// given, names one context per cluster.
pub fn cluster_selection(clusters: &[String], kube_contexts: &[String]) -> Result<(), Error> {
    one_per_cluster("--kube-context", kube_contexts.len(), clusters.len())?;
    for cluster in clusters {
        match names::parse_eks_cluster_arn(cluster) {
            Some((region, account, name)) => {
                validate_cluster_name(name)?;
                validate_region(region)?;
                validate_account_id(account)?;
            }
            None => validate_cluster_name(cluster)?,
        }
    }
    Ok(())
}

/// A flag given per `--cluster` (`--kube-context`, `--cluster-id`): none, or one for each.
fn one_per_cluster(flag: &str, given: usize, clusters: usize) -> Result<(), Error> {
    if given == 0 || given == clusters {
        return Ok(());
    }
    Err(Error::Usage {
        message: format!("{given} {flag} values for {clusters} --cluster values"),
        fix: format!(
            "give one {flag} per --cluster, in the same order, or none to let kcfed choose"
        ),
    })
}

/// The checks of `join cluster`.
pub fn join_cluster(args: &JoinClusterArgs) -> Result<(), Error> {
    cluster_command(
        &args.clusters,
        &args.kube_contexts,
        &args.aws,
        &args.workspace,
        &args.chart,
    )?;
    one_per_cluster("--cluster-id", args.cluster_ids.len(), args.clusters.len())?;
    args.cluster_ids
        .iter()
        .try_for_each(|id| cluster_id::validate(id))
}

/// The regions and the workspace every command that finds the fleet names.
fn fleet_location(
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
) -> Result<(), Error> {
    for region in [&aws.region, &workspace.workspace_region]
        .into_iter()
        .flatten()
    {
        validate_region(region)?;
    }
    if let Some(id) = &workspace.workspace_id {
        validate_workspace_id(id)?;
    }
    if let Some(alias) = &workspace.workspace_alias {
        validate_workspace_alias(alias)?;
    }
    if let Some(bucket) = &workspace.bucket {
        validate_bucket(bucket)?;
    }
    Ok(())
}

/// Checks the flags `init`, `join` and `cleanup` share, before any call.
pub fn common(
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
    chart: &ChartArgs,
) -> Result<(), Error> {
    fleet_location(aws, workspace)?;
    chart_names(chart)
}

/// What every command that installs or renders the release names: namespace, release, storage
/// class and chart version.
fn chart_names(chart: &ChartArgs) -> Result<(), Error> {
    validate_namespace(&chart.namespace)?;
    validate_release(&chart.release)?;
    if let Some(class) = &chart.storage_class {
        validate_storage_class(class)?;
    }
    match &chart.chart_version {
        Some(version) => validate_chart_version(version),
        None => Ok(()),
    }
}

/// The checks of a command that names its clusters (`join cluster`, `cleanup`).
pub fn cluster_command(
    clusters: &[String],
    kube_contexts: &[String],
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
    chart: &ChartArgs,
) -> Result<(), Error> {
    cluster_selection(clusters, kube_contexts)?;
    common(aws, workspace, chart)
}

/// The checks of `cleanup`, which names its clusters and the release it removes.
pub fn cleanup(args: &CleanupArgs) -> Result<(), Error> {
    cluster_selection(&args.clusters, &args.kube_contexts)?;
    fleet_location(&args.aws, &args.workspace)?;
    validate_namespace(&args.release.namespace)?;
    validate_release(&args.release.release)
}

/// The checks of `dashboard`.
pub fn dashboard(args: &DashboardArgs) -> Result<(), Error> {
    if let Some(cluster) = &args.cluster {
        cluster_selection(std::slice::from_ref(cluster), &[])?;
    }
    fleet_location(&args.aws, &args.workspace)?;
    validate_namespace(&args.namespace)?;
    validate_release(&args.release)
}

/// The checks of `status`, which reads and changes nothing.
pub fn status(args: &StatusArgs) -> Result<(), Error> {
    cluster_selection(&args.clusters, &args.kube_contexts)?;
    fleet_location(&args.aws, &args.workspace)?;
    validate_namespace(&args.namespace)?;
    validate_release(&args.release)
}

pub fn no_region() -> Error {
    Error::Usage {
        message: "no AWS region is configured".to_owned(),
        fix: "pass --region, set AWS_REGION, or set a region in the AWS profile".to_owned(),
    }
}

/// The checks of `init primary`.
pub fn init_primary(args: &InitPrimaryArgs) -> Result<(), Error> {
    if let Some(cluster) = &args.cluster {
        cluster_selection(std::slice::from_ref(cluster), &[])?;
    }
    if let Some(id) = &args.cluster_id {
        cluster_id::validate(id)?;
    }
    common(&args.aws, &args.workspace, &args.chart)?;
    bucket_for_the_line(args.chart.chart_version.as_deref(), args.quick_start)
}

/// A line whose clusters share their data only through the bucket needs one (a fleet without one
/// gets a line that does not by default).
pub fn bucket_for_the_line(chart_version: Option<&str>, quick_start: bool) -> Result<(), Error> {
    let Some(chart_version) = chart_version else {
        return Ok(());
    };
    match ChartLine::of(chart_version)?.needs_bucket() {
        Some(reason) if quick_start => Err(Error::invalid(
            "chart version",
            chart_version,
            format!("{reason}, which --quick-start leaves out; drop --quick-start"),
        )),
        _ => Ok(()),
    }
}

/// The checks of `render`, which takes every name as a flag.
pub fn render(args: &RenderArgs) -> Result<(), Error> {
    cluster_selection(std::slice::from_ref(&args.cluster), &[])?;
    if let Some(id) = &args.cluster_id {
        cluster_id::validate(id)?;
    }
    validate_account_id(&args.account_id)?;
    if let Some(id) = &args.workspace_id {
        validate_workspace_id(id)?;
    }
    for region in [&args.region, &args.workspace_region, &args.bucket_region]
        .into_iter()
        .flatten()
    {
        validate_region(region)?;
    }
    if let Some(bucket) = &args.bucket {
        validate_bucket(bucket)?;
    }
    chart_names(&args.chart)?;
    bucket_for_the_line(args.chart.chart_version.as_deref(), args.quick_start)
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
        return Err(Error::invalid("cluster name", value, reason));
    }
    Ok(())
}

pub fn validate_namespace(value: &str) -> Result<(), Error> {
    if value.len() > 63 || !is_dns_label(value) {
        return Err(Error::invalid(
            "namespace",
            value,
            "a namespace is a DNS label: at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

pub fn validate_release(value: &str) -> Result<(), Error> {
    if value.len() > 53 || !value.split('.').all(is_dns_label) {
        return Err(Error::invalid(
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
        return Err(Error::invalid(
            "storage class",
            value,
            "a StorageClass name has at most 253 lowercase letters, digits, '-' or '.', starting and ending with a letter or digit",
        ));
    }
    Ok(())
}

/// The S3 general-purpose bucket naming rules.
pub fn validate_bucket(value: &str) -> Result<(), Error> {
    let fail = |reason: &str| Err(Error::invalid("bucket name", value, reason));
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
    Err(Error::invalid("region", value, reason))
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
        return Err(Error::invalid(
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
        return Err(Error::invalid(
            "workspace id",
            value,
            "an AMP workspace id looks like ws-12345678-abcd-1234-abcd-123456789012 (see `aws amp list-workspaces`)",
        ));
    }
    Ok(())
}

pub fn validate_workspace_alias(value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > 100 {
        return Err(Error::invalid(
            "workspace alias",
            value,
            "an AMP workspace alias has 1 to 100 characters",
        ));
    }
    Ok(())
}

/// A chart version kcfed installs: one of a line it knows.
pub fn validate_chart_version(value: &str) -> Result<(), Error> {
    ChartLine::of(value).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let default_bucket = names::default_bucket("111122223333", "ap-southeast-3");
        assert!(validate_bucket(&default_bucket).is_ok());
    }
}
