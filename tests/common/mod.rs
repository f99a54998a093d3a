//! A test's whole world: its own AWS account on the shared moto, EKS clusters in it, one fake
//! Kubernetes API server per cluster in one kubeconfig, and a recording helm; plus running kcfed
//! against it all.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::support::fake_kube::{FakeKube, Kubeconfig};
use crate::support::helm::{RecordingHelm, recording_helm};
use crate::support::moto::{AwsAccount, Moto};
use crate::support::proxy::{Faults, Proxy};

pub struct Cluster {
    pub name: String,
    pub region: String,
    pub arn: String,
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
    /// In front of moto once [`World::proxy_all`] ran; kcfed then talks to AWS through it.
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
        let config = block_on(self.account.sdk_config(region));
        let eks = aws_sdk_eks::Client::new(&config);
        let cluster = block_on(
            eks.create_cluster()
                .name(name)
                .role_arn(format!("arn:aws:iam::{}:role/eks", self.account.account_id))
                .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
                .send(),
        )
        .expect("create the EKS cluster in moto");
        let cluster = cluster.cluster().expect("cluster");
        self.clusters.push(Cluster {
            name: name.to_owned(),
            region: region.to_owned(),
            arn: cluster.arn().unwrap().to_owned(),
            issuer: cluster
                .identity()
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer())
                .unwrap()
                .to_owned(),
            kube: FakeKube::start(),
            proxy: None,
        });
    }

    /// Puts a proxy (support::proxy) between kcfed and every server it talks to: one in front of
    /// moto, one in front of each cluster's API server, and rewrites the kubeconfig through them.
    pub fn proxy_all(&mut self, faults: &Faults) {
        self.aws_proxy = Some(Proxy::start(&self.account.endpoint_url, Faults::none()));
        for cluster in &mut self.clusters {
            cluster.proxy = Some(Proxy::start(&cluster.kube.url(), Faults::none()));
        }
        self.set_faults(faults);
        self.write_kubeconfig();
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
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kcfed"));
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

    pub fn helm_path(&self) -> String {
        self.helm.path.display().to_string()
    }

    pub async fn sdk(&self, region: &str) -> aws_config::SdkConfig {
        self.account.sdk_config(region).await
    }
}

pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// IAM documents come back URL-encoded.
pub fn decode(document: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .expect("utf-8");
    serde_json::from_str(&decoded).expect("a JSON document")
}

/// How long one kcfed run may take before it counts as hung: a guard, never a timing assertion.
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Runs kcfed to its end (within [`RUN_LIMIT`]) and checks that it succeeded.
pub fn kcfed_ok(world: &World, args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_exit(&output_within(world.command(&args), RUN_LIMIT), 0);
}

/// One kcfed command to disturb (with faults, or by killing it) and then compare with an
/// undisturbed run: the clusters of its world, what is in place before it runs, and its
/// arguments.
pub struct Scenario {
    pub command: &'static str,
    pub clusters: &'static [&'static str],
    pub prepare: fn(&World),
    pub args: fn(&World) -> Vec<String>,
    /// Whether the command removes everything kcfed made.
    pub leaves_nothing: bool,
}

/// `init primary` of a federated primary (with the bucket).
pub const INIT_PRIMARY: Scenario = Scenario {
    command: "init primary",
    clusters: &["prod"],
    prepare: |_| {},
    args: init_primary_args,
    leaves_nothing: false,
};

/// `join cluster` of two agents at once, to a federated primary.
pub const JOIN_TWO_AGENTS: Scenario = Scenario {
    command: "join cluster (2 agents)",
    clusters: &["prod", "agent-a", "agent-b"],
    prepare: |world| kcfed_ok(world, &init_primary_args(world)),
    args: |world| {
        let helm = world.helm_path();
        let args = ["join", "cluster", "--helm", &helm, "--yes"];
        let agents = ["--cluster", "agent-a", "--cluster", "agent-b"];
        args.iter()
            .chain(&agents)
            .map(|arg| arg.to_string())
            .collect()
    },
    leaves_nothing: false,
};

