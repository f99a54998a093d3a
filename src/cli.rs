//! Every clap type kcfed has: the subcommands, the shared flag groups and the output format.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::chart::ClusterRole;
use crate::chart::{CHART_REF, ChartLine};
pub use crate::engine::options::OutputFormat;
use crate::engine::options::RunOptions;
pub use crate::fleet::IdentityMode;
use crate::new_fleet_chart_version;

/// Install Kubecost across many Amazon EKS clusters with one cost view.
///
/// kcfed provisions the Amazon Managed Service for Prometheus workspace, the shared S3 bucket for
/// federated ETL files, the IAM roles for service accounts, the Kubernetes objects and the Helm
/// release. Every command prints a plan first; nothing changes without confirmation or `--yes`.
#[derive(Debug, Parser)]
#[command(name = "kcfed", version = VERSION_TEXT, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Log more detail to stderr (-v: kcfed's debug log and the libraries' warnings, -vv:
    /// trace); without it only kcfed's own messages.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The command line, or clap's error and exit; `kcfed join --cluster X` (the subcommand left
/// out) is told the whole command it means.
pub fn parse() -> Cli {
    Cli::try_parse().unwrap_or_else(|err| {
        let args: Vec<String> = std::env::args().collect();
        let bad_usage = !matches!(
            err.kind(),
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
        );
        if let Some(command) = subcommand_left_out(&args).filter(|_| bad_usage) {
            let rest = args[2..].join(" ");
            eprintln!("error: `kcfed {}` is `kcfed {command}`", args[1]);
            eprintln!("  fix: run `kcfed {command} {rest}` (see `kcfed {command} --help`)");
            std::process::exit(i32::from(crate::error::exit::BAD_INPUT));
        }
        err.exit()
    })
}

/// `init` and `join` have one subcommand each; flags right after them mean that one.
fn subcommand_left_out(args: &[String]) -> Option<&'static str> {
    let command = match args.get(1)?.as_str() {
        "init" => "init primary",
        "join" => "join cluster",
        _ => return None,
    };
    args.get(2)
        .is_some_and(|next| next.starts_with("--") && next != "--help")
        .then_some(command)
}

/// `kcfed --version` also names the commit it was built from and the chart version a new fleet
/// gets by default.
const VERSION_TEXT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("KCFED_COMMIT"),
    "; new fleets get Kubecost chart ",
    new_fleet_chart_version!(),
    " by default)"
);

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up the first (primary) cluster of a fleet.
    #[command(subcommand)]
    Init(InitCommand),
    /// Add more clusters to an existing fleet.
    #[command(subcommand)]
    Join(JoinCommand),
    /// Remove clusters, or the whole fleet, and everything kcfed made for them.
    Cleanup(CleanupArgs),
    /// Show whether every cluster of the fleet is installed and its metrics reach AMP.
    Status(StatusArgs),
    /// Write every values file, policy and config kcfed would use, offline, to a folder.
    Render(RenderArgs),
    /// Open a cluster's Kubecost UI on a local port (the fleet's primary by default), through
    /// kcfed's own access to the cluster; Ctrl-C stops it.
    Dashboard(DashboardArgs),
    /// Print a shell completion script to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout; packagers install it as kcfed.1.
    #[command(hide = true)]
    Man,
    /// Print an EKS token as a Kubernetes credential plugin (the kubeconfigs kcfed writes for
    /// clusters it reaches directly run it).
    #[command(hide = true, name = "eks-token")]
    EksToken(EksTokenArgs),
}

#[derive(Debug, Subcommand)]
pub enum InitCommand {
    /// Create or reuse the AMP workspace, S3 bucket, IAM roles and Kubernetes objects, then install
    /// Kubecost on the primary cluster.
    Primary(InitPrimaryArgs),
}

#[derive(Debug, Subcommand)]
pub enum JoinCommand {
    /// Join one or more clusters to the fleet as agents that write to the primary's workspace and
    /// bucket.
    Cluster(JoinClusterArgs),
}

