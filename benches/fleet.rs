//! The fleet benchmark (run it with `scripts/bench`, which says what it needs): kcfed against the
//! aws CLI doing the walkthrough's AWS steps, on moto and one fake Kubernetes API server per
//! cluster, with latency added to every AWS and Kubernetes call by the test bench's proxy. Prints a
//! Markdown report on stdout and its progress on stderr.
//!
//! Every measured run gets a fresh AWS account and fresh fake clusters. What a case needs before
//! its command (the primary for a join, the whole fleet for a cleanup) is made untimed, straight
//! against moto and the fakes. AWS calls are counted by the proxy, Kubernetes writes by the fakes,
//! and peak memory is what GNU time reports for the run. helm is a stand-in that answers at
//! once: the chart install is the same work with kcfed or without, and the baseline leaves it out
//! too.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{World, block_on};
use support::amp::AmpDataPlane;
use support::moto::{AwsAccount, Moto};
use support::proxy::{Exchange, Faults, Proxy};

const REGION: &str = "us-east-1";
const LATENCIES: [Duration; 2] = [Duration::ZERO, Duration::from_millis(80)];
/// The latency the targets of issue 6 are stated at.
const TARGET_LATENCY: Duration = Duration::from_millis(80);

/// Answers `version` and an empty `list` at once and succeeds at everything else.
const HELM_STAND_IN: &str =
    "#!/bin/sh\ncase \"$1\" in\n  version) echo v4.1.4 ;;\n  list) echo '[]' ;;\nesac\n";

/// The service accounts the walkthrough makes with `eksctl create iamserviceaccount`.
const SERVICE_ACCOUNTS: [&str; 2] = [
    "kubecost-cost-analyzer-amp",
    "kubecost-prometheus-server-amp",
];
const AMP_MANAGED_POLICIES: [&str; 2] = [
    "arn:aws:iam::aws:policy/AmazonPrometheusQueryAccess",
    "arn:aws:iam::aws:policy/AmazonPrometheusRemoteWriteAccess",
];
const WALKTHROUGH_BUCKET_POLICY: &str = "kubecost-s3-federated-policy";
const WALKTHROUGH_BUCKET_POLICY_DOCUMENT: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["s3:*"],
    "Resource": ["arn:aws:s3:::kubecost-etl-metrics", "arn:aws:s3:::kubecost-etl-metrics/*"]
  }]
}"#;
const WALKTHROUGH_TRUST_DOCUMENT: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/example"},
    "Action": "sts:AssumeRoleWithWebIdentity"
  }]
}"#;
/// The issuer of the baseline's OIDC provider (an EKS-shaped one).
const OIDC_HOST: &str = "oidc.eks.us-east-1.amazonaws.com/id/5E1D1A4EBC7A3F0A3A5B1E5B0A0C7A1E";

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this target too, without it,
    // and a benchmark is no test.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("fleet: a benchmark; run it with scripts/bench");
        return;
    }
    let quick = std::env::args().any(|arg| arg == "--quick");
    // `--only TEXT`: just the cases whose label contains TEXT, for a quick look at one of them.
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .windows(2)
        .find(|pair| pair[0] == "--only")
        .map(|pair| pair[1].clone());
    let wanted = |label: &str| only.as_deref().is_none_or(|text| label.contains(text));
    let bench = Bench::from_env(quick);
    let moto = Moto::shared();
    let started = Instant::now();

    let mut rows = Vec::new();
    let mut operations = Vec::new();
    for latency in LATENCIES {
        let mut agent_baseline = None;
        for case in Case::ALL.into_iter().filter(|case| wanted(&case.label())) {
            let (samples, last_calls) = measure_case(&bench, moto, case, latency);
            let baseline = case.walkthrough().map(|walkthrough| match walkthrough {
                Walkthrough::Agent => agent_baseline
                    .get_or_insert_with(|| {
                        measure_baseline(&bench, moto, Walkthrough::Agent, latency)
                    })
                    .times(case.joined()),
                primary => measure_baseline(&bench, moto, primary, latency),
            });
            if latency == TARGET_LATENCY {
                operations.push((case.label(), last_calls));
            }
            rows.push(Row {
                case: case.label(),
                latency: Some(latency),
                samples,
                baseline,
            });
        }
    }
    for offline in [Offline::Render, Offline::Help]
        .into_iter()
        .filter(|offline| wanted(offline.label()))
    {
        rows.push(Row {
            case: offline.label().to_owned(),
            latency: None,
            samples: measure_offline(&bench, offline),
            baseline: None,
        });
    }

    print_report(&bench, &rows, &operations);
    eprintln!("bench: done in {:.0?}", started.elapsed());
}

/// What the benchmark runs and how often.
struct Bench {
    kcfed: PathBuf,
    aws: PathBuf,
    helm: PathBuf,
    /// The checkout kcfed was built from (`git describe`).
    revision: Option<String>,
    timer: Timer,
    scratch: tempfile::TempDir,
    quick: bool,
}

