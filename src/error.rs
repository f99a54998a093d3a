//! kcfed's typed errors. Each one knows its exit code and, where there is one, the fix to print.

use std::path::PathBuf;

/// What went wrong with an AWS call, from the error's typed code, never from its message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsFailure {
    AccessDenied,
    /// No credentials could be found at all: the environment is missing something, like a
    /// missing region or kubeconfig.
    NoCredentials,
    /// Credentials were sent and refused (expired, unknown, wrongly signed).
    Credentials,
    Throttled,
    /// An account quota is reached: running again cannot help until it is raised.
    QuotaExceeded,
    Network,
    /// The network path to an endpoint an AWS answer named (AMP's query endpoint), which the
    /// configured endpoint does not change.
    NamedEndpointNetwork,
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidInput {
        what: &'static str,
        value: String,
        reason: String,
    },

    #[error("{message}")]
    Usage { message: String, fix: String },

    #[error("{action} on {resource} failed: {message}")]
    Aws {
        action: &'static str,
        resource: String,
        failure: AwsFailure,
        message: String,
    },

    #[error("{what} {name:?} was not found {place}")]
    NotFound {
        what: &'static str,
        name: String,
        place: String,
        fix: String,
    },

    #[error("{resource} exists but kcfed cannot use it: {reason}")]
    Conflict {
        resource: String,
        reason: String,
        fix: String,
    },

    #[error("Kubernetes {action} of {resource} failed: {message}")]
    Kube {
        action: &'static str,
        resource: String,
        message: String,
        unreachable: bool,
        /// The API answered 401 or 403.
        denied: bool,
    },

    #[error(
        "EKS cluster {cluster} refuses {principal}: it has no access entry (or aws-auth mapping) for it"
    )]
    ClusterAccessDenied {
        cluster: String,
        name: String,
        principal: String,
    },

    #[error("cannot reach the Kubernetes API of cluster {cluster} {via}: {message}")]
    ClusterUnreachable {
        cluster: String,
        /// How kcfed reached for it: through a context (and its server), or directly.
        via: String,
        /// The context the user can try it with; `None` when kcfed reached it directly.
        context: Option<String>,
        message: String,
    },

    #[error("kubeconfig: {message}")]
    Kubeconfig { message: String, fix: String },

    #[error("helm {call} failed: {message}")]
    Helm { call: HelmCall, message: String },

    #[error("helm was not found at {path:?}")]
    HelmMissing { path: PathBuf },

    #[error("{path:?} reports {reported:?}: {}", if *too_old { "kcfed needs helm 3.8 or newer" } else { "kcfed cannot read that version" })]
    HelmUnsupported {
        path: PathBuf,
        reported: String,
        too_old: bool,
    },

    #[error("template {template}: {message}")]
    Render { template: String, message: String },

    #[error("{path:?}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("timed out after {seconds}s waiting for {what}")]
    Timeout { what: String, seconds: u64 },

    #[error("the plan has changes and there is no terminal to confirm them")]
    ConfirmationRequired,

    #[error("nothing was changed: the plan was not confirmed")]
    Declined,

    #[error("interrupted: stopped after the current step")]
    Interrupted,

    #[error("stopped: the fleet's shared step failed: {cause}")]
    FleetFailed { cause: String },

    #[error("{failed} of {total} clusters failed")]
    PartialFailure { failed: usize, total: usize },
}

/// Which helm call failed: it tells whether anything was changed before the failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelmCall {
    Version,
    List,
    GetValues,
    Upgrade,
    Uninstall,
}

impl std::fmt::Display for HelmCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HelmCall::Version => "version",
            HelmCall::List => "list",
            HelmCall::GetValues => "get values",
            HelmCall::Upgrade => "upgrade --install",
            HelmCall::Uninstall => "uninstall",
        })
    }
}

/// An error and its causes on one line; a cause already quoted by its parent is not repeated.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}