const INIT_EXAMPLES: &str = "Examples:
  # See the plan, then apply it
  kcfed init primary --cluster prod --region us-east-1 --dry-run
  kcfed init primary --cluster prod --region us-east-1 --yes
  # Chart 2.x, in a pipeline
  kcfed init primary --cluster prod --region us-east-1 --chart-version 2.8.7 --yes --output json";

const JOIN_EXAMPLES: &str = "Examples:
  kcfed join cluster --cluster staging --region us-east-1 --dry-run
  # A cluster in another region and one in another account
  kcfed join cluster --region us-east-1 --cluster arn:aws:eks:eu-west-1:111122223333:cluster/edge \\
    --cluster arn:aws:eks:us-west-2:222233334444:cluster/prod --account-role OrganizationAccountAccessRole --yes";

const CLEANUP_EXAMPLES: &str = "Examples:
  kcfed cleanup --cluster staging --region us-east-1 --dry-run
  kcfed cleanup --all --region us-east-1 --yes";

const STATUS_EXAMPLES: &str = "Examples:
  kcfed status --region us-east-1
  # A pipeline gate: exit 3 while some cluster does not report
  kcfed status --region us-east-1 --output json";

const DASHBOARD_EXAMPLES: &str = "Examples:
  # The primary's UI at http://localhost:9090
  kcfed dashboard --region us-east-1
  kcfed dashboard --region us-east-1 --cluster arn:aws:eks:eu-west-1:111122223333:cluster/edge --port 9091";

const RENDER_EXAMPLES: &str = "Examples:
  kcfed render --role primary --cluster prod --region us-east-1 --account-id 111122223333 \\
    --workspace-id ws-12345678-abcd-1234-abcd-123456789012 --out ./kcfed-out";

/// AWS connection settings; the usual AWS_* environment variables and config files also apply.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "AWS")]
pub struct AwsArgs {
    /// Named profile from the AWS config files: its credentials, also over AWS_ACCESS_KEY_ID
    /// (AWS_PROFILE, read by the SDK itself, does not outrank those keys, as in the aws CLI).
    #[arg(long)]
    pub profile: Option<String>,
    /// The fleet's AWS region: where its workspace is looked for (unless --workspace-region) and
    /// where clusters named without an ARN are (defaults to AWS_REGION or the profile's).
    #[arg(long)]
    pub region: Option<String>,
    /// Send every AWS API call to this endpoint instead of the public one (VPC endpoints, proxies).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
}

/// Credentials for the clusters that are in other AWS accounts than the fleet's (the account
/// kcfed's own credentials are for, which holds the workspace, the bucket and the IAM roles).
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "AWS accounts")]
pub struct AccountArgs {
    /// A profile of the AWS config files that acts in ACCOUNT (role_arn with source_profile,
    /// SSO, credential_process, ...), for that account's clusters; repeat for several accounts.
    #[arg(long = "account-profile", value_name = "ACCOUNT=PROFILE", value_parser = parse_account_profile)]
    pub account_profiles: Vec<(String, String)>,
    /// A role kcfed assumes, with its own credentials, in every other account it has no
    /// --account-profile for: arn:aws:iam::ACCOUNT:role/ROLE_NAME (AWS Organizations create
    /// OrganizationAccountAccessRole).
    #[arg(long, value_name = "ROLE_NAME")]
    pub account_role: Option<String>,
}

/// `ACCOUNT=PROFILE`, with a 12-digit account id.
fn parse_account_profile(value: &str) -> Result<(String, String), String> {
    let (account, profile) = value
        .split_once('=')
        .ok_or_else(|| format!("{value:?} is not ACCOUNT=PROFILE"))?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{account:?} is not a 12-digit AWS account id"));
    }
    if profile.is_empty() {
        return Err(format!("{value:?} names no profile"));
    }
    Ok((account.to_owned(), profile.to_owned()))
}

/// Kubernetes connection settings.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Kubernetes")]
pub struct KubeArgs {
    /// Kubeconfig file to read (defaults to KUBECONFIG or ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
}

/// Behaviour shared by every command that changes something.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Plan and output")]
pub struct RunArgs {
    /// Print the plan and stop; nothing is changed.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply the plan without asking (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Output format for the plan and the report.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Exit with 5 instead of 0 when the run succeeded and nothing needed to change (for
    /// pipelines that act on changes).
    #[arg(long)]
    pub detailed_exitcode: bool,
}