/// `cleanup --all` of a federated primary and one agent.
pub const CLEANUP_ALL: Scenario = Scenario {
    command: "cleanup --all",
    clusters: &["prod", "agent-a"],
    prepare: |world| {
        kcfed_ok(world, &init_primary_args(world));
        let helm = world.helm_path();
        let join = [
            "join",
            "cluster",
            "--cluster",
            "agent-a",
            "--helm",
            &helm,
            "--yes",
        ];
        kcfed_ok(world, &join.map(str::to_owned));
    },
    args: |world| {
        let helm = world.helm_path();
        let args = ["cleanup", "--all", "--helm", &helm, "--yes"];
        args.map(str::to_owned).to_vec()
    },
    leaves_nothing: true,
};

fn init_primary_args(world: &World) -> Vec<String> {
    let helm = world.helm_path();
    let args = [
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &helm,
        "--yes",
    ];
    args.map(str::to_owned).to_vec()
}

/// The region of a scenario's world.
const SCENARIO_REGION: &str = "us-east-2";

impl Scenario {
    /// A world of its own with everything the command expects in place.
    pub fn world(&self) -> World {
        let world = World::new(Moto::shared(), SCENARIO_REGION, self.clusters);
        (self.prepare)(&world);
        world
    }

    /// An undisturbed run: its output, and the end state normalised for comparing with other
    /// worlds'. For a command that leaves nothing, checks that nothing is left.
    pub fn reference(&self) -> (Output, Inventory) {
        let world = World::new(Moto::shared(), SCENARIO_REGION, self.clusters);
        let untouched = inventory(&world);
        (self.prepare)(&world);
        let args: Vec<String> = (self.args)(&world);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        let after = inventory(&world);
        if self.leaves_nothing {
            assert_eq!(after, untouched, "{}: something is left", self.command);
        }
        (output, after.normalised(&world.account.account_id))
    }
}

/// Runs `command` to its end. `limit` only guards against a hang: past it the process is killed
/// and the test fails with what it printed.
pub fn output_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("check on the command") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            let stderr = stderr.join().expect("read stderr");
            panic!(
                "{command:?} still ran after {limit:?} and was killed; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("read stdout"),
        stderr: stderr.join().expect("read stderr"),
    }
}

/// Everything in the account and the clusters that kcfed could have touched, as sorted names.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    /// Workspace aliases, one entry per workspace of the world's region.
    pub workspaces: Vec<String>,
    /// `alias key=value`.
    pub workspace_tags: Vec<String>,
    pub buckets: Vec<String>,
    /// IAM path and name.
    pub roles: Vec<String>,
    /// `role name -> policy ARN`.
    pub attachments: Vec<String>,
    /// IAM path and name of the account's own policies.
    pub policies: Vec<String>,
    pub providers: Vec<String>,
    /// What the bucket, roles, policies and providers are set to: documents, tags, audiences,
    /// the bucket's hardening, each as `kind name setting`.
    pub settings: Vec<String>,
    /// `cluster: kind namespace/name`; a service account with the role it is annotated with, a
    /// secret with its decoded data.
    pub objects: Vec<String>,
    /// `kube-context/name status chart values` of the recording helm's releases.
    pub releases: Vec<String>,
}

