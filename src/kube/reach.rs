//! How a command reaches a cluster's API: the user's kube context for the cluster, else directly
//! with AWS credentials; connecting, and the one check that the cluster answers.

use crate::aws::accounts::Accounts;
use crate::aws::eks;
use crate::cli::{AccountArgs, AwsArgs, ChartArgs, HelmArgs, KubeArgs};
use crate::error::Error;
use crate::helm;
use crate::names;

use super::client::{connect, probe};
use super::contexts::{
    context_for_cluster, eks_cluster_arns, find_context, load_kubeconfig_or_empty, server_of,
};
use super::direct::RunKubeconfigs;

/// How one cluster's API is reached: a context of a kubeconfig kcfed wrote for the run (a copy
/// of the user's context, or for a cluster reached directly one that fetches its own token).
#[derive(Debug, Clone)]
pub struct Reached {
    pub context: String,
    /// `None`: the user's default kubeconfig.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// Reached with AWS credentials alone, not through a context of the user's.
    pub direct: bool,
    /// The API server's URL, when known.
    pub server: Option<String>,
}

impl Reached {
    /// How kcfed reaches the cluster, for messages.
    fn via(&self) -> String {
        let server = self.server.as_deref().unwrap_or("an unknown server");
        if self.direct {
            format!("directly at {server} (with AWS credentials)")
        } else {
            format!("through context {} at {server}", self.context)
        }
    }
}

/// Connects to a reached cluster and checks that it answers: an unreachable cluster is one error
/// naming it and how it was reached, not one per read.
async fn open(reached: &Reached, cluster_arn: &str) -> Result<::kube::Client, Error> {
    let opened = async {
        let client = connect(reached.kubeconfig.as_deref(), &reached.context).await?;
        probe(&client).await?;
        Ok(client)
    }
    .await;
    opened.map_err(|err| match err {
        Error::Kube {
            unreachable: true,
            message,
            ..
        } => Error::ClusterUnreachable {
            cluster: cluster_arn.to_owned(),
            via: reached.via(),
            context: (!reached.direct).then(|| reached.context.clone()),
            message,
        },
        other => other,
    })
}

/// How a command reaches its clusters: the context the user names or the kubeconfig has for a
/// cluster's ARN; else, unless the user named a kubeconfig, directly with AWS credentials.
pub struct Reacher<'a> {
    kubeconfig: ::kube::config::Kubeconfig,
    kubeconfig_path: Option<std::path::PathBuf>,
    run_kubeconfigs: RunKubeconfigs,
    aws: &'a AwsArgs,
    accounts: &'a AccountArgs,
}

impl<'a> Reacher<'a> {
    pub fn new(
        kube_args: &KubeArgs,
        aws: &'a AwsArgs,
        accounts: &'a AccountArgs,
    ) -> Result<Self, Error> {
        Ok(Self {
            kubeconfig: load_kubeconfig_or_empty(kube_args.kubeconfig.as_deref())?,
            kubeconfig_path: kube_args.kubeconfig.clone(),
            run_kubeconfigs: RunKubeconfigs::new()?,
            aws,
            accounts,
        })
    }

    pub fn kubeconfig(&self) -> &::kube::config::Kubeconfig {
        &self.kubeconfig
    }

    /// `--cluster` values as a user means them: a bare name is looked up in the kubeconfig's
    /// EKS contexts unless `--region` was given, and becomes the ARN of the one context of that
    /// name (its ARN gives region and account); otherwise it stays a name in the AWS region.
    pub fn locate_all(&self, values: &[String], region_given: bool) -> Vec<String> {
        values
            .iter()
            .map(|value| {
                if region_given || names::parse_eks_cluster_arn(value).is_some() {
                    return value.clone();
                }
                let mut arns: Vec<&str> = eks_cluster_arns(&self.kubeconfig)
                    .filter(|arn| {
                        names::parse_eks_cluster_arn(arn).is_some_and(|(_, _, name)| name == value)
                    })
                    .collect();
                arns.sort_unstable();
                arns.dedup();
                match arns[..] {
                    [only] => only.to_owned(),
                    _ => value.clone(),
                }
            })
            .collect()
    }

    /// The user's context for the cluster, `None` when it is to be reached directly.
    pub fn context(
        &self,
        cluster_arn: &str,
        explicit: Option<&str>,
    ) -> Result<Option<Reached>, Error> {
        let context = match (explicit, &self.kubeconfig_path) {
            // A context or a kubeconfig the user names always wins: no context there is a mistake.
            (Some(_), _) | (None, Some(_)) => Some(context_for_cluster(
                &self.kubeconfig,
                cluster_arn,
                explicit,
            )?),
            (None, None) => find_context(&self.kubeconfig, cluster_arn)?,
        };
        let Some(context) = context else {
            return Ok(None);
        };
        Ok(Some(Reached {
            server: server_of(&self.kubeconfig, &context),
            kubeconfig: Some(
                self.run_kubeconfigs
                    .one_context(self.kubeconfig_path.as_deref(), &context)?,
            ),
            context,
            direct: false,
        }))
    }