impl From<&RunArgs> for RunOptions {
    fn from(args: &RunArgs) -> Self {
        RunOptions {
            dry_run: args.dry_run,
            yes: args.yes,
            output: args.output,
            detailed_exitcode: args.detailed_exitcode,
        }
    }
}

/// Which fleet a command works on: its AMP workspace, or the bucket of a fleet that has none
/// (Kubecost 3).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Fleet")]
pub struct WorkspaceArgs {
    /// Use the AMP workspace with this id (ws-...).
    #[arg(long, conflicts_with = "workspace_alias")]
    pub workspace_id: Option<String>,
    /// The fleet's AMP workspace: the one with exactly this alias (default kubecost-amp).
    #[arg(long)]
    pub workspace_alias: Option<String>,
    /// The fleet's region when it differs from the cluster's: its AMP workspace's, and the one
    /// in the default bucket's name.
    #[arg(long, visible_alias = "fleet-region")]
    pub workspace_region: Option<String>,
    /// The fleet's S3 bucket for federated files (default: kcfed-ACCOUNT-REGION-kubecost-etl in
    /// the fleet's region). A fleet without an AMP workspace is found by it.
    #[arg(long)]
    pub bucket: Option<String>,
}

/// The release `cleanup` removes: only what finds and uninstalls it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Helm")]
pub struct InstalledReleaseArgs {
    /// Namespace of Kubecost's release and of the objects kcfed made.
    #[arg(long, default_value = "kubecost")]
    pub namespace: String,
    /// Helm release name.
    #[arg(long, default_value = "kubecost")]
    pub release: String,
    /// Path to the helm binary (defaults to `helm` on PATH).
    #[arg(long, default_value = "helm")]
    pub helm: PathBuf,
    /// How long helm waits for the uninstall (`90s`, `10m`; a bare number is seconds).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

/// What is installed where: the chart, its release and namespace, and the choices its values
/// carry. `init primary`, `join cluster` and `render` share it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Helm")]
pub struct ChartArgs {
    /// Namespace for Kubecost and its service accounts.
    #[arg(long, default_value = "kubecost")]
    pub namespace: String,
    /// Helm release name.
    #[arg(long, default_value = "kubecost")]
    pub release: String,
    /// The Kubecost chart: an OCI reference, REPO/NAME of an added Helm repository, or a
    /// packaged chart's path (a registry mirror, or an air-gapped copy) [default:
    /// oci://public.ecr.aws/kubecost/cost-analyzer for 1.x and 2.x,
    /// oci://public.ecr.aws/kubecost/kubecost for 3.x]
    #[arg(long)]
    pub chart: Option<String>,
    /// Version of the Kubecost chart to install: 1.103-1.108, 2.4-2.8 (README, "Kubecost 2.x"),
    /// 2.9 (the step to 3.x, README, "Moving to Kubecost 3") or 3.0-3.2 (README, "Kubecost 3")
    /// [default: the version the cluster's release runs; for a new release, the fleet's (the
    /// primary's); for a new fleet, 3.2.1 (2.8.7 with --quick-start)]
    #[arg(long)]
    pub chart_version: Option<String>,
    /// StorageClass for every volume the chart makes (default: the cluster's default class);
    /// kcfed checks that it exists.
    #[arg(long)]
    pub storage_class: Option<String>,
    /// Your own values file for the chart (repeat for several, later files winning, as helm's
    /// -f): applied after kcfed's EKS defaults; the settings the fleet depends on (AMP, SigV4,
    /// cluster_id, service accounts, federated storage) stay kcfed's, and the plan names any
    /// your files try to change.
    #[arg(long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
}

impl ChartArgs {
    /// The chart to install `version` from: `--chart`, else the chart of the version's line.
    pub fn chart_ref(&self, version: &str) -> String {
        self.chart.clone().unwrap_or_else(|| {
            ChartLine::of(version)
                .map_or(CHART_REF, ChartLine::chart_ref)
                .to_owned()
        })
    }
}

/// How helm runs: `init primary` and `join cluster` install with it.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Helm")]
pub struct HelmArgs {
    /// Path to the helm binary (defaults to `helm` on PATH).
    #[arg(long = "helm", value_name = "HELM", default_value = "helm")]
    pub path: PathBuf,
    /// How long to wait for the workspace to become active and for helm (`90s`, `10m`, `1h30m`,
    /// as helm writes durations; a bare number is seconds).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Clone, Args)]
#[command(
    mut_arg("workspace_alias", |arg| arg.help(
        "The fleet's AMP workspace: the one with exactly this alias, created when there is none (default kubecost-amp)"
    )),
    after_help = INIT_EXAMPLES
)]
pub struct InitPrimaryArgs {
    /// EKS cluster name, or its ARN when it is in another account or region (defaults to the
    /// cluster of the current kube context, when that is an EKS ARN).
    #[arg(long)]
    pub cluster: Option<String>,
    /// The cluster's id in the fleet's data (cluster_id in AMP, its federated ETL prefix, its
    /// name in Kubecost): a DNS label, unique in the fleet (default: the cluster's name, or
    /// NAME-REGION[-ACCOUNT] when another cluster of the fleet has that name). Kept for life.
    #[arg(long, value_name = "ID", help_heading = "Fleet")]
    pub cluster_id: Option<String>,
    /// Kube context of the cluster (defaults to the context whose cluster is this EKS cluster).
    #[arg(long, help_heading = "Kubernetes")]
    pub kube_context: Option<String>,
    /// Skip the federated ETL bucket: metrics go to AMP only (fine for a few clusters).
    #[arg(long, conflicts_with = "bucket", help_heading = "Fleet")]
    pub quick_start: bool,
    /// How the fleet's pods get AWS credentials: pod-identity (roles shared by every cluster,
    /// no OIDC provider; chart 2.4.3 or later and the eks-pod-identity-agent add-on) or irsa
    /// (an OIDC provider and two roles per cluster). Default: the fleet's mode; for a new
    /// fleet, pod-identity where its chart can use it, else irsa.
    #[arg(long, value_enum, help_heading = "Fleet")]
    pub identity: Option<IdentityMode>,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    /// Turn on Kubecost's Cloud Costs view with your cloud integration secret of this name (in
    /// --namespace, made as Kubecost's cloud integration guide says); kcfed checks it exists.
    #[arg(long, value_name = "NAME", help_heading = "Helm")]
    pub cloud_integration_secret: Option<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub helm: HelmArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = JOIN_EXAMPLES)]