impl Bench {
    fn from_env(quick: bool) -> Bench {
        let path = |name: &str| -> PathBuf {
            std::env::var_os(name)
                .unwrap_or_else(|| {
                    panic!("{name} is not set: run the benchmark with scripts/bench")
                })
                .into()
        };
        let scratch = tempfile::tempdir().expect("create a scratch directory");
        let helm = scratch.path().join("helm");
        fs::write(&helm, HELM_STAND_IN).expect("write the helm stand-in");
        fs::set_permissions(&helm, fs::Permissions::from_mode(0o755))
            .expect("make the helm stand-in executable");
        fs::write(
            scratch.path().join("bucket-policy.json"),
            WALKTHROUGH_BUCKET_POLICY_DOCUMENT,
        )
        .expect("write the walkthrough's bucket policy");
        fs::write(
            scratch.path().join("trust.json"),
            WALKTHROUGH_TRUST_DOCUMENT,
        )
        .expect("write the walkthrough's trust policy");
        Bench {
            kcfed: path("KCFED_BENCH_KCFED"),
            aws: path("KCFED_BENCH_AWS"),
            revision: std::env::var("KCFED_BENCH_REVISION").ok(),
            helm,
            timer: Timer {
                peak_file: scratch.path().join("peak-rss"),
            },
            scratch,
            quick,
        }
    }

    /// Runs of a case that takes about a second (or less) at 80 ms, and of a slow one.
    fn runs(&self, slow: bool) -> usize {
        match (self.quick, slow) {
            (false, false) => 5,
            (false, true) => 3,
            (true, false) => 3,
            (true, true) => 1,
        }
    }

    /// Runs of a command that calls nothing and takes milliseconds.
    fn offline_runs(&self, offline: Offline) -> usize {
        match (offline, self.quick) {
            (Offline::Help, false) => 50,
            (Offline::Render, false) | (Offline::Help, true) => 20,
            (Offline::Render, true) => 10,
        }
    }
}

/// One measured run.
struct Sample {
    wall: Duration,
    aws_calls: usize,
    kube_writes: usize,
    peak_rss_kib: u64,
}

/// Runs commands under GNU time for their peak resident memory. A child's own resource usage from
/// `wait4` would not do: it counts the resident memory of the process the child was spawned from,
/// and this benchmark's own, with its proxies and fake servers, outweighs a small command's.
struct Timer {
    /// Where GNU time writes the peak of the last run.
    peak_file: PathBuf,
}

impl Timer {
    /// `program` under GNU time; its arguments and environment go on the command returned.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("/usr/bin/time");
        command
            .args(["-f", "%M", "-o"])
            .arg(&self.peak_file)
            .arg(program);
        command
    }

    /// Runs a command of [`Timer::command`] to its end, its output discarded; returns its wall
    /// time (GNU time's own start, about a millisecond, included) and its peak resident memory in
    /// KiB. Panics with the command's stderr when it fails.
    fn run(&self, command: &mut Command) -> (Duration, u64) {
        let stderr = tempfile::NamedTempFile::new().expect("create a file for stderr");
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr.reopen().expect("reopen the stderr file"));
        let started = Instant::now();
        let status = command.status().expect("run /usr/bin/time");
        let wall = started.elapsed();
        assert!(
            status.success(),
            "{command:?} failed ({status}):\n{}",
            fs::read_to_string(stderr.path()).unwrap_or_default()
        );
        let report = fs::read_to_string(&self.peak_file).expect("read GNU time's report");
        let peak_rss_kib = report
            .lines()
            .last()
            .and_then(|line| line.trim().parse().ok())
            .unwrap_or_else(|| panic!("GNU time reported no peak memory: {report:?}"));
        (wall, peak_rss_kib)
    }
}

/// What a measured kcfed command does.
#[derive(Clone, Copy)]
enum Case {
    Init {
        quick_start: bool,
    },
    Join {
        clusters: usize,
        concurrency: Option<u16>,
    },
    CleanupAll {
        clusters: usize,
    },
    /// `status` of a fleet whose every cluster reports.
    Status {
        clusters: usize,
    },
}

impl Case {
    const ALL: [Case; 8] = [
        Case::Init { quick_start: false },
        Case::Init { quick_start: true },
        Case::Join {
            clusters: 1,
            concurrency: None,
        },
        Case::Join {
            clusters: 10,
            concurrency: None,
        },
        Case::Join {
            clusters: 50,
            concurrency: None,
        },
        Case::Join {
            clusters: 50,
            concurrency: Some(16),
        },
        Case::CleanupAll { clusters: 10 },
        Case::Status { clusters: 50 },
    ];

    fn label(self) -> String {
        match self {
            Case::Init { quick_start: false } => "init primary".to_owned(),
            Case::Init { quick_start: true } => "init primary --quick-start".to_owned(),
            Case::Join {
                clusters,
                concurrency,
            } => {
                let plural = if clusters == 1 { "" } else { "s" };
                match concurrency {
                    Some(concurrency) => {
                        format!(
                            "join cluster, {clusters} cluster{plural}, --concurrency {concurrency}"
                        )
                    }
                    None => format!("join cluster, {clusters} cluster{plural}"),
                }
            }
            Case::CleanupAll { clusters } => format!("cleanup --all, {clusters}-cluster fleet"),
            Case::Status { clusters } => format!("status, {clusters}-cluster fleet"),
        }
    }

