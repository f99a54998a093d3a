//! A test's whole world: its own AWS account on the shared moto, EKS clusters in it, one fake
//! Kubernetes API server per cluster in one kubeconfig, and a recording helm; and the kcfed
//! command lines run against it.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;

use super::checks::{assert_exit, stdout_json};
use super::process::{RUN_LIMIT, output_within};
use crate::support::amp::AmpDataPlane;

/// The Kubecost metric `kcfed status` asks AMP for.
pub const NODE_COST_METRIC: &str = "node_total_hourly_cost";
use crate::support::eks_extensions::{EksExtensions, cluster_issuer};
use crate::support::fake_kube::{FakeKube, Kubeconfig};
use crate::support::helm::{RecordingHelm, recording_helm};
use crate::support::moto::{AwsAccount, Moto};
use crate::support::proxy::{Faults, Proxy};

pub struct Cluster {
    pub name: String,
    pub region: String,
    pub arn: String,
    /// The OIDC issuer kcfed is told: moto's, one for every cluster of a region; the cluster's
    /// own once [`World::serve_eks_extensions`] ran, as on EKS.
    pub issuer: String,
    pub kube: FakeKube,
    /// In front of `kube` once [`World::proxy_all`] ran; the kubeconfig then points at it.
    pub proxy: Option<Proxy>,
}

pub struct World {
    pub account: AwsAccount,
    pub region: String,
    pub dir: tempfile::TempDir,
    pub clusters: Vec<Cluster>,
    pub helm: RecordingHelm,
    pub kubeconfig: PathBuf,
    /// In front of moto once [`World::proxy_all`], [`World::serve_amp_data_plane`] or
    /// [`World::serve_eks_extensions`] ran; kcfed then talks to AWS through it.
    pub aws_proxy: Option<Proxy>,
}

/// Runs an async block on a runtime of its own (tests are plain `#[test]`s).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build a runtime")
        .block_on(future)
}

impl World {
    /// A world with the named clusters (`name@region`, region defaulting to `region`).
    pub fn new(moto: &Moto, region: &str, clusters: &[&str]) -> World {
        let account = moto.new_account();
        let dir = tempfile::tempdir().expect("temp dir");
        let helm = recording_helm(dir.path());
        let mut world = World {
            account,
            region: region.to_owned(),
            kubeconfig: dir.path().join("kubeconfig"),
            dir,
            clusters: Vec::new(),
            helm,
            aws_proxy: None,
        };
        for spec in clusters {
            let (name, cluster_region) = spec.split_once('@').unwrap_or((spec, region));
            world.add_cluster(name, cluster_region);
        }
        world.write_kubeconfig();
        world
    }

    fn add_cluster(&mut self, name: &str, region: &str) {
        let account = self.account.clone();
        self.add_cluster_in(&account, name, region);
    }

    /// An EKS cluster in `account` (another than the world's, for fleets across accounts) with
    /// a fake API server of its own; [`World::write_kubeconfig`] adds its context.
    pub fn add_cluster_in(&mut self, account: &AwsAccount, name: &str, region: &str) {
        let config = block_on(account.sdk_config(region));
        let eks = aws_sdk_eks::Client::new(&config);
        let cluster = block_on(
            eks.create_cluster()
                .name(name)
                .role_arn(format!("arn:aws:iam::{}:role/eks", account.account_id))
                .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
                .send(),
        )
        .expect("create the EKS cluster in moto");
        let cluster = cluster.cluster().expect("cluster");
        let arn = cluster.arn().expect("a cluster has an ARN").to_owned();
        let issuer = match self.aws_proxy.as_ref().and_then(Proxy::eks_extensions) {
            Some(_) => cluster_issuer(&arn),
            None => cluster
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .expect("moto gives a cluster an OIDC issuer")
                .to_owned(),
        };
        self.clusters.push(Cluster {
            name: name.to_owned(),
            region: region.to_owned(),
            arn,
            issuer,
            kube: FakeKube::start().with_ebs_storage(),
            proxy: None,
        });
    }

    /// Puts a proxy (support::proxy) between kcfed and every server it talks to: one in front of
    /// moto, one in front of each cluster's API server, and rewrites the kubeconfig through them.
    /// The EKS extensions stay on if they were, with their state.
    pub fn proxy_all(&mut self, faults: &Faults) {
        self.replace_aws_proxy(Proxy::start(&self.account.endpoint_url, Faults::none()));
        for cluster in &mut self.clusters {
            cluster.proxy = Some(Proxy::start(&cluster.kube.url(), Faults::none()));
        }
        self.set_faults(faults);
        self.write_kubeconfig();
    }

    /// AMP's data plane for this world: its AWS calls go through a proxy that gives every
    /// described workspace the plane's endpoint; the plane accepts the world's key when
    /// `trusted`. The EKS extensions stay on if they were, with their state.
    pub fn serve_amp_data_plane(&mut self, trusted: bool) -> AmpDataPlane {
        let plane = AmpDataPlane::start(&self.region);
        if trusted {
            plane.trust(&self.account.access_key_id, &self.account.secret_access_key);
        }
        self.replace_aws_proxy(Proxy::rewriting(
            &self.account.endpoint_url,
            plane.workspace_endpoints(),
        ));
        plane
    }