pub struct JoinClusterArgs {
    /// EKS cluster to join (repeat for several).
    #[arg(long = "cluster", value_name = "CLUSTER", required = true)]
    pub clusters: Vec<String>,
    /// The id of each --cluster in the fleet's data, in the same order (cluster_id in AMP, its
    /// federated ETL prefix, its name in Kubecost): DNS labels, unique in the fleet (default:
    /// the cluster's name, or NAME-REGION[-ACCOUNT] when another cluster has that name).
    #[arg(long = "cluster-id", value_name = "ID", help_heading = "Fleet")]
    pub cluster_ids: Vec<String>,
    /// Kube context for each --cluster, in the same order (found automatically when omitted).
    #[arg(
        long = "kube-context",
        value_name = "CONTEXT",
        help_heading = "Kubernetes"
    )]
    pub kube_contexts: Vec<String>,
    /// The fleet's identity mode (pod-identity or irsa): accepted when it is the fleet's, which
    /// every cluster follows (`init primary --identity` changes it).
    #[arg(long, value_enum, help_heading = "Fleet")]
    pub identity: Option<IdentityMode>,
    /// How many clusters join at the same time (each runs its own helm install).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub chart: ChartArgs,
    #[command(flatten)]
    pub helm: HelmArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
#[command(
    after_help = CLEANUP_EXAMPLES,
    group(clap::ArgGroup::new("selection").required(true).args(["clusters", "all", "amp_workspace"]))
)]
pub struct CleanupArgs {
    /// Remove this cluster from the fleet (repeat for several).
    #[arg(long = "cluster", value_name = "CLUSTER")]
    pub clusters: Vec<String>,
    /// Remove every cluster of the fleet, then the shared bucket, policies and workspace.
    #[arg(long)]
    pub all: bool,
    /// Remove only the fleet's AMP workspace, with the metrics in it, and AMP's IAM policies,
    /// once every cluster runs Kubecost 3; the fleet keeps the rest and is found by its bucket.
    #[arg(long)]
    pub amp_workspace: bool,
    /// Kube context for each --cluster, in the same order (found automatically when omitted).
    #[arg(
        long = "kube-context",
        value_name = "CONTEXT",
        help_heading = "Kubernetes"
    )]
    pub kube_contexts: Vec<String>,
    /// Stop when a cluster's Kubernetes API cannot be reached instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub release: InstalledReleaseArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = STATUS_EXAMPLES)]