    /// The clusters a join adds.
    fn joined(self) -> usize {
        match self {
            Case::Join { clusters, .. } => clusters,
            _ => 0,
        }
    }

    /// Agents in the fleet besides the primary `prod`.
    fn agents(self) -> usize {
        match self {
            Case::Init { .. } => 0,
            Case::Join { clusters, .. } => clusters,
            Case::CleanupAll { clusters } | Case::Status { clusters } => clusters - 1,
        }
    }

    fn slow(self) -> bool {
        self.agents() > 1
    }

    fn walkthrough(self) -> Option<Walkthrough> {
        match self {
            Case::Init { quick_start } => Some(Walkthrough::Primary {
                federated: !quick_start,
            }),
            Case::Join { .. } => Some(Walkthrough::Agent),
            // The walkthrough ends with "open the dashboard and look": nothing to compare with.
            Case::CleanupAll { .. } | Case::Status { .. } => None,
        }
    }

    fn args(self, bench: &Bench) -> Vec<String> {
        let helm = bench.helm.display().to_string();
        if let Case::Status { .. } = self {
            return ["status", "--helm", &helm, "--output", "json"]
                .map(str::to_owned)
                .to_vec();
        }
        let common = ["--helm", &helm, "--yes", "--output", "json"];
        // The walkthrough's chart, against which README's figures were measured.
        let walkthrough_chart = ["--chart-version", "1.103.4"];
        let mut args: Vec<String> = match self {
            Case::Init { .. } => [
                &["init", "primary", "--cluster", "prod"][..],
                &walkthrough_chart,
            ]
            .concat(),
            Case::Join { .. } => [&["join", "cluster"][..], &walkthrough_chart].concat(),
            Case::CleanupAll { .. } => vec!["cleanup", "--all"],
            Case::Status { .. } => unreachable!("status has its own arguments"),
        }
        .into_iter()
        .chain(common)
        .map(str::to_owned)
        .collect();
        match self {
            Case::Init { quick_start: true } => args.push("--quick-start".to_owned()),
            Case::Join { concurrency, .. } => {
                for agent in agent_names(self.agents()) {
                    args.extend(["--cluster".to_owned(), agent]);
                }
                if let Some(concurrency) = concurrency {
                    args.extend(["--concurrency".to_owned(), concurrency.to_string()]);
                }
            }
            _ => {}
        }
        args
    }

    /// Makes what the command starts from, untimed: the primary for a join, the fleet for a
    /// cleanup.
    fn prepare(self, stage: &Stage, bench: &Bench) {
        if matches!(self, Case::Init { .. }) {
            return;
        }
        stage.setup(Case::Init { quick_start: false }.args(bench));
        if let Case::CleanupAll { .. } | Case::Status { .. } = self {
            stage.setup(
                Case::Join {
                    clusters: self.agents(),
                    concurrency: Some(16),
                }
                .args(bench),
            );
        }
    }
}

fn agent_names(agents: usize) -> Vec<String> {
    (1..=agents).map(|n| format!("agent-{n}")).collect()
}

/// One run's world: a fresh account with the primary `prod` and its agents, each cluster with a
/// fake API server of its own.
struct Stage<'a> {
    world: World,
    bench: &'a Bench,
    /// AMP's data plane, once the fleet's clusters report to it.
    plane: Option<AmpDataPlane>,
}

impl<'a> Stage<'a> {
    fn new(bench: &'a Bench, moto: &Moto, agents: usize) -> Stage<'a> {
        let mut clusters = vec!["prod".to_owned()];
        clusters.extend(agent_names(agents));
        let clusters: Vec<&str> = clusters.iter().map(String::as_str).collect();
        let world = World::new(moto, REGION, &clusters);
        warm_up_iam(&world.account);
        Stage {
            world,
            bench,
            plane: None,
        }
    }

    /// Starts AMP's data plane with a fresh sample of every cluster in it, untimed.
    fn report_every_cluster(&mut self) {
        let plane = AmpDataPlane::start(REGION);
        let account = &self.world.account;
        plane.trust(&account.access_key_id, &account.secret_access_key);
        let workspace = block_on(async {
            let amp = aws_sdk_amp::Client::new(&account.sdk_config(REGION).await);
            let listed = amp
                .list_workspaces()
                .send()
                .await
                .expect("ListWorkspaces on moto");
            listed.workspaces()[0].workspace_id().to_owned()
        });
        let key = (
            account.access_key_id.as_str(),
            account.secret_access_key.as_str(),
        );
        for cluster in &self.world.clusters {
            let labels = [("cluster_id", cluster.name.as_str())];
            let status = plane.remote_write(
                &workspace,
                key,
                REGION,
                "node_total_hourly_cost",
                &labels,
                std::time::SystemTime::now(),
            );
            assert_eq!(status, 204, "remote write of {}", cluster.name);
        }
        self.plane = Some(plane);
    }

    /// The release kcfed, set up as `World::command` sets up the test build: the world's
    /// environment and nothing of the developer's, through the proxies once they are in place.
    fn kcfed(&self, args: &[String]) -> Command {
        let mut command = self.bench.timer.command(&self.bench.kcfed);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.world.dir.path())
            .env("KUBECONFIG", &self.world.kubeconfig)
            .envs(self.world.account.envs(REGION));
        if let Some(proxy) = &self.world.aws_proxy {
            command.env("AWS_ENDPOINT_URL", proxy.url());
        }
        command
    }