    /// EKS Pod Identity associations and add-ons, which moto lacks, for kcfed: the AWS proxy
    /// (the one in place, or a new one) serves them from memory, and gives each cluster its
    /// own OIDC issuer ([`Cluster::issuer`] follows). It also applies bucket policies as AWS
    /// does for kcfed, on TLS: moto never gets a TLS-only statement, so kcfed's object calls
    /// pass. Returns their state, for assertions and set-up
    /// ([`EksExtensions::pod_identity_associations`], [`EksExtensions::install_addon`],
    /// [`EksExtensions::bucket_policies`]).
    pub fn serve_eks_extensions(&mut self) -> Arc<EksExtensions> {
        let proxy = self
            .aws_proxy
            .get_or_insert_with(|| Proxy::start(&self.account.endpoint_url, Faults::none()));
        let extensions = match proxy.eks_extensions() {
            Some(extensions) => Arc::clone(extensions),
            None => {
                let extensions = EksExtensions::new();
                proxy.serve_eks_extensions(Arc::clone(&extensions));
                extensions
            }
        };
        for cluster in &mut self.clusters {
            cluster.issuer = cluster_issuer(&cluster.arn);
        }
        extensions
    }

    /// The state of the EKS extensions [`World::serve_eks_extensions`] turned on.
    pub fn eks_extensions(&self) -> &EksExtensions {
        self.aws_proxy
            .as_ref()
            .and_then(Proxy::eks_extensions)
            .expect("World::serve_eks_extensions ran")
    }

    /// Puts `proxy` in front of moto in place of the one there, which stops; the EKS
    /// extensions it served, if any, go on in `proxy` with their state.
    fn replace_aws_proxy(&mut self, proxy: Proxy) {
        if let Some(extensions) = self.aws_proxy.as_ref().and_then(Proxy::eks_extensions) {
            proxy.serve_eks_extensions(Arc::clone(extensions));
        }
        self.aws_proxy = Some(proxy);
    }

    /// New faults for every proxy. Each draws from a seed of its own, `faults.seed` plus its
    /// place in [`World::proxies`], so the servers do not fail in step.
    pub fn set_faults(&self, faults: &Faults) {
        for (place, proxy) in (0_u64..).zip(self.proxies()) {
            proxy.set_faults(Faults {
                seed: faults.seed.wrapping_add(place),
                ..faults.clone()
            });
        }
    }

    /// Every proxy, moto's first, then the clusters' in order.
    pub fn proxies(&self) -> impl Iterator<Item = &Proxy> {
        let clusters = self.clusters.iter().filter_map(|c| c.proxy.as_ref());
        self.aws_proxy.iter().chain(clusters)
    }

    /// Contexts named by cluster ARN, as `aws eks update-kubeconfig` writes them; the first
    /// cluster's context is current.
    pub fn write_kubeconfig(&self) {
        let mut config = Kubeconfig::new();
        for cluster in &self.clusters {
            let server = cluster
                .proxy
                .as_ref()
                .map_or_else(|| cluster.kube.url(), Proxy::url);
            config = config.context_at(&cluster.arn, &cluster.arn, &server);
        }
        if let Some(first) = self.clusters.first() {
            config = config.current(&first.arn);
        }
        config.write(&self.kubeconfig);
    }

    pub fn cluster(&self, name: &str) -> &Cluster {
        self.clusters
            .iter()
            .find(|c| c.name == name)
            .expect("known cluster")
    }

    /// The kcfed command with this world's environment and nothing of the developer's.
    /// kcfed with `args`, in this world. A command that installs or renders (`init primary`,
    /// `join cluster`, `render`) and names no `--chart-version` gets 1.103.4, the line most tests
    /// here were written for; what a command gets without the flag is tested through
    /// [`World::command_as_typed`].
    pub fn command(&self, args: &[&str]) -> Command {
        let installs = matches!(
            args,
            ["init", "primary", ..] | ["join", "cluster", ..] | ["render", ..]
        );
        let mut args = args.to_vec();
        if installs && !args.iter().any(|arg| arg.starts_with("--chart-version")) {
            args.extend(["--chart-version", "1.103.4"]);
        }
        self.command_as_typed(&args)
    }

    /// kcfed with exactly `args`, in this world.
    pub fn command_as_typed(&self, args: &[&str]) -> Command {
        self.command_of(env!("CARGO_BIN_EXE_kcfed").as_ref(), args)
    }

    /// `command` run by another kcfed binary (an earlier release).
    pub fn command_of(&self, kcfed: &std::path::Path, args: &[&str]) -> Command {
        let mut command = Command::new(kcfed);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .envs(self.account.envs(&self.region));
        if let Some(proxy) = &self.aws_proxy {
            command.env("AWS_ENDPOINT_URL", proxy.url());
        }
        command
    }

    pub fn kcfed(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kcfed")
    }

