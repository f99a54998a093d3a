//! The kubeconfigs kcfed writes for one run, private to the user (0600 in a 0700 folder, removed
//! when the run ends), never in HOME:
//!
//! - Reaching an EKS cluster with AWS credentials alone, as eksctl does: the API server's URL and
//!   certificate authority from DescribeCluster. Its user is kcfed itself as a credential plugin
//!   (`kcfed eks-token`), so kube-rs and helm alike fetch a fresh token from the cluster
//!   account's credentials before the last one expires (a long `helm --wait` included), and no
//!   token is in a process's arguments, a file or a log.
//! - A context of the user's kubeconfig with only its cluster and user, for helm: helm reads its
//!   whole kubeconfig on every call, and a fleet's has a context per cluster.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::aws::accounts::Access;
use crate::aws::eks;
use crate::aws::eks_token::EXEC_API_VERSION;
use crate::cli::AwsArgs;
use crate::error::Error;
use crate::private;

/// The name of the kubeconfig user whose credentials come from `kcfed eks-token`.
const PLUGIN_USER: &str = "kcfed-eks-token";

/// The private folder of one run's kubeconfigs: one per cluster reached directly, and one per
/// context of the user's that a cluster is reached through.
pub struct RunKubeconfigs {
    dir: tempfile::TempDir,
    /// The one-context copies written so far, by context.
    contexts: Mutex<HashMap<String, PathBuf>>,
    /// This kcfed, which the kubeconfigs run as their credential plugin.
    program: PathBuf,
}

impl RunKubeconfigs {
    pub fn new() -> Result<Self, Error> {
        let program = std::env::current_exe().map_err(|source| Error::Io {
            path: PathBuf::from("kcfed"),
            source,
        })?;
        Ok(Self {
            dir: private::folder("kcfed-kubeconfig-")?,
            contexts: Mutex::default(),
            program,
        })
    }

    /// The path of a kubeconfig with only `context` of the one at `path` (or the default one),
    /// its cluster and its user: written once per run, its file paths already absolute.
    pub fn one_context(&self, path: Option<&Path>, context: &str) -> Result<PathBuf, Error> {
        let mut written = self.contexts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(copy) = written.get(context) {
            return Ok(copy.clone());
        }
        let config = super::contexts::one_context(path, context)?;
        let file_name = format!(
            "context-{:08x}-{}.kubeconfig",
            crate::names::fnv1a32(context.as_bytes()),
            written.len()
        );
        let copy = private::write(
            self.dir.path().join(file_name),
            &serde_json::to_vec_pretty(&config).expect("a kubeconfig serializes"),
        )?;
        written.insert(context.to_owned(), copy.clone());
        Ok(copy)
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
        let kubeconfigs = RunKubeconfigs::new().unwrap();
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
        let kubeconfigs = RunKubeconfigs::new().unwrap();
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

    #[test]
    fn helm_gets_one_context_of_the_users_kubeconfig_with_its_paths_absolute() {
        let home = tempfile::tempdir().unwrap();
        let user_config = home.path().join("config");
        let contexts: Vec<String> = (0..3)
            .map(|i| format!("- name: c{i}\n  context: {{cluster: k{i}, user: u{i}}}\n"))
            .collect();
        let clusters: Vec<String> = (0..3)
            .map(|i| {
                format!(
                    "- name: k{i}\n  cluster: {{server: 'https://k{i}', certificate-authority: ca{i}.pem}}\n"
                )
            })
            .collect();
        let users: Vec<String> = (0..3)
            .map(|i| format!("- name: u{i}\n  user: {{token: secret-{i}}}\n"))
            .collect();
        std::fs::write(
            &user_config,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: c0\ncontexts:\n{}clusters:\n{}users:\n{}",
                contexts.concat(),
                clusters.concat(),
                users.concat()
            ),
        )
        .unwrap();
        let kubeconfigs = RunKubeconfigs::new().unwrap();
        let path = kubeconfigs.one_context(Some(&user_config), "c1").unwrap();
        // Written once per run: the same file for the same context.
        assert_eq!(
            kubeconfigs.one_context(Some(&user_config), "c1").unwrap(),
            path
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let copy = kube::config::Kubeconfig::read_from(&path).unwrap();
        assert_eq!(copy.current_context.as_deref(), Some("c1"));
        let names = |named: Vec<String>| named.join(",");
        assert_eq!(
            (
                names(copy.contexts.iter().map(|c| c.name.clone()).collect()),
                names(copy.clusters.iter().map(|c| c.name.clone()).collect()),
                names(copy.auth_infos.iter().map(|u| u.name.clone()).collect()),
            ),
            ("c1".into(), "k1".into(), "u1".into())
        );
        // A relative file of the user's still names the same file from the copy's folder.
        let cluster = copy.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(
            cluster.certificate_authority.as_deref(),
            Some(home.path().join("ca1.pem").to_str().unwrap())
        );
        let user = copy.auth_infos[0].auth_info.as_ref().unwrap();
        assert!(user.token.is_some(), "the user's credentials come along");
    }
}