    /// Runs kcfed straight against moto and the fakes, untimed.
    fn setup(&self, args: Vec<String>) {
        self.bench.timer.run(&mut self.kcfed(&args));
    }

    /// Puts proxies adding `latency` in front of moto and of every fake, then runs kcfed through
    /// them, timed.
    fn measure(&mut self, args: &[String], latency: Duration) -> Sample {
        let faults = Faults {
            latency,
            ..Faults::none()
        };
        self.world.proxy_all(&faults);
        if let Some(plane) = &self.plane {
            // The same latency, through a proxy that also names the plane as the query API.
            let proxy = Proxy::rewriting(
                &self.world.account.endpoint_url,
                plane.workspace_endpoints(),
            );
            proxy.set_faults(faults);
            self.world.aws_proxy = Some(proxy);
        }
        let writes_before = self.kube_writes();
        let (wall, peak_rss_kib) = self.bench.timer.run(&mut self.kcfed(args));
        Sample {
            wall,
            aws_calls: self.world.aws_proxy.as_ref().map_or(0, Proxy::requests),
            kube_writes: self.kube_writes() - writes_before,
            peak_rss_kib,
        }
    }

    fn kube_writes(&self) -> usize {
        self.world
            .clusters
            .iter()
            .map(|c| c.kube.write_count())
            .sum()
    }

    /// Every call the proxies passed on: AWS, then each cluster's Kubernetes API.
    fn calls(&self) -> Vec<Exchange> {
        self.world.proxies().flat_map(Proxy::log).collect()
    }
}

/// moto loads the AWS managed policies into an account on its first IAM call, which takes about
/// half a second that AWS does not: done here, untimed.
fn warm_up_iam(account: &AwsAccount) {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        iam.list_roles().send().await.expect("ListRoles on moto");
    });
}

/// Runs a case as often as the bench says; returns the samples and the calls of the last run.
fn measure_case(
    bench: &Bench,
    moto: &Moto,
    case: Case,
    latency: Duration,
) -> (Vec<Sample>, Vec<Exchange>) {
    let runs = bench.runs(case.slow());
    let mut samples = Vec::new();
    let mut last_calls = Vec::new();
    for run in 1..=runs {
        let mut stage = Stage::new(bench, moto, case.agents());
        case.prepare(&stage, bench);
        if let Case::Status { .. } = case {
            stage.report_every_cluster();
        }
        let sample = stage.measure(&case.args(bench), latency);
        eprintln!(
            "bench: {} at {} ms, run {run}/{runs}: {:.2?}, {} AWS calls, {} Kubernetes writes",
            case.label(),
            latency.as_millis(),
            sample.wall,
            sample.aws_calls,
            sample.kube_writes
        );
        samples.push(sample);
        last_calls = stage.calls();
    }
    (samples, last_calls)
}

/// The walkthrough's AWS steps, run with the aws CLI as a user would.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walkthrough {
    /// The fleet and the first cluster: workspace, bucket and policy (federated only), and the two
    /// service accounts' roles.
    Primary { federated: bool },
    /// One more cluster of a federated fleet: the two service accounts' roles.
    Agent,
}

impl Walkthrough {
    /// Each aws command, in order.
    fn commands(self, account_id: &str, files: &Path) -> Vec<Vec<String>> {
        let federated = self != Walkthrough::Primary { federated: false };
        let policy_file = format!("file://{}", files.join("bucket-policy.json").display());
        let trust_file = format!("file://{}", files.join("trust.json").display());
        let bucket_policy_arn =
            format!("arn:aws:iam::{account_id}:policy/{WALKTHROUGH_BUCKET_POLICY}");
        let mut commands: Vec<Vec<String>> = Vec::new();
        let mut add =
            |words: &[&str]| commands.push(words.iter().map(|w| (*w).to_owned()).collect());
        if let Walkthrough::Primary { .. } = self {
            add(&["sts", "get-caller-identity"]);
            add(&["amp", "create-workspace", "--alias", "kubecost-amp"]);
            add(&["amp", "list-workspaces"]);
            if federated {
                add(&[
                    "s3",
                    "mb",
                    &format!("s3://kubecost-etl-metrics-{account_id}"),
                ]);
                add(&[
                    "iam",
                    "create-policy",
                    "--policy-name",
                    WALKTHROUGH_BUCKET_POLICY,
                    "--policy-document",
                    &policy_file,
                ]);
            }
        }
        // What `eksctl create iamserviceaccount` does for each, less its CloudFormation.
        let provider_arn = format!("arn:aws:iam::{account_id}:oidc-provider/{OIDC_HOST}");
        for service_account in SERVICE_ACCOUNTS {
            add(&[
                "iam",
                "get-open-id-connect-provider",
                "--open-id-connect-provider-arn",
                &provider_arn,
            ]);
            let role = format!("eksctl-{service_account}");
            add(&[
                "iam",
                "create-role",
                "--role-name",
                &role,
                "--assume-role-policy-document",
                &trust_file,
            ]);
            let mut policies = AMP_MANAGED_POLICIES.to_vec();
            if federated {
                policies.push(&bucket_policy_arn);
            }
            for policy in policies {
                add(&[
                    "iam",
                    "attach-role-policy",
                    "--role-name",
                    &role,
                    "--policy-arn",
                    policy,
                ]);
            }
        }
        commands
    }
}