    /// `kcfed init primary` for the cluster `prod` with this helm and `extra` flags.
    pub fn init_primary_command(&self, helm: &str, extra: &[&str]) -> Command {
        let mut args = vec!["init", "primary", "--cluster", "prod", "--helm", helm];
        args.extend_from_slice(extra);
        self.command(&args)
    }

    /// `kcfed init primary` for the cluster `prod` with this world's helm, run to its end.
    pub fn init_primary(&self, extra: &[&str]) -> Output {
        self.init_primary_command(&self.helm_path(), extra)
            .output()
            .expect("run kcfed")
    }

    /// The output of an `init primary` that succeeded, with `extra` flags: its report's
    /// workspace id.
    pub fn init_workspace_id(&self, extra: &[&str]) -> String {
        let output = self.init_primary(&[&["--yes", "--output", "json"], extra].concat());
        assert_exit(&output, 0);
        stdout_json(&output)["resources"]["workspace"]["id"]
            .as_str()
            .expect("the report names the workspace")
            .to_owned()
    }

    /// `kcfed join cluster` of `clusters` with this helm and `extra` flags.
    pub fn join_command(&self, helm: &str, clusters: &[&str], extra: &[&str]) -> Command {
        let mut args = vec!["join", "cluster", "--helm", helm];
        for cluster in clusters {
            args.extend(["--cluster", cluster]);
        }
        args.extend_from_slice(extra);
        self.command(&args)
    }

    /// `kcfed join cluster` of `clusters` with this world's helm, run to its end.
    pub fn join(&self, clusters: &[&str], extra: &[&str]) -> Output {
        let helm = self.helm_path();
        let command = self.join_command(&helm, clusters, extra);
        output_within(command, RUN_LIMIT)
    }

    /// `kcfed cleanup` with this helm and `extra` flags (`--all` or clusters among them).
    pub fn cleanup_command(&self, helm: &str, extra: &[&str]) -> Command {
        let mut args = vec!["cleanup", "--helm", helm];
        args.extend_from_slice(extra);
        self.command(&args)
    }

    /// `kcfed cleanup` with this world's helm, run to its end.
    pub fn cleanup(&self, extra: &[&str]) -> Output {
        let helm = self.helm_path();
        output_within(self.cleanup_command(&helm, extra), RUN_LIMIT)
    }

    pub fn helm_path(&self) -> String {
        self.helm.path.display().to_string()
    }

    pub async fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        self.account.sdk_config(region).await
    }

    /// A sample of Kubecost's node cost metric of `cluster` (by its id), at `at`, written to
    /// `workspace` on `plane` as the cluster's Prometheus would: signed with the world's key.
    pub fn remote_write(
        &self,
        plane: &AmpDataPlane,
        workspace: &str,
        cluster: &str,
        at: std::time::SystemTime,
    ) {
        let key = (
            self.account.access_key_id.as_str(),
            self.account.secret_access_key.as_str(),
        );
        let labels = [("cluster_id", cluster), ("node", "node-1")];
        let status =
            plane.remote_write(workspace, key, &self.region, NODE_COST_METRIC, &labels, at);
        assert_eq!(
            status, 204,
            "the signed remote write of {cluster} is accepted"
        );
    }

    /// A heartbeat of `cluster`'s FinOps agent (by its id) in the fleet's bucket, where a
    /// Kubecost 3 agent writes it.
    pub fn write_heartbeat(&self, bucket: &str, cluster: &str) {
        let key = format!("finops-agent/{cluster}/heartbeat/20261207120000.json");
        self.with_tls_policy_lifted(bucket, async |s3| {
            s3.put_object()
                .bucket(bucket)
                .key(&key)
                .body(b"{}".to_vec().into())
                .send()
                .await
                .expect("write a heartbeat");
        });
    }

    /// Runs `write` on the fleet's bucket (in the world's region) with its TLS-only policy
    /// lifted: moto applies it to the plain-http calls of tests too. The policy is put back.
    /// With the EKS extensions holding the bucket's policy, moto has no TLS-only statement to
    /// lift.
    pub fn with_tls_policy_lifted(
        &self,
        bucket: &str,
        write: impl AsyncFnOnce(&aws_sdk_s3::Client),
    ) {
        block_on(async {
            let s3 = aws_sdk_s3::Client::new(&self.sdk(&self.region).await);
            if self.held_bucket_policy(bucket).is_some() {
                write(&s3).await;
                return;
            }
            let policy = s3.get_bucket_policy().bucket(bucket).send().await.unwrap();
            s3.delete_bucket_policy()
                .bucket(bucket)
                .send()
                .await
                .unwrap();
            write(&s3).await;
            s3.put_bucket_policy()
                .bucket(bucket)
                .policy(policy.policy().unwrap())
                .send()
                .await
                .unwrap();
        });
    }

    /// The policy of `bucket` as it was put through the EKS extensions, if they hold one: moto
    /// holds it without its TLS-only statements.
    pub fn held_bucket_policy(&self, bucket: &str) -> Option<String> {
        let extensions = self.aws_proxy.as_ref().and_then(Proxy::eks_extensions)?;
        let policy = extensions.bucket_policies().get(bucket)?;
        Some(String::from_utf8_lossy(&policy).into_owned())
    }
}