pub struct StatusArgs {
    /// Show only this cluster of the fleet (repeat for several; default: every cluster).
    #[arg(long = "cluster", value_name = "CLUSTER")]
    pub clusters: Vec<String>,
    /// Kube context for each --cluster, in the same order (found automatically when omitted).
    #[arg(
        long = "kube-context",
        value_name = "CONTEXT",
        help_heading = "Kubernetes"
    )]
    pub kube_contexts: Vec<String>,
    /// A cluster reports when AMP holds metrics of it at most this old (`90s`, `10m`, `2h`).
    /// Kubecost's Prometheus scrapes every minute and remote-writes within seconds, so ten
    /// minutes tolerates a few missed scrapes and retried writes but not an outage.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub max_age: std::time::Duration,
    /// How many clusters are read at the same time.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Namespace of Kubecost's release.
    #[arg(long, default_value = "kubecost", help_heading = "Helm")]
    pub namespace: String,
    /// Helm release name.
    #[arg(long, default_value = "kubecost", help_heading = "Helm")]
    pub release: String,
    /// Path to the helm binary (defaults to `helm` on PATH).
    #[arg(long, default_value = "helm", help_heading = "Helm")]
    pub helm: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
}

/// `90s`, `10m`, `2h`, `1d`, or several (`1h30m`, helm's `10m0s`): whole numbers, each with its
/// unit; a bare number is seconds.
fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    let wrong = || format!("{value:?} is not a duration like 90s, 10m or 1h30m");
    if let Ok(seconds) = value.parse::<u64>() {
        return positive(seconds);
    }
    let mut seconds = 0_u64;
    let mut rest = value;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(wrong)?;
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| wrong())?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit_seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => {
                return Err(format!(
                    "{value:?}: {unit:?} is not a unit; use s, m, h or d (10m)"
                ));
            }
        };
        seconds = number
            .checked_mul(unit_seconds)
            .and_then(|part| seconds.checked_add(part))
            .ok_or_else(wrong)?;
        rest = next;
    }
    positive(seconds)
}

fn positive(seconds: u64) -> Result<std::time::Duration, String> {
    if seconds == 0 {
        return Err("the duration must be more than zero".to_owned());
    }
    Ok(std::time::Duration::from_secs(seconds))
}