/// The aws-CLI baseline of a case at one latency.
#[derive(Clone, Copy)]
struct Baseline {
    median: Duration,
    aws_calls: usize,
    /// Scaled up from the one-cluster baseline rather than run.
    scaled: bool,
}

impl Baseline {
    /// The baseline of `clusters` clusters done one after the other, from one cluster's.
    fn times(self, clusters: usize) -> Baseline {
        Baseline {
            median: self.median * u32::try_from(clusters).expect("a few clusters"),
            aws_calls: self.aws_calls * clusters,
            scaled: clusters > 1,
        }
    }
}

fn measure_baseline(
    bench: &Bench,
    moto: &Moto,
    walkthrough: Walkthrough,
    latency: Duration,
) -> Baseline {
    let files = bench.scratch.path();
    // Each run takes seconds: one Python process per step.
    let runs = bench.runs(true);
    let mut walls = Vec::new();
    let mut aws_calls = 0;
    for run in 1..=runs {
        let account = moto.new_account();
        prepare_walkthrough(&account, walkthrough);
        let proxy = Proxy::start(
            moto.endpoint_url(),
            Faults {
                latency,
                ..Faults::none()
            },
        );
        let through_proxy = AwsAccount {
            endpoint_url: proxy.url(),
            ..account.clone()
        };
        let started = Instant::now();
        for words in walkthrough.commands(&account.account_id, files) {
            bench.timer.run(
                bench
                    .timer
                    .command(&bench.aws)
                    .args(&words)
                    .env_clear()
                    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                    .env("HOME", files)
                    .env("AWS_DEFAULT_REGION", REGION)
                    .envs(through_proxy.envs(REGION)),
            );
        }
        let wall = started.elapsed();
        aws_calls = proxy.requests();
        eprintln!(
            "bench: aws CLI baseline, {} at {} ms, run {run}/{runs}: {wall:.2?}, {aws_calls} AWS calls",
            walkthrough.label(),
            latency.as_millis()
        );
        walls.push(wall);
    }
    Baseline {
        median: median(&walls),
        aws_calls,
        scaled: false,
    }
}

impl Walkthrough {
    fn label(self) -> &'static str {
        match self {
            Walkthrough::Primary { federated: true } => "primary",
            Walkthrough::Primary { federated: false } => "primary, quick start",
            Walkthrough::Agent => "one more cluster",
        }
    }
}

/// What the walkthrough takes as given, untimed: the cluster's OIDC provider (`eksctl utils
/// associate-iam-oidc-provider`, run before), and for another cluster the fleet's bucket policy.
fn prepare_walkthrough(account: &AwsAccount, walkthrough: Walkthrough) {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        iam.create_open_id_connect_provider()
            .url(format!("https://{OIDC_HOST}"))
            .client_id_list("sts.amazonaws.com")
            .send()
            .await
            .expect("CreateOpenIDConnectProvider on moto");
        if walkthrough == Walkthrough::Agent {
            iam.create_policy()
                .policy_name(WALKTHROUGH_BUCKET_POLICY)
                .policy_document(WALKTHROUGH_BUCKET_POLICY_DOCUMENT)
                .send()
                .await
                .expect("CreatePolicy on moto");
        }
    });
}

/// Commands that call nothing.
#[derive(Clone, Copy)]
enum Offline {
    Render,
    Help,
}

impl Offline {
    fn label(self) -> &'static str {
        match self {
            Offline::Render => "render",
            Offline::Help => "kcfed --help",
        }
    }
}

fn measure_offline(bench: &Bench, offline: Offline) -> Vec<Sample> {
    let runs = bench.offline_runs(offline);
    let samples: Vec<Sample> = (0..runs)
        .map(|run| {
            let mut command = bench.timer.command(&bench.kcfed);
            match offline {
                Offline::Help => command.arg("--help"),
                Offline::Render => command
                    .args(["render", "--role", "primary", "--cluster", "prod"])
                    .args(["--region", REGION, "--account-id", "111122223333"])
                    .args(["--workspace-id", "ws-12345678-abcd-1234-abcd-123456789012"])
                    .args(["--chart-version", "1.103.4"])
                    .arg("--out")
                    .arg(bench.scratch.path().join(format!("render-{run}"))),
            };
            let (wall, peak_rss_kib) = bench.timer.run(&mut command);
            Sample {
                wall,
                aws_calls: 0,
                kube_writes: 0,
                peak_rss_kib,
            }
        })
        .collect();
    eprintln!(
        "bench: {}, {runs} runs: median {:.2?}",
        offline.label(),
        median(&walls(&samples))
    );
    samples
}