/// What the account (in the world's region) and the world's clusters hold now, read directly
/// from moto and the fake API servers, past any proxy.
pub fn inventory(world: &World) -> Inventory {
    let mut inventory = block_on(aws_inventory(world));
    for cluster in &world.clusters {
        for plural in ["namespaces", "serviceaccounts", "secrets", "configmaps"] {
            for object in cluster.kube.list(plural) {
                let metadata = &object["metadata"];
                let mut entry = format!(
                    "{}: {plural} {}/{}",
                    cluster.name,
                    metadata["namespace"].as_str().unwrap_or_default(),
                    metadata["name"].as_str().unwrap_or_default()
                );
                if let Some(role) = metadata["annotations"]["eks.amazonaws.com/role-arn"].as_str() {
                    entry.push_str(&format!(" -> {role}"));
                }
                if let Some(data) = object["data"].as_object().filter(|_| plural == "secrets") {
                    let decoded: BTreeMap<&String, String> = data
                        .iter()
                        .map(|(key, value)| {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(value.as_str().unwrap_or_default())
                                .expect("secret data is base64");
                            (key, String::from_utf8_lossy(&bytes).into_owned())
                        })
                        .collect();
                    entry.push_str(&format!(" {decoded:?}"));
                }
                inventory.objects.push(entry);
            }
        }
    }
    inventory.releases = world
        .helm
        .releases()
        .iter()
        .map(|(key, release)| {
            let (status, chart) = (&release["status"], &release["chart"]);
            format!("{key} {status} {chart} {}", release["values"])
        })
        .collect();
    inventory.sorted()
}

async fn aws_inventory(world: &World) -> Inventory {
    let config = world.sdk(&world.region).await;
    let amp = aws_sdk_amp::Client::new(&config);
    let s3 = aws_sdk_s3::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let listed = amp.list_workspaces().send().await.unwrap();
    let mut workspaces = Vec::new();
    let mut workspace_tags = Vec::new();
    for workspace in listed.workspaces() {
        let alias = workspace.alias().unwrap_or_default();
        workspaces.push(alias.to_owned());
        for (key, value) in workspace.tags().into_iter().flatten() {
            workspace_tags.push(format!("{alias} {key}={value}"));
        }
    }
    let buckets = s3.list_buckets().send().await.unwrap();
    let roles = iam.list_roles().send().await.unwrap();
    let mut attachments = Vec::new();
    for role in roles.roles() {
        let attached = iam
            .list_attached_role_policies()
            .role_name(role.role_name())
            .send()
            .await
            .unwrap();
        for policy in attached.attached_policies() {
            let arn = policy.policy_arn().unwrap_or_default();
            attachments.push(format!("{} -> {arn}", role.role_name()));
        }
    }
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    let mut settings = Vec::new();
    for bucket in buckets.buckets() {
        settings.extend(bucket_settings(&s3, bucket.name().unwrap()).await);
    }
    for role in roles.roles() {
        let name = role.role_name();
        let trust = role.assume_role_policy_document().map(decode);
        settings.push(format!("role {name} trust {}", trust.unwrap_or_default()));
        let tags = iam.list_role_tags().role_name(name).send().await.unwrap();
        for tag in tags.tags() {
            settings.push(format!("role {name} tag {}={}", tag.key(), tag.value()));
        }
    }
    for policy in policies.policies() {
        let arn = policy.arn().unwrap();
        let version = policy.default_version_id().unwrap_or_default();
        let document = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .unwrap();
        let document = document.policy_version().and_then(|v| v.document());
        let document = document.map(decode).unwrap_or_default();
        settings.push(format!("policy {arn} document {document}"));
        let tags = iam.list_policy_tags().policy_arn(arn).send().await.unwrap();
        for tag in tags.tags() {
            settings.push(format!("policy {arn} tag {}={}", tag.key(), tag.value()));
        }
    }
    for provider in providers.open_id_connect_provider_list() {
        let arn = provider.arn().unwrap();
        let got = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap();
        settings.push(format!(
            "provider {arn} audiences {:?}",
            got.client_id_list()
        ));
        for tag in got.tags() {
            settings.push(format!("provider {arn} tag {}={}", tag.key(), tag.value()));
        }
    }
    Inventory {
        workspaces,
        workspace_tags,
        buckets: buckets
            .buckets()
            .iter()
            .map(|b| b.name().unwrap().to_owned())
            .collect(),
        roles: roles
            .roles()
            .iter()
            .map(|r| format!("{}{}", r.path(), r.role_name()))
            .collect(),
        attachments,
        policies: policies
            .policies()
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.path().unwrap_or_default(),
                    p.policy_name().unwrap()
                )
            })
            .collect(),
        providers: providers
            .open_id_connect_provider_list()
            .iter()
            .map(|p| p.arn().unwrap().to_owned())
            .collect(),
        settings,
        objects: Vec::new(),
        releases: Vec::new(),
    }
}