    /// The cluster through the user's context, else directly with the credentials of its
    /// account (`fleet_account`'s own, or the access the flags give to another).
    pub fn reach(
        &self,
        cluster: &eks::Cluster,
        explicit: Option<&str>,
        fleet_account: &str,
    ) -> Result<Reached, Error> {
        if let Some(reached) = self.context(&cluster.arn, explicit)? {
            return Ok(reached);
        }
        let access = (cluster.account != fleet_account)
            .then(|| {
                crate::aws::accounts::access_for(
                    self.accounts,
                    names::partition(&cluster.region),
                    &cluster.account,
                )
            })
            .flatten();
        Ok(Reached {
            context: cluster.arn.clone(),
            kubeconfig: Some(
                self.run_kubeconfigs
                    .write(cluster, self.aws, access.as_ref())?,
            ),
            direct: true,
            server: cluster.endpoint.clone(),
        })
    }
}

/// Reaches a fleet's cluster by its ARN and connects: through the user's context for it, else
/// directly with its account's credentials (described for its endpoint), a refusal then naming
/// who was refused. The probe in [`open`] is where an unreachable or refusing cluster shows.
pub async fn reach_and_open(
    reacher: &Reacher<'_>,
    accounts: &Accounts,
    cluster_arn: &str,
    explicit: Option<&str>,
) -> Result<(Reached, ::kube::Client), Error> {
    if let Some(reached) = reacher.context(cluster_arn, explicit)? {
        let client = open(&reached, cluster_arn).await?;
        return Ok((reached, client));
    }
    let (region, account, name) = names::parse_eks_cluster_arn(cluster_arn).unwrap_or_default();
    let clients = accounts.clients(account);
    let cluster = eks::describe_cluster(&clients.eks_in(region), name, region).await?;
    let reached = reacher.reach(&cluster, None, accounts.fleet_account())?;
    let client = read_cluster(&reached, &cluster, &clients.sts, async |client| Ok(client)).await?;
    Ok((reached, client))
}

/// Opens a reached cluster and reads it with `read`: every command's way in. A refusal on the
/// way, by a cluster reached directly, names who was refused and how to let it in.
pub async fn read_cluster<T>(
    reached: &Reached,
    cluster: &eks::Cluster,
    sts: &aws_sdk_sts::Client,
    read: impl AsyncFnOnce(::kube::Client) -> Result<T, Error>,
) -> Result<T, Error> {
    let result = async {
        let client = open(reached, &cluster.arn).await?;
        read(client).await
    }
    .await;
    match result {
        Ok(value) => Ok(value),
        Err(err) => Err(explain_refusal(err, reached, cluster, sts).await),
    }
}

/// A refusal by a cluster reached directly names who was refused and how to let it in; any
/// other error stays as it is.
async fn explain_refusal(
    err: Error,
    reached: &Reached,
    cluster: &eks::Cluster,
    sts_client: &aws_sdk_sts::Client,
) -> Error {
    match err {
        Error::Kube { denied: true, .. } if reached.direct => Error::ClusterAccessDenied {
            cluster: cluster.arn.clone(),
            name: cluster.name.clone(),
            principal: crate::aws::sts::caller(sts_client).await.map_or_else(
                |_| "the calling identity".to_owned(),
                |caller| caller.principal,
            ),
        },
        other => other,
    }
}

/// How a cluster's release is installed: the release flags and `chart_version`, on the
/// connection that reaches it.
pub fn release(
    args: &ChartArgs,
    helm_args: &HelmArgs,
    reached: &Reached,
    chart_version: &str,
) -> helm::Release {
    helm::Release {
        name: args.release.clone(),
        namespace: args.namespace.clone(),
        chart: args.chart_ref(chart_version),
        chart_version: chart_version.to_owned(),
        kube_context: Some(reached.context.clone()),
        kubeconfig: reached.kubeconfig.clone(),
        direct: reached.direct,
        timeout_secs: helm_args.timeout.as_secs(),
    }
}

/// A release kcfed reads (`status`) or uninstalls (`cleanup`, waiting up to `timeout_secs`):
/// no chart to install.
pub fn existing_release(
    name: &str,
    namespace: &str,
    timeout_secs: u64,
    reached: &Reached,
) -> helm::Release {
    helm::Release {
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        chart: String::new(),
        chart_version: String::new(),
        kube_context: Some(reached.context.clone()),
        kubeconfig: reached.kubeconfig.clone(),
        direct: reached.direct,
        timeout_secs,
    }
}