/// One line of the table.
struct Row {
    case: String,
    /// `None` for commands that make no calls.
    latency: Option<Duration>,
    samples: Vec<Sample>,
    baseline: Option<Baseline>,
}

impl Row {
    fn median(&self) -> Duration {
        median(&walls(&self.samples))
    }

    fn peak_rss_kib(&self) -> u64 {
        self.samples
            .iter()
            .map(|s| s.peak_rss_kib)
            .max()
            .unwrap_or_default()
    }
}

fn walls(samples: &[Sample]) -> Vec<Duration> {
    samples.iter().map(|s| s.wall).collect()
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// `12.3 ms`, `850 ms`, `2.41 s`.
fn format_duration(duration: Duration) -> String {
    let millis = duration.as_secs_f64() * 1000.0;
    if millis < 100.0 {
        format!("{millis:.1} ms")
    } else if millis < 1000.0 {
        format!("{millis:.0} ms")
    } else {
        format!("{:.2} s", duration.as_secs_f64())
    }
}

/// One count, or its range when the runs differ.
fn format_counts(counts: impl Iterator<Item = usize> + Clone) -> String {
    let min = counts.clone().min().unwrap_or_default();
    let max = counts.max().unwrap_or_default();
    if min == max {
        min.to_string()
    } else {
        format!("{min}–{max}")
    }
}

fn print_report(bench: &Bench, rows: &[Row], operations: &[(String, Vec<Exchange>)]) {
    println!(
        "| case | added latency | median | min | max | AWS calls | k8s writes | peak RSS | aws CLI baseline | baseline AWS calls | kcfed / baseline |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let walls = walls(&row.samples);
        let latency = row.latency.map_or("none (offline)".to_owned(), |l| {
            format!("{} ms", l.as_millis())
        });
        let (baseline, baseline_calls, ratio) = match row.baseline {
            Some(baseline) => (
                format!(
                    "{}{}",
                    if baseline.scaled { "≈ " } else { "" },
                    format_duration(baseline.median)
                ),
                baseline.aws_calls.to_string(),
                format!(
                    "{:.3}",
                    row.median().as_secs_f64() / baseline.median.as_secs_f64()
                ),
            ),
            None => ("–".to_owned(), "–".to_owned(), "–".to_owned()),
        };
        println!(
            "| {} | {latency} | {} | {} | {} | {} | {} | {:.1} MiB | {baseline} | {baseline_calls} | {ratio} |",
            row.case,
            format_duration(row.median()),
            format_duration(walls.iter().min().copied().unwrap_or_default()),
            format_duration(walls.iter().max().copied().unwrap_or_default()),
            format_counts(row.samples.iter().map(|s| s.aws_calls)),
            format_counts(row.samples.iter().map(|s| s.kube_writes)),
            row.peak_rss_kib() as f64 / 1024.0,
        );
    }
    println!(
        "\nRuns per case: {} ({} for joins of 10 or more, the cleanup and the aws CLI baselines; \
         {} for --help, {} for render); \
         each run in a fresh moto account with fresh fake clusters. ≈: N × the one-cluster baseline \
         (the same aws commands again for each cluster). AWS calls as the proxy saw them, k8s writes as \
         the fake API servers saw them; helm is a stand-in that answers at once.",
        bench.runs(false),
        bench.runs(true),
        bench.offline_runs(Offline::Help),
        bench.offline_runs(Offline::Render),
    );

    println!(
        "\n### Calls by operation (last run at {} ms; kube: Kubernetes API)\n",
        TARGET_LATENCY.as_millis()
    );
    for (case, calls) in operations {
        println!("- {case}: {}", by_operation(calls));
    }

    let paths = critical_paths(rows, operations);
    print_critical_path(&paths);
    print_targets(bench, rows, &paths);
    print_machine(bench);
}

/// `iam:GetRole ×2, s3:PUT ?policy ×1, …`, most frequent first.
fn by_operation(calls: &[Exchange]) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls {
        *counts.entry(operation(call)).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(operation, count)| format!("{operation} ×{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The IAM/STS action, or for REST services the method and the shape of the path: S3 by its
/// sub-resource (`?tagging`), Kubernetes by the kind of object, AMP and EKS by their first path
/// segment.
fn operation(call: &Exchange) -> String {
    let service = call.service.as_deref().unwrap_or("kube");
    if let Some(action) = &call.action {
        return format!("{service}:{action}");
    }
    let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let shape = if service == "kube" {
        // /api/v1/namespaces/NS/KIND/NAME, /api/v1/namespaces/NAME
        match segments.iter().position(|s| *s == "namespaces") {
            Some(at) => segments.get(at + 2).unwrap_or(&"namespaces").to_string(),
            None => path.to_owned(),
        }
    } else if service == "s3" {
        let keys: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("x-id="))
            .map(|pair| pair.split('=').next().unwrap_or_default())
            .collect();
        if keys.is_empty() {
            "bucket".to_owned()
        } else {
            format!("?{}", keys.join("&"))
        }
    } else {
        let more = if segments.len() > 1 { "/…" } else { "" };
        format!("/{}{more}", segments.first().unwrap_or(&""))
    };
    format!("{service}:{} {shape}", call.method)
}

fn find<'a>(rows: &'a [Row], case: &str, latency: Option<Duration>) -> Option<&'a Row> {
    rows.iter().find(|r| r.case == case && r.latency == latency)
}