#[derive(Debug, Clone, Args)]
#[command(after_help = RENDER_EXAMPLES)]
pub struct RenderArgs {
    /// Render for the primary cluster or for an agent.
    #[arg(long, value_enum)]
    pub role: ClusterRole,
    /// EKS cluster name, or its ARN (which gives its region, and its account when that is not
    /// the fleet's).
    #[arg(long)]
    pub cluster: String,
    /// The cluster's id in the fleet's data (cluster_id, federated ETL prefix, its name in
    /// Kubecost): a DNS label, unique in the fleet (default: the cluster's name).
    #[arg(long, value_name = "ID")]
    pub cluster_id: Option<String>,
    /// AWS region of the cluster (required unless --cluster is an ARN).
    #[arg(long)]
    pub region: Option<String>,
    /// The fleet's AWS account id (12 digits): the workspace's, the bucket's and the roles'.
    #[arg(long)]
    pub account_id: String,
    /// The fleet's AMP workspace id (ws-...): needed for a chart that writes to AMP (1.x, 2.x,
    /// 2.9); a Kubecost 3 fleet made without one has none.
    #[arg(long)]
    pub workspace_id: Option<String>,
    /// Region of the AMP workspace (defaults to --region).
    #[arg(long)]
    pub workspace_region: Option<String>,
    /// S3 bucket for federated ETL files (default: one name per account and region).
    #[arg(long, conflicts_with = "quick_start")]
    pub bucket: Option<String>,
    /// Region of the bucket (defaults to --region; for an agent, give the primary's bucket region).
    #[arg(long)]
    pub bucket_region: Option<String>,
    /// Skip the federated ETL bucket: metrics go to AMP only.
    #[arg(long)]
    pub quick_start: bool,
    /// The fleet's identity mode: pod-identity or irsa (default: pod-identity where the chart
    /// can use it, else irsa, as for a new fleet).
    #[arg(long, value_enum)]
    pub identity: Option<IdentityMode>,
    /// Issuer URL of the cluster's OIDC provider, for the trust policies (placeholder when omitted).
    #[arg(long)]
    pub oidc_issuer: Option<String>,
    #[command(flatten)]
    pub chart: ChartArgs,
    /// Turn on Kubecost's Cloud Costs view with the cloud integration secret of this name.
    #[arg(long, value_name = "NAME", help_heading = "Helm")]
    pub cloud_integration_secret: Option<String>,
    /// Folder to write the files to (created when missing).
    #[arg(long, help_heading = "Output")]
    pub out: PathBuf,
    /// Output format for the summary.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, help_heading = "Output")]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Args)]
#[command(after_help = DASHBOARD_EXAMPLES)]
pub struct DashboardArgs {
    /// The cluster whose UI to open: a name, an ARN or a cluster id of the fleet (default: the
    /// fleet's primary).
    #[arg(long, value_name = "CLUSTER")]
    pub cluster: Option<String>,
    /// Kube context of the cluster (found automatically when omitted).
    #[arg(long, value_name = "CONTEXT", help_heading = "Kubernetes")]
    pub kube_context: Option<String>,
    /// Port on localhost the UI is served on (0 picks a free one).
    #[arg(long, default_value_t = 9090)]
    pub port: u16,
    /// Namespace of Kubecost's release.
    #[arg(long, default_value = "kubecost", help_heading = "Helm")]
    pub namespace: String,
    /// Helm release name.
    #[arg(long, default_value = "kubecost", help_heading = "Helm")]
    pub release: String,
    #[command(flatten)]
    pub workspace: WorkspaceArgs,
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub accounts: AccountArgs,
    #[command(flatten)]
    pub kube: KubeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct EksTokenArgs {
    /// The EKS cluster's name; --region is its region.
    #[arg(long)]
    pub cluster: String,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The cluster's account is reached with this profile of the AWS config files.
    #[arg(long, conflicts_with = "access_role")]
    pub access_profile: Option<String>,
    /// The cluster's account is reached by assuming this role.
    #[arg(long)]
    pub access_role: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::parse_duration;

    #[test]
    fn durations_are_written_as_helm_and_kubectl_write_them() {
        let seconds = |value: &str| parse_duration(value).unwrap().as_secs();
        assert_eq!(seconds("90s"), 90);
        assert_eq!(seconds("10m"), 600);
        assert_eq!(seconds("2h"), 7200);
        assert_eq!(seconds("1d"), 86400);
        assert_eq!(seconds("1h30m"), 5400);
        assert_eq!(seconds("10m0s"), 600);
        assert_eq!(
            seconds("600"),
            600,
            "a bare number is seconds, as --timeout was"
        );
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("1.5h").unwrap_err().contains("not a unit"));
        assert!(parse_duration("10x").unwrap_err().contains("not a unit"));
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn account_profiles_pair_an_account_id_with_a_profile() {
        use super::parse_account_profile;
        assert_eq!(
            parse_account_profile("222233334444=edge-admin").unwrap(),
            ("222233334444".to_owned(), "edge-admin".to_owned())
        );
        assert!(parse_account_profile("edge-admin").is_err());
        assert!(parse_account_profile("2222=edge").is_err());
        assert!(parse_account_profile("222233334444=").is_err());
    }
}