/// A bucket's hardening, policy and tags; what is not set reads `none`.
async fn bucket_settings(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let public_access = s3.get_public_access_block().bucket(bucket).send().await;
    let public_access = public_access.ok().and_then(|got| {
        got.public_access_block_configuration()
            .map(|c| format!("{c:?}"))
    });
    let encryption = s3.get_bucket_encryption().bucket(bucket).send().await;
    let encryption = encryption.ok().and_then(|got| {
        let rules = got.server_side_encryption_configuration()?.rules();
        Some(format!("{rules:?}"))
    });
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await;
    let ownership = ownership.ok().and_then(|got| {
        let rules = got.ownership_controls()?.rules();
        Some(format!("{rules:?}"))
    });
    let policy = s3.get_bucket_policy().bucket(bucket).send().await;
    let policy = policy.ok().and_then(|got| {
        let policy: Value = serde_json::from_str(got.policy()?).ok()?;
        Some(policy.to_string())
    });
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await;
    let tags = tags.ok().map(|got| {
        let mut tags: Vec<String> = got
            .tag_set()
            .iter()
            .map(|tag| format!("{}={}", tag.key(), tag.value()))
            .collect();
        tags.sort();
        tags.join(",")
    });
    [
        ("public-access-block", public_access),
        ("encryption", encryption),
        ("ownership", ownership),
        ("policy", policy),
        ("tags", tags),
    ]
    .into_iter()
    .map(|(setting, value)| {
        let value = value.unwrap_or_else(|| "none".to_owned());
        format!("bucket {bucket} {setting} {value}")
    })
    .collect()
}

impl Inventory {
    /// The same, comparable with another world's: the account id becomes `ACCOUNT` and every
    /// AMP workspace id `ws-ID`.
    pub fn normalised(self, account_id: &str) -> Inventory {
        self.map(|name| workspace_ids_hidden(&name.replace(account_id, "ACCOUNT")))
    }

    fn sorted(self) -> Inventory {
        self.map(str::to_owned)
    }

    fn map(self, rename: impl Fn(&str) -> String) -> Inventory {
        let each = |names: Vec<String>| {
            let mut names: Vec<String> = names.iter().map(|name| rename(name)).collect();
            names.sort();
            names
        };
        Inventory {
            workspaces: each(self.workspaces),
            workspace_tags: each(self.workspace_tags),
            buckets: each(self.buckets),
            roles: each(self.roles),
            attachments: each(self.attachments),
            policies: each(self.policies),
            providers: each(self.providers),
            settings: each(self.settings),
            objects: each(self.objects),
            releases: each(self.releases),
        }
    }
}

/// `text` with each AMP workspace id (`ws-` and a UUID) replaced by `ws-ID`.
fn workspace_ids_hidden(text: &str) -> String {
    const UUID_LEN: usize = 36;
    let mut hidden = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("ws-") {
        let (before, from) = rest.split_at(at);
        hidden.push_str(before);
        let id = &from[3..];
        let is_uuid = id
            .as_bytes()
            .get(..UUID_LEN)
            .is_some_and(|id| id.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-'));
        if is_uuid {
            hidden.push_str("ws-ID");
            rest = &id[UUID_LEN..];
        } else {
            hidden.push_str("ws-");
            rest = id;
        }
    }
    hidden.push_str(rest);
    hidden
}