/// Exit codes, documented in README: pipelines branch on them.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const PARTIAL_FAILURE: u8 = 3;
    /// `status`: some cluster's metrics do not reach AMP (shares the partial-failure code).
    pub const NOT_REPORTING: u8 = 3;
    pub const NOT_CONFIRMED: u8 = 4;
    /// Only with `--detailed-exitcode`: the run succeeded and nothing needed to change.
    pub const NO_CHANGES: u8 = 5;
    pub const INTERRUPTED: u8 = 130;
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::InvalidInput { .. }
            | Error::Usage { .. }
            | Error::NotFound { .. }
            | Error::Kubeconfig { .. }
            | Error::HelmMissing { .. }
            | Error::HelmUnsupported { .. }
            | Error::Aws {
                failure: AwsFailure::NoCredentials,
                ..
            } => exit::BAD_INPUT,
            Error::ConfirmationRequired | Error::Declined => exit::NOT_CONFIRMED,
            Error::PartialFailure { failed, total } if failed < total => exit::PARTIAL_FAILURE,
            Error::Interrupted => exit::INTERRUPTED,
            _ => exit::FAILURE,
        }
    }

    /// Whether running again would meet the same failure: an account quota is reached. What
    /// the run made for the cluster before it is taken back.
    pub fn is_quota(&self) -> bool {
        matches!(
            self,
            Error::Aws {
                failure: AwsFailure::QuotaExceeded,
                ..
            }
        )
    }

    /// A value the user gave that kcfed cannot use, and why.
    pub fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> Error {
        Error::InvalidInput {
            what,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// The error and its fix on one line: what a report holds for each cluster.
    pub fn with_fix(&self) -> String {
        match self.fix() {
            Some(fix) => format!("{self} (fix: {fix})"),
            None => self.to_string(),
        }
    }

    /// What the user can do about it, printed under the error.
    pub fn fix(&self) -> Option<String> {
        let fix = match self {
            Error::InvalidInput { .. } => "correct the value and run the command again".to_owned(),
            Error::Usage { fix, .. }
            | Error::NotFound { fix, .. }
            | Error::Conflict { fix, .. }
            | Error::Kubeconfig { fix, .. } => fix.clone(),
            Error::Aws {
                action,
                failure,
                resource,
                ..
            } => match failure {
                AwsFailure::AccessDenied => format!(
                    "grant the calling identity `{action}` (README lists every permission kcfed needs)"
                ),
                AwsFailure::NoCredentials => "give kcfed AWS credentials (--profile, AWS_PROFILE, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a role): `aws sts get-caller-identity` must work with the same profile and region".to_owned(),
                AwsFailure::Credentials => "check the AWS credentials: `aws sts get-caller-identity` must work with the same profile and region".to_owned(),
                AwsFailure::Throttled => "AWS throttled the calls even after retries; run the command again in a minute".to_owned(),
                AwsFailure::NamedEndpointNetwork => format!(
                    "check the network path to {resource}, the endpoint AWS gave for it (--endpoint-url does not change it), and run the command again"
                ),
                AwsFailure::Network => "check the network path to AWS (proxy, VPC endpoints, --endpoint-url) and run the command again".to_owned(),
                AwsFailure::QuotaExceeded => {
                    let service = action.split(':').next().unwrap_or("iam");
                    let pod_identity = if service == "iam" {
                        "; or move the fleet to EKS Pod Identity, whose IAM does not grow with its clusters (`kcfed init primary --identity pod-identity`; README, \"EKS Pod Identity\")"
                    } else {
                        ""
                    };
                    format!(
                        "an account quota the message names is reached, and running again meets it again: raise it in Service Quotas (`aws service-quotas list-service-quotas --service-code {service}` lists them; README, \"IAM quotas\"), or remove what uses it{pod_identity}"
                    )
                }
                AwsFailure::Other => "run the command again; it resumes where it stopped".to_owned(),
            },
            Error::ClusterAccessDenied { name, principal, .. } => format!(
                "give it access, then run the command again (nothing was changed): `aws eks create-access-entry --cluster-name {name} --principal-arn {principal}` and `aws eks associate-access-policy --cluster-name {name} --principal-arn {principal} --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster` (the chart installs cluster-wide RBAC); on a cluster that authenticates through the aws-auth ConfigMap, map the principal to a group bound to cluster-admin there; or pass --kube-context"
            ),
            Error::ClusterUnreachable { context: Some(context), .. } => format!(
                "check that `kubectl --context {context} get namespaces` answers (network, VPN, the cluster's endpoint access), or name another context with --kube-context"
            ),
            Error::ClusterUnreachable { context: None, .. } => "kcfed reached for it with your AWS credentials at the endpoint EKS gives: check the cluster's endpoint access (public, or your network to its private endpoint), or pass --kube-context with a context that reaches it".to_owned(),
            Error::Kube { unreachable: true, .. } => "check that the kube context points at a reachable cluster: `kubectl --context CTX get ns`".to_owned(),
            Error::Kube { .. } => "check the permissions of the kube context's user; then run the command again".to_owned(),
            Error::Helm { call: HelmCall::Version | HelmCall::List | HelmCall::GetValues, .. } => "nothing was changed: kcfed reads the release before any change; fix what helm's message names (often the cluster's reachability or the kube user's permissions) and run the command again".to_owned(),
            Error::Helm { call: HelmCall::Upgrade, .. } => "fix what helm's message names; the AWS and Kubernetes parts are in place, so running the command again only retries the install".to_owned(),
            Error::Helm { call: HelmCall::Uninstall, .. } => "fix what helm's message names and run the command again: it retries the uninstall, and nothing after it was removed".to_owned(),
            Error::HelmMissing { .. } | Error::HelmUnsupported { .. } => "install helm 3.8 or newer, 3.x or 4.x (https://helm.sh/docs/intro/install/), or pass --helm PATH; nothing was changed".to_owned(),
            Error::Render { .. } => "this is a bug in kcfed's templates; please report it".to_owned(),
            Error::Io { .. } => "check the path and its permissions".to_owned(),
            Error::Timeout { .. } => "raise --timeout or check the resource in the AWS console; running the command again resumes".to_owned(),
            Error::ConfirmationRequired => "review the plan with --dry-run, then run again with --yes".to_owned(),
            Error::Interrupted => "run the same command again to finish; it resumes where it stopped".to_owned(),
            Error::FleetFailed { .. } => "fix the fleet's failure reported above and run the same command again".to_owned(),
            Error::PartialFailure { .. } => "fix the failed clusters (see each error above) and run the same command again; the others are unchanged by a rerun".to_owned(),
            Error::Declined => return None,
        };
        Some(fix)
    }
}
