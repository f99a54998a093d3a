//! Checks of the command line that need no call: names, regions and the cluster selection.

use crate::cli::{
    CleanupArgs, DashboardArgs, InitPrimaryArgs, JoinClusterArgs, RenderArgs, StatusArgs,
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
                names::validate_cluster_name(name)?;
                names::validate_region(region)?;
                names::validate_account_id(account)?;
            }
            None => names::validate_cluster_name(cluster)?,
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
        &args.release,
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
        names::validate_region(region)?;
    }
    if let Some(id) = &workspace.workspace_id {
        names::validate_workspace_id(id)?;
    }
    if let Some(alias) = &workspace.workspace_alias {
        names::validate_workspace_alias(alias)?;
    }
    Ok(())
}

/// Checks the flags `init`, `join` and `cleanup` share, before any call.
pub fn common(
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
    release: &crate::cli::ReleaseArgs,
) -> Result<(), Error> {
    fleet_location(aws, workspace)?;
    release_names(
        &release.namespace,
        &release.release,
        release.storage_class.as_deref(),
        &release.chart_version,
    )
}

/// What every command that installs or renders the release names: namespace, release, storage
/// class and chart version.
fn release_names(
    namespace: &str,
    release: &str,
    storage_class: Option<&str>,
    chart_version: &str,
) -> Result<(), Error> {
    names::validate_namespace(namespace)?;
    names::validate_release(release)?;
    if let Some(class) = storage_class {
        names::validate_storage_class(class)?;
    }
    names::validate_chart_version(chart_version)
}

/// The checks of a command that names its clusters (`join cluster`, `cleanup`).
pub fn cluster_command(
    clusters: &[String],
    kube_contexts: &[String],
    aws: &crate::cli::AwsArgs,
    workspace: &crate::cli::WorkspaceArgs,
    release: &crate::cli::ReleaseArgs,
) -> Result<(), Error> {
    cluster_selection(clusters, kube_contexts)?;
    common(aws, workspace, release)
}

/// The checks of `cleanup`, which names its clusters and the release it removes.
pub fn cleanup(args: &CleanupArgs) -> Result<(), Error> {
    cluster_selection(&args.clusters, &args.kube_contexts)?;
    fleet_location(&args.aws, &args.workspace)?;
    names::validate_namespace(&args.release.namespace)?;
    names::validate_release(&args.release.release)
}

/// The checks of `dashboard`.
pub fn dashboard(args: &DashboardArgs) -> Result<(), Error> {
    if let Some(cluster) = &args.cluster {
        cluster_selection(std::slice::from_ref(cluster), &[])?;
    }
    fleet_location(&args.aws, &args.workspace)?;
    names::validate_namespace(&args.namespace)?;
    names::validate_release(&args.release)
}

/// The checks of `status`, which reads and changes nothing.
pub fn status(args: &StatusArgs) -> Result<(), Error> {
    cluster_selection(&args.clusters, &args.kube_contexts)?;
    fleet_location(&args.aws, &args.workspace)?;
    names::validate_namespace(&args.namespace)?;
    names::validate_release(&args.release)
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
    if let Some(bucket) = &args.bucket {
        names::validate_bucket(bucket)?;
    }
    if let Some(id) = &args.cluster_id {
        cluster_id::validate(id)?;
    }
    common(&args.aws, &args.workspace, &args.release)
}

/// The checks of `render`, which takes every name as a flag.
pub fn render(args: &RenderArgs) -> Result<(), Error> {
    cluster_selection(std::slice::from_ref(&args.cluster), &[])?;
    if let Some(id) = &args.cluster_id {
        cluster_id::validate(id)?;
    }
    names::validate_account_id(&args.account_id)?;
    names::validate_workspace_id(&args.workspace_id)?;
    for region in [&args.region, &args.workspace_region, &args.bucket_region]
        .into_iter()
        .flatten()
    {
        names::validate_region(region)?;
    }
    if let Some(bucket) = &args.bucket {
        names::validate_bucket(bucket)?;
    }
    release_names(
        &args.namespace,
        &args.release,
        args.storage_class.as_deref(),
        &args.chart_version,
    )
}