/// init primary's critical path: the longest chain of calls that must follow each other when the
/// plan is made from reads before anything changes, and everything else runs beside it. Returns
/// the chain's operations (as `operation` names them) and its description.
fn critical_path(quick_start: bool) -> ([&'static str; 5], &'static str) {
    if quick_start {
        (
            [
                "eks:GET /clusters/…",
                "iam:GetOpenIDConnectProvider",
                "aps:POST /workspaces",
                "iam:CreateRole",
                "iam:AttachRolePolicy",
            ],
            "eks:DescribeCluster (the OIDC issuer) → iam:GetOpenIDConnectProvider (named from the \
             issuer; the last read before the plan) → aps:CreateWorkspace → iam:CreateRole (its \
             path holds the workspace id) → iam:AttachRolePolicy",
        )
    } else {
        (
            [
                "sts:GetCallerIdentity",
                "s3:HEAD bucket",
                "aps:POST /workspaces",
                "iam:CreateRole",
                "iam:AttachRolePolicy",
            ],
            "sts:GetCallerIdentity (account id) → the bucket check (its name holds the account id; \
             the last read before the plan) → aps:CreateWorkspace → iam:CreateRole (its path holds \
             the workspace id; CreatePolicy, the bucket and the Kubernetes writes run beside it) → \
             iam:AttachRolePolicy",
        )
    }
}

/// How long the chain's calls took, one after the other, as the proxy timed them in a run at the
/// target latency: the median of each operation's calls, summed. No order of calls finishes
/// sooner than its longest chain.
fn chain_time(chain: &[&str], calls: &[Exchange]) -> Option<Duration> {
    chain
        .iter()
        .map(|wanted| {
            let mut times: Vec<Duration> = calls
                .iter()
                .filter(|call| operation(call) == *wanted)
                .filter_map(|call| call.elapsed)
                .collect();
            times.sort();
            times.get(times.len() / 2).copied()
        })
        .sum()
}

/// kcfed's median at the target latency against its critical path, as measured and as latency
/// alone.
struct CriticalPath {
    chain: &'static str,
    calls: u32,
    measured: Duration,
    kcfed: Duration,
    /// What the latency added to kcfed's time at 0 ms, in round trips.
    round_trips: f64,
}

fn critical_paths(
    rows: &[Row],
    operations: &[(String, Vec<Exchange>)],
) -> Vec<(String, CriticalPath)> {
    [false, true]
        .into_iter()
        .filter_map(|quick_start| {
            let (chain_operations, chain) = critical_path(quick_start);
            let label = Case::Init { quick_start }.label();
            let slow = find(rows, &label, Some(TARGET_LATENCY))?;
            let fast = find(rows, &label, Some(Duration::ZERO))?;
            let calls = &operations.iter().find(|(case, _)| *case == label)?.1;
            let added = slow.median().saturating_sub(fast.median());
            Some((
                label,
                CriticalPath {
                    chain,
                    calls: chain_operations.len() as u32,
                    measured: chain_time(&chain_operations, calls)?,
                    kcfed: slow.median(),
                    round_trips: added.as_secs_f64() / TARGET_LATENCY.as_secs_f64(),
                },
            ))
        })
        .collect()
}

fn print_critical_path(paths: &[(String, CriticalPath)]) {
    println!(
        "\n### init primary: critical path at {} ms\n",
        TARGET_LATENCY.as_millis()
    );
    for (label, path) in paths {
        let latency_only = TARGET_LATENCY * path.calls;
        println!(
            "- {label}: {} calls: {}. Those calls took {} one after the other as the proxy timed \
             them ({} of it the added latency); kcfed {} = {:.2}× the critical path ({:.2}× the \
             latency alone). The latency added {:.1} round trips to kcfed's time at 0 ms, where \
             the chain has {}.",
            path.calls,
            path.chain,
            format_duration(path.measured),
            format_duration(latency_only),
            format_duration(path.kcfed),
            path.kcfed.as_secs_f64() / path.measured.as_secs_f64(),
            path.kcfed.as_secs_f64() / latency_only.as_secs_f64(),
            path.round_trips,
            path.calls,
        );
    }
}

/// `join cluster --concurrency` when not given, as kcfed's help states it.
fn default_concurrency(bench: &Bench) -> u32 {
    let help = Command::new(&bench.kcfed)
        .args(["join", "cluster", "--help"])
        .output()
        .expect("run kcfed join cluster --help");
    let help = String::from_utf8_lossy(&help.stdout);
    let after = &help[help
        .find("--concurrency")
        .expect("the help names --concurrency")..];
    let default = &after[after
        .find("[default: ")
        .expect("the help gives its default")
        + 10..];
    default[..default.find(']').expect("a closing bracket")]
        .parse()
        .expect("a number")
}

/// The targets of issue 6 against these numbers.
fn print_targets(bench: &Bench, rows: &[Row], paths: &[(String, CriticalPath)]) {
    println!(
        "\n### Targets (issue 6) at {} ms\n",
        TARGET_LATENCY.as_millis()
    );
    let at = |case: Case| find(rows, &case.label(), Some(TARGET_LATENCY));
    let verdict = |holds: bool| if holds { "holds" } else { "does not hold" };
    if let Some(init) = at(Case::Init { quick_start: false })
        && let Some(baseline) = init.baseline
    {
        let speedup = baseline.median.as_secs_f64() / init.median().as_secs_f64();
        println!(
            "- init primary ≥ 10× faster than the aws CLI: {speedup:.1}× ({})",
            verdict(speedup >= 10.0),
        );
    }
    for (label, path) in paths {
        let to_critical = path.kcfed.as_secs_f64() / path.measured.as_secs_f64();
        println!(
            "- {label} within 1.5× of the critical path: {to_critical:.2}× ({})",
            verdict(to_critical <= 1.5)
        );
    }
    let joins = [1, 10, 50].map(|clusters| {
        at(Case::Join {
            clusters,
            concurrency: None,
        })
    });
    let wide = at(Case::Join {
        clusters: 50,
        concurrency: Some(16),
    });
    if let ([Some(one), Some(ten), Some(fifty)], Some(wide)) = (joins, wide) {
        let sequential = one.median() * 50;
        let speedup = sequential.as_secs_f64() / fifty.median().as_secs_f64();
        println!(
            "- join 50 ≥ 5× faster than 50 sequential joins (50 × join 1 = {}): {speedup:.1}× ({})",
            format_duration(sequential),
            verdict(speedup >= 5.0)
        );
        // With concurrency c, N clusters take about ceil(N / c) rounds of one cluster's work.
        let per_round = |row: &Row, clusters: u32, concurrency: u32| {
            format_duration(row.median() / clusters.div_ceil(concurrency))
        };
        let d = default_concurrency(bench);
        println!(
            "- time per round of concurrent clusters (median / ceil(clusters / concurrency)): \
             10 at {d}: {}, 50 at {d}: {}, 50 at 16: {}; 50 clusters at 16 take {:.2} of 50 at {d} \
             ({}/{} = {:.2} if the time grew with clusters / concurrency alone)",
            per_round(ten, 10, d),
            per_round(fifty, 50, d),
            per_round(wide, 50, 16),
            wide.median().as_secs_f64() / fifty.median().as_secs_f64(),
            50u32.div_ceil(16),
            50u32.div_ceil(d),
            f64::from(50u32.div_ceil(16)) / f64::from(50u32.div_ceil(d)),
        );
        let fifty_label = Case::Join {
            clusters: 50,
            concurrency: None,
        }
        .label();
        if let Some(unhurried) = find(rows, &fifty_label, Some(Duration::ZERO)) {
            let calls = unhurried.samples.first().map_or(0, |s| s.aws_calls);
            println!(
                "- the emulator's ceiling: join 50 at 0 ms takes {} for its {calls} AWS calls \
                 ({:.0} calls/s through one moto process), the floor of any concurrency",
                format_duration(unhurried.median()),
                calls as f64 / unhurried.median().as_secs_f64()
            );
        }
        println!(
            "- peak memory, join 1 / 10 / 50 / 50 at 16: {:.1} / {:.1} / {:.1} / {:.1} MiB",
            one.peak_rss_kib() as f64 / 1024.0,
            ten.peak_rss_kib() as f64 / 1024.0,
            fifty.peak_rss_kib() as f64 / 1024.0,
            wide.peak_rss_kib() as f64 / 1024.0
        );
    }
    if let Some(help) = find(rows, Offline::Help.label(), None) {
        println!(
            "- kcfed --help under 20 ms: {} ({})",
            format_duration(help.median()),
            verdict(help.median() < Duration::from_millis(20))
        );
    }
}

fn print_machine(bench: &Bench) {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_default();
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\n### Machine\n");
    println!(
        "- {cpus} CPUs ({model}), {:.1} GiB memory, load average at the end {}",
        memory_kib as f64 / (1024.0 * 1024.0),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("- {}", binary_size(&bench.kcfed, bench.scratch.path()));
    if let Some(revision) = &bench.revision {
        println!("- kcfed built from {revision}");
    }
}

/// The release binary's size, and what `strip` makes of a copy.
fn binary_size(kcfed: &Path, scratch: &Path) -> String {
    let size = fs::metadata(kcfed).map(|m| m.len()).unwrap_or_default();
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let copy = scratch.join("kcfed-stripped");
    let stripped = fs::copy(kcfed, &copy)
        .ok()
        .and_then(|_| Command::new("strip").arg(&copy).status().ok())
        .filter(|status| status.success())
        .and_then(|_| fs::metadata(&copy).ok())
        .map(|m| m.len());
    let strip = match stripped {
        Some(stripped) if stripped < size => {
            format!("`strip` would shrink it to {:.1} MiB", mib(stripped))
        }
        Some(_) => "already stripped".to_owned(),
        None => "`strip` is not available".to_owned(),
    };
    format!(
        "release binary {}: {size} bytes ({:.1} MiB); {strip}",
        kcfed.display(),
        mib(size)
    )
}
