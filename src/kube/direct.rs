//! Reaching an EKS cluster with AWS credentials alone, as eksctl does: the API server's URL and
//! certificate authority from DescribeCluster, and a kubeconfig kcfed writes for the run only,
//! private to the user (0600 in a 0700 folder, removed when the run ends), never in HOME. Its user
//! is kcfed itself as a credential plugin (`kcfed eks-token`), so kube-rs and helm alike fetch a
//! fresh token from the cluster account's credentials before the last one expires (a long
//! `helm --wait` included), and no token is in a process's arguments, a file or a log.

use std::path::PathBuf;

use crate::aws::accounts::Access;
use crate::aws::eks;
use crate::aws::eks_token::EXEC_API_VERSION;
use crate::cli::AwsArgs;
use crate::error::Error;
use crate::private;

/// The name of the kubeconfig user whose credentials come from `kcfed eks-token`.
const PLUGIN_USER: &str = "kcfed-eks-token";

/// The private folder of one run's kubeconfigs, one per cluster reached directly.
pub struct DirectKubeconfigs {
    dir: tempfile::TempDir,
    /// This kcfed, which the kubeconfigs run as their credential plugin.
    program: PathBuf,
}

impl DirectKubeconfigs {
    pub fn new() -> Result<Self, Error> {
        let program = std::env::current_exe().map_err(|source| Error::Io {
            path: PathBuf::from("kcfed"),
            source,
        })?;
        Ok(Self {
            dir: private::folder("kcfed-kubeconfig-")?,
            program,
        })
    }

    /// Writes the kubeconfig that reaches `cluster` directly, its only context named by the
    /// cluster's ARN; returns its path. `access` is how the cluster's account is reached when it
    /// is not the fleet's, `aws` the flags kcfed itself was given.
    pub fn write(
        &self,
        cluster: &eks::Cluster,
        aws: &AwsArgs,
        access: Option<&Access>,
    ) -> Result<PathBuf, Error> {
        let (Some(endpoint), Some(authority)) = (&cluster.endpoint, &cluster.certificate_authority)
        else {
            return Err(Error::Kubeconfig {
                message: format!(
                    "EKS gives no endpoint or certificate authority for cluster {} (is it still being created?)",
                    cluster.arn
                ),
                fix: "wait until `aws eks describe-cluster` shows the cluster ACTIVE, or pass --kube-context".to_owned(),
            });
        };
        let mut args = vec![
            "eks-token".to_owned(),
            "--cluster".to_owned(),
            cluster.name.clone(),
            "--region".to_owned(),
            cluster.region.clone(),
        ];
        if let Some(profile) = &aws.profile {
            args.extend(["--profile".to_owned(), profile.clone()]);
        }
        if let Some(endpoint) = &aws.endpoint_url {
            args.extend(["--endpoint-url".to_owned(), endpoint.clone()]);
        }
        match access {
            Some(Access::Profile(profile)) => {
                args.extend(["--access-profile".to_owned(), profile.clone()]);
            }
            Some(Access::Role(arn)) => args.extend(["--access-role".to_owned(), arn.clone()]),
            None => {}
        }
        let kubeconfig = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": cluster.arn,
                "cluster": {"server": endpoint, "certificate-authority-data": authority},
            }],
            "users": [{
                "name": PLUGIN_USER,
                "user": {"exec": {
                    "apiVersion": EXEC_API_VERSION,
                    "command": self.program,
                    "args": args,
                    "interactiveMode": "Never",
                }},
            }],
            "contexts": [{
                "name": cluster.arn,
                "context": {"cluster": cluster.arn, "user": PLUGIN_USER},
            }],
            "current-context": cluster.arn,
        });
        let file_name = format!(
            "{}-{}-{}.kubeconfig",
            cluster.account, cluster.region, cluster.name
        );
        private::write(
            self.dir.path().join(file_name),
            &serde_json::to_vec_pretty(&kubeconfig).expect("JSON"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn cluster() -> eks::Cluster {
        eks::Cluster {
            name: "edge".to_owned(),
            arn: "arn:aws:eks:eu-west-1:222233334444:cluster/edge".to_owned(),
            region: "eu-west-1".to_owned(),
            account: "222233334444".to_owned(),
            oidc_issuer: "https://oidc.eks.eu-west-1.amazonaws.com/id/X".to_owned(),
            endpoint: Some("https://ABC.gr7.eu-west-1.eks.amazonaws.com".to_owned()),
            certificate_authority: Some("Q0EK".to_owned()),
            auto_mode: false,
        }
    }

    #[test]
    fn the_kubeconfig_is_private_and_runs_kcfed_for_its_token() {
        let kubeconfigs = DirectKubeconfigs::new().unwrap();
        let aws = AwsArgs {
            profile: None,
            region: None,
            endpoint_url: None,
        };
        let role = Access::Role("arn:aws:iam::222233334444:role/Admin".to_owned());
        let path = kubeconfigs.write(&cluster(), &aws, Some(&role)).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);

        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let cluster = &written["clusters"][0]["cluster"];
        assert_eq!(
            cluster["server"],
            "https://ABC.gr7.eu-west-1.eks.amazonaws.com"
        );
        assert_eq!(cluster["certificate-authority-data"], "Q0EK");
        let exec = &written["users"][0]["user"]["exec"];
        assert_eq!(
            exec["args"],
            serde_json::json!([
                "eks-token",
                "--cluster",
                "edge",
                "--region",
                "eu-west-1",
                "--access-role",
                "arn:aws:iam::222233334444:role/Admin"
            ])
        );
        assert_eq!(
            written["current-context"],
            "arn:aws:eks:eu-west-1:222233334444:cluster/edge"
        );
        // kube reads it as a kubeconfig.
        let parsed = kube::config::Kubeconfig::read_from(&path).unwrap();
        assert_eq!(parsed.contexts.len(), 1);

        let dir = path.parent().unwrap().to_path_buf();
        drop(kubeconfigs);
        assert!(!dir.exists(), "the folder is removed with the run");
    }

    #[test]
    fn a_cluster_without_an_endpoint_cannot_be_reached_directly() {
        let kubeconfigs = DirectKubeconfigs::new().unwrap();
        let aws = AwsArgs {
            profile: None,
            region: None,
            endpoint_url: None,
        };
        let mut creating = cluster();
        creating.endpoint = None;
        assert!(matches!(
            kubeconfigs.write(&creating, &aws, None),
            Err(Error::Kubeconfig { .. })
        ));
    }
}
