//! The fleet-scale benchmark of issue 22 (run it with `scripts/bench --scale`, which says what it
//! needs): kcfed on the local test bench with fleets of up to a thousand clusters, in both
//! identity modes. Prints a Markdown report on stdout and its progress on stderr.
//!
//! What it measures:
//! - a fleet of N clusters (default 1,000: the primary `prod` and N - 1 agents) in Pod Identity
//!   mode and in IRSA mode: the join of the N - 1 agents in one run at `--concurrency` 8 and 64,
//!   with a helm stand-in that takes a fixed time per install (standing in for `--wait`), against
//!   `ceil(agents / concurrency) × helm time`; peak memory (GNU time); the IAM objects each mode
//!   leaves in the fleet account; moto's and kcfed's CPU time during the join, so that the
//!   emulator's share can be told from kcfed's;
//! - `status` of that fleet, every cluster reporting: AWS calls by operation and wall time with 0
//!   and 80 ms added to every AWS and Kubernetes call;
//! - a join of 50 clusters spread over 5 accounts next to 50 in the fleet's account, in pairs in
//!   the same run, at 0 and 80 ms, in both modes;
//! - moto's own time per call, sequential and straight from this process.
//!
//! Every fleet is a fresh moto account with one fake Kubernetes API server per cluster: kcfed's
//! per-cluster objects (namespace `kubecost`, its service accounts, the cluster-id objects) have
//! the same names in every cluster, so clusters sharing a server would find one another's objects
//! and plan updates instead of creations. The test bench's proxy in front of moto serves EKS Pod
//! Identity and add-ons (every cluster has the `eks-pod-identity-agent` add-on) and gives each
//! cluster its own OIDC issuer, as EKS does.
//!
//! IAM quotas: kcfed checks the fleet account's quotas before an IRSA plan (IAM's
//! `GetAccountSummary` for roles, Service Quotas for OIDC providers). moto reports 1,000 roles and
//! gives no Service Quotas value for IAM, so kcfed goes by AWS's default of 100 providers: an IRSA
//! join past 99 agents is stopped at plan time with nothing made, as it would be on a new AWS
//! account. The benchmark measures that refusal, then raises the quotas as the bench reports them
//! (a front between the proxy and moto answers Service Quotas with N providers and
//! `GetAccountSummary` with 5,000 roles) to time the IRSA join itself. N providers is past the 700
//! IAM allows at most: no real account holds a 1,000-cluster IRSA fleet; the figures are kcfed's
//! and the emulator's throughput, nothing more.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use common::{World, block_on};
use support::amp::AmpDataPlane;
use support::eks_extensions::EksExtensions;
use support::moto::{AwsAccount, Moto, query_action};
use support::proxy::{Exchange, Faults, Proxy};

const REGION: &str = "us-east-1";
/// The chart line that can use Pod Identity; the helm stand-in never sees a chart.
const CHART_VERSION: &str = "2.8.7";
const AGENT_ADDON: &str = "eks-pod-identity-agent";
/// The role kcfed assumes in the other accounts (moto lets any role be assumed).
const ACCOUNT_ROLE: &str = "OrganizationAccountAccessRole";
/// What the helm stand-in of the fleet joins takes per install.
const HELM_TIME: Duration = Duration::from_millis(500);
const CONCURRENCIES: [u16; 2] = [8, 64];
const LATENCIES: [Duration; 2] = [Duration::ZERO, Duration::from_millis(80)];
/// The accounts case: clusters joined, and over how many accounts.
const SPREAD_CLUSTERS: usize = 50;
const SPREAD_ACCOUNTS: usize = 5;
/// The roles quota the quota front reports once raised: IAM's maximum.
const RAISED_ROLES_QUOTA: u32 = 5_000;
/// Sequential calls per operation when timing moto alone.
const MOTO_PROBE_CALLS: usize = 200;

/// helm that answers `version` and an empty `list` at once, and takes `{sleep}` per install.
fn helm_stand_in(sleep: Option<Duration>) -> String {
    let upgrade = match sleep {
        Some(time) => format!("  upgrade) sleep {:.3} ;;\n", time.as_secs_f64()),
        None => String::new(),
    };
    format!(
        "#!/bin/sh\ncase \"$1\" in\n  version) echo v4.1.4 ;;\n  list) echo '[]' ;;\n{upgrade}esac\n"
    )
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this target too, without it,
    // and a benchmark is no test.
    if !std::env::args().any(|arg| arg == "--bench") {
        eprintln!("scale: a benchmark; run it with scripts/bench --scale");
        return;
    }
    let bench = Bench::from_env();
    let moto = Moto::shared();
    let started = Instant::now();
    let mut report = Report::default();

    if bench.wanted("moto") {
        report.moto = Some(probe_moto(&bench, moto));
    }
    for mode in Mode::ALL {
        let wanted: Vec<u16> = CONCURRENCIES
            .into_iter()
            .filter(|&c| bench.wanted(&fleet_label(mode, bench.clusters, c)))
            .collect();
        for (at, &concurrency) in wanted.iter().enumerate() {
            let last = at + 1 == wanted.len();
            let (join, status) = measure_fleet(&bench, moto, mode, concurrency, last);
            report.joins.extend(join);
            report.status.extend(status);
        }
    }
    for mode in Mode::ALL {
        for latency in LATENCIES {
            if bench.wanted(&spread_label(mode, latency)) {
                report
                    .spread
                    .push(measure_spread(&bench, moto, mode, latency));
            }
        }
    }
    print_report(&bench, &report);
    eprintln!("scale: done in {:.0?}", started.elapsed());
}

/// What the benchmark runs, and with what.
struct Bench {
    kcfed: PathBuf,
    revision: Option<String>,
    /// helm that installs at once, for set-up and the accounts case.
    helm_instant: PathBuf,
    /// helm that takes [`HELM_TIME`] per install, for the fleet joins.
    helm_wait: PathBuf,
    /// Clusters in a fleet, the primary included (`--clusters`).
    clusters: usize,
    /// Pairs of runs in the accounts case (`--pairs`).
    pairs: usize,
    only: Option<String>,
    /// Where GNU time writes its figures of the last run.
    time_file: PathBuf,
    clock_ticks: f64,
    scratch: tempfile::TempDir,
}

impl Bench {
    fn from_env() -> Bench {
        let args: Vec<String> = std::env::args().collect();
        let value = |name: &str| {
            args.windows(2)
                .find(|pair| pair[0] == name)
                .map(|pair| pair[1].clone())
        };
        let number = |name: &str, default: usize| {
            value(name).map_or(default, |text| {
                text.parse()
                    .unwrap_or_else(|_| panic!("{name} takes a number, not {text:?}"))
            })
        };
        let clusters = number("--clusters", 1_000);
        assert!(
            clusters >= 2,
            "--clusters: a primary and at least one agent"
        );
        let scratch = tempfile::tempdir().expect("create a scratch directory");
        let write_helm = |name: &str, sleep: Option<Duration>| {
            let path = scratch.path().join(name);
            fs::write(&path, helm_stand_in(sleep)).expect("write a helm stand-in");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .expect("make the helm stand-in executable");
            path
        };
        let helm_instant = write_helm("helm-instant", None);
        let helm_wait = write_helm("helm-wait", Some(HELM_TIME));
        let kcfed = std::env::var_os("KCFED_BENCH_KCFED")
            .unwrap_or_else(|| panic!("KCFED_BENCH_KCFED is not set: run scripts/bench --scale"))
            .into();
        let clock_ticks = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0);
        Bench {
            kcfed,
            revision: std::env::var("KCFED_BENCH_REVISION").ok(),
            helm_instant,
            helm_wait,
            clusters,
            pairs: number("--pairs", 3),
            only: value("--only"),
            time_file: scratch.path().join("time"),
            clock_ticks,
            scratch,
        }
    }

    fn wanted(&self, label: &str) -> bool {
        self.only.as_deref().is_none_or(|text| label.contains(text))
    }

    /// kcfed through GNU time, with the world's environment and nothing of the developer's,
    /// through the world's AWS proxy.
    fn kcfed(&self, world: &World, args: &[String]) -> Command {
        let mut command = Command::new("/usr/bin/time");
        command
            .args(["-f", "%M %U %S", "-o"])
            .arg(&self.time_file)
            .arg(&self.kcfed)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", world.dir.path())
            .env("KUBECONFIG", &world.kubeconfig)
            .envs(world.account.envs(REGION));
        if let Some(proxy) = &world.aws_proxy {
            command.env("AWS_ENDPOINT_URL", proxy.url());
        }
        command
    }

    /// Runs a command of [`Bench::kcfed`] to its end; moto's CPU time is read around it.
    fn run(&self, moto: &Moto, mut command: Command) -> Run {
        command.stdin(Stdio::null());
        let moto_before = moto_cpu(moto, self.clock_ticks);
        let bench_before = process_cpu("self", self.clock_ticks).unwrap_or_default();
        let started = Instant::now();
        let output = command.output().expect("run /usr/bin/time");
        let wall = started.elapsed();
        let moto_cpu = moto_cpu(moto, self.clock_ticks) - moto_before;
        let bench_cpu = process_cpu("self", self.clock_ticks).unwrap_or_default() - bench_before;
        let figures = fs::read_to_string(&self.time_file).expect("read GNU time's report");
        let fields: Vec<&str> = figures
            .lines()
            .last()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let [rss, user, sys] = fields[..] else {
            panic!("GNU time reported {figures:?}");
        };
        Run {
            wall,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            peak_rss_kib: rss.parse().expect("peak memory in KiB"),
            kcfed_cpu: user.parse::<f64>().unwrap_or_default()
                + sys.parse::<f64>().unwrap_or_default(),
            moto_cpu,
            bench_cpu,
        }
    }

    /// Runs kcfed and panics with its output unless it exits 0.
    fn run_ok(&self, moto: &Moto, world: &World, args: &[String]) -> Run {
        let run = self.run(moto, self.kcfed(world, args));
        run.expect_code(&[0], args);
        run
    }
}

/// One run of kcfed.
struct Run {
    wall: Duration,
    code: i32,
    stdout: String,
    stderr: String,
    peak_rss_kib: u64,
    /// kcfed's user and system time.
    kcfed_cpu: f64,
    /// moto's CPU time during the run.
    moto_cpu: f64,
    /// This process's (the proxies', the fake API servers', the quota front's).
    bench_cpu: f64,
}

impl Run {
    fn expect_code(&self, codes: &[i32], args: &[String]) {
        assert!(
            codes.contains(&self.code),
            "kcfed {} exited {} after {:.1?}:\n{}\n{}",
            args.iter().take(3).cloned().collect::<Vec<_>>().join(" "),
            self.code,
            self.wall,
            tail(&self.stderr, 3_000),
            tail(&self.stdout, 3_000),
        );
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or(Value::Null)
    }
}

fn tail(text: &str, chars: usize) -> &str {
    let start = text.len().saturating_sub(chars);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[start..]
}

/// User and system time of a process (`self` or a pid) in seconds, from /proc.
fn process_cpu(pid: &str, clock_ticks: f64) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses: state is the first, utime the
    // 12th, stime the 13th.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / clock_ticks)
}

/// CPU time of the moto_server processes listening on the shared moto's port.
fn moto_cpu(moto: &Moto, clock_ticks: f64) -> f64 {
    let port = moto
        .endpoint_url()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0.0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
            let words: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            let serves_port = words
                .windows(2)
                .any(|pair| pair[0] == b"-p" && pair[1] == port.as_bytes());
            let is_moto = words
                .iter()
                .any(|word| String::from_utf8_lossy(word).contains("moto_server"));
            (serves_port && is_moto)
                .then(|| process_cpu(&pid, clock_ticks))
                .flatten()
        })
        .sum()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    PodIdentity,
    Irsa,
}

impl Mode {
    const ALL: [Mode; 2] = [Mode::PodIdentity, Mode::Irsa];

    fn flag(self) -> &'static str {
        match self {
            Mode::PodIdentity => "pod-identity",
            Mode::Irsa => "irsa",
        }
    }
}

fn fleet_label(mode: Mode, clusters: usize, concurrency: u16) -> String {
    format!(
        "{} fleet of {clusters}, --concurrency {concurrency}",
        mode.flag()
    )
}

fn spread_label(mode: Mode, latency: Duration) -> String {
    format!("{} accounts, {} ms", mode.flag(), latency.as_millis())
}

/// A world of clusters for one measurement, with the EKS extensions and the quota front.
struct Fleet {
    world: World,
    extensions: Arc<EksExtensions>,
    front: QuotaFront,
    /// The accounts other than the fleet's that have clusters.
    others: Vec<AwsAccount>,
    mode: Mode,
}

impl Fleet {
    /// The primary `prod` and `agents` agents, spread evenly over `accounts` accounts (the
    /// fleet's first), each cluster with a fake API server of its own and the Pod Identity agent.
    fn new(moto: &Moto, mode: Mode, agents: usize, accounts: usize) -> Fleet {
        let started = Instant::now();
        let per_account = agents.div_ceil(accounts);
        let names = agent_names(agents);
        let mut own = vec!["prod".to_owned()];
        own.extend(names.iter().take(per_account).cloned());
        let own: Vec<&str> = own.iter().map(String::as_str).collect();
        let mut world = World::new(moto, REGION, &own);
        let mut others = Vec::new();
        for chunk in names[per_account.min(names.len())..].chunks(per_account) {
            let other = moto.new_account();
            for name in chunk {
                world.add_cluster_in(&other, name, REGION);
            }
            others.push(other);
        }
        // The OIDC providers kcfed may make (IRSA) count against the quota the front reports.
        let front = QuotaFront::start(
            moto.endpoint_url(),
            u32::try_from(agents + 1).unwrap_or(u32::MAX).max(100),
        );
        world.account.endpoint_url = front.url();
        world.write_kubeconfig();
        let extensions = world.serve_eks_extensions();
        for cluster in &world.clusters {
            let account = arn_account(&cluster.arn);
            extensions.install_addon(account, &cluster.region, &cluster.name, AGENT_ADDON);
        }
        warm_up_iam(&world.account);
        for other in &others {
            warm_up_iam(other);
        }
        eprintln!(
            "scale: {} clusters over {accounts} account(s) ready in {:.1?}",
            world.clusters.len(),
            started.elapsed()
        );
        Fleet {
            world,
            extensions,
            front,
            others,
            mode,
        }
    }

    /// The agents' EKS ARNs, for `--cluster`.
    fn agents(&self) -> Vec<String> {
        self.world.clusters[1..]
            .iter()
            .map(|c| c.arn.clone())
            .collect()
    }

    /// A fresh AWS proxy (its count from 0) in front of the front, with the same EKS state.
    fn fresh_aws_proxy(&mut self, faults: Faults) {
        let proxy = Proxy::start(&self.world.account.endpoint_url, faults);
        proxy.serve_eks_extensions(Arc::clone(&self.extensions));
        self.world.aws_proxy = Some(proxy);
    }

    fn init_args(&self, bench: &Bench) -> Vec<String> {
        strings(&[
            "init",
            "primary",
            "--cluster",
            "prod",
            "--helm",
            &bench.helm_instant.display().to_string(),
            "--chart-version",
            CHART_VERSION,
            "--identity",
            self.mode.flag(),
            "--yes",
            "--output",
            "json",
        ])
    }

    fn join_args(&self, helm: &Path, concurrency: Option<u16>) -> Vec<String> {
        let mut args = strings(&[
            "join",
            "cluster",
            "--helm",
            &helm.display().to_string(),
            "--chart-version",
            CHART_VERSION,
            "--yes",
            "--output",
            "json",
        ]);
        if let Some(concurrency) = concurrency {
            args.extend(["--concurrency".to_owned(), concurrency.to_string()]);
        }
        if !self.others.is_empty() {
            args.extend(["--account-role".to_owned(), ACCOUNT_ROLE.to_owned()]);
        }
        for arn in self.agents() {
            args.extend(["--cluster".to_owned(), arn]);
        }
        args
    }

    fn kube_writes(&self) -> usize {
        self.world
            .clusters
            .iter()
            .map(|c| c.kube.write_count())
            .sum()
    }

    /// Associations the EKS extensions hold, over every cluster.
    fn associations(&self) -> usize {
        self.world
            .clusters
            .iter()
            .map(|c| {
                self.extensions
                    .pod_identity_associations(arn_account(&c.arn), &c.region, &c.name)
                    .len()
            })
            .sum()
    }
}

fn agent_names(agents: usize) -> Vec<String> {
    (1..=agents).map(|n| format!("agent-{n}")).collect()
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The account of `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`.
fn arn_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// moto loads the AWS managed policies into an account on its first IAM call, which takes about
/// half a second that AWS does not: done here, untimed.
fn warm_up_iam(account: &AwsAccount) {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
        iam.list_roles().send().await.expect("ListRoles on moto");
    });
}

/// What kcfed left in an account's IAM.
#[derive(Clone, Copy, Default)]
struct IamCensus {
    /// Roles under kcfed's path `/kcfed/`.
    roles: usize,
    /// OIDC providers (kcfed makes them for IRSA; the bench makes none).
    providers: usize,
    /// Customer managed policies under `/kcfed/`.
    policies: usize,
}

impl IamCensus {
    fn of(account: &AwsAccount) -> IamCensus {
        block_on(async {
            let iam = aws_sdk_iam::Client::new(&account.sdk_config(REGION).await);
            let roles: Vec<_> = iam
                .list_roles()
                .path_prefix("/kcfed/")
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            let policies: Vec<_> = iam
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .path_prefix("/kcfed/")
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await;
            let providers = iam
                .list_open_id_connect_providers()
                .send()
                .await
                .expect("ListOpenIDConnectProviders on moto");
            IamCensus {
                roles: roles.into_iter().filter(Result::is_ok).count(),
                providers: providers.open_id_connect_provider_list().len(),
                policies: policies.into_iter().filter(Result::is_ok).count(),
            }
        })
    }

    fn text(self) -> String {
        format!(
            "{} roles, {} OIDC providers, {} policies",
            self.roles, self.providers, self.policies
        )
    }
}

/// One join of a whole fleet's agents.
struct JoinRow {
    mode: Mode,
    clusters: usize,
    agents: usize,
    concurrency: u16,
    run: Run,
    aws_calls: usize,
    calls: Vec<Exchange>,
    kube_writes: usize,
    associations: usize,
    iam: IamCensus,
    /// IRSA only: the same join at the quotas moto reports, refused at plan time.
    refused: Option<Refusal>,
}

impl JoinRow {
    /// `ceil(agents / concurrency) × helm time`: what the join would take if helm were all.
    fn ideal(&self) -> Duration {
        let rounds = u32::try_from(self.agents.div_ceil(usize::from(self.concurrency)))
            .expect("a few rounds");
        HELM_TIME * rounds
    }

    fn ratio(&self) -> f64 {
        self.run.wall.as_secs_f64() / self.ideal().as_secs_f64()
    }
}

/// The IRSA join of the whole fleet at the quotas the bench's moto reports.
struct Refusal {
    code: i32,
    wall: Duration,
    aws_calls: usize,
    /// Writes among them (none expected).
    mutating: usize,
    reason: String,
    iam: IamCensus,
}

/// `status` of a fleet at one latency.
struct StatusRow {
    mode: Mode,
    clusters: usize,
    latency: Duration,
    run: Run,
    aws_calls: usize,
    calls: Vec<Exchange>,
    kube_calls: usize,
    listed: usize,
    reporting: bool,
}

/// The accounts case at one latency: pairs of joins, one account and five.
struct SpreadRow {
    mode: Mode,
    latency: Duration,
    /// (one account, five accounts) per pair.
    pairs: Vec<(Run, Run)>,
    calls: (usize, usize),
    /// The fleet account's IAM and the other accounts', after the last five-account join.
    iam_fleet: IamCensus,
    iam_others: Vec<IamCensus>,
    iam_single: IamCensus,
}

#[derive(Default)]
struct Report {
    moto: Option<MotoProbe>,
    joins: Vec<JoinRow>,
    status: Vec<StatusRow>,
    spread: Vec<SpreadRow>,
}

/// A fresh fleet of `bench.clusters` clusters: its primary made untimed, then the join of every
/// agent timed; for IRSA first the same join at moto's quotas (refused); with `with_status`,
/// then `status` of the fleet at each latency.
fn measure_fleet(
    bench: &Bench,
    moto: &Moto,
    mode: Mode,
    concurrency: u16,
    with_status: bool,
) -> (Option<JoinRow>, Vec<StatusRow>) {
    let label = fleet_label(mode, bench.clusters, concurrency);
    eprintln!("scale: {label}: setting up");
    let mut fleet = Fleet::new(moto, mode, bench.clusters - 1, 1);
    bench.run_ok(moto, &fleet.world, &fleet.init_args(bench));

    // Past AWS's default of 100 OIDC providers an IRSA join is refused at plan time.
    let past_default_quota = bench.clusters > 100;
    let refused = (mode == Mode::Irsa && past_default_quota).then(|| {
        fleet.fresh_aws_proxy(Faults::none());
        let args = fleet.join_args(&bench.helm_wait, Some(concurrency));
        let run = bench.run(moto, bench.kcfed(&fleet.world, &args));
        // A conflict in the plan: exit 1, nothing changed.
        run.expect_code(&[1, 2], &args);
        let calls = fleet
            .world
            .aws_proxy
            .as_ref()
            .map(Proxy::log)
            .unwrap_or_default();
        let reason =
            conflict_reason(&run.json()).unwrap_or_else(|| tail(&run.stderr, 300).to_owned());
        let refusal = Refusal {
            code: run.code,
            wall: run.wall,
            aws_calls: calls.len(),
            mutating: calls.iter().filter(|c| c.is_mutating()).count(),
            reason,
            iam: IamCensus::of(&fleet.world.account),
        };
        eprintln!(
            "scale: {label}: at moto's quotas: exit {} in {:.2?}, {} AWS calls ({} writes): {}",
            refusal.code, refusal.wall, refusal.aws_calls, refusal.mutating, refusal.reason
        );
        fleet.front.raise(true);
        refusal
    });

    fleet.fresh_aws_proxy(Faults::none());
    let writes_before = fleet.kube_writes();
    let args = fleet.join_args(&bench.helm_wait, Some(concurrency));
    eprintln!("scale: {label}: joining {} agents", bench.clusters - 1);
    let run = bench.run_ok(moto, &fleet.world, &args);
    let calls = fleet
        .world
        .aws_proxy
        .as_ref()
        .map(Proxy::log)
        .unwrap_or_default();
    let row = JoinRow {
        mode,
        clusters: bench.clusters,
        agents: bench.clusters - 1,
        concurrency,
        aws_calls: calls.len(),
        calls,
        kube_writes: fleet.kube_writes() - writes_before,
        associations: fleet.associations(),
        iam: IamCensus::of(&fleet.world.account),
        refused,
        run,
    };
    eprintln!(
        "scale: {label}: {:.2?} (ideal {:.2?}, {:.2}x), {:.1} MiB, {} AWS calls, {} k8s writes, \
         moto CPU {:.1} s, kcfed CPU {:.1} s, bench CPU {:.1} s; {}, {} associations",
        row.run.wall,
        row.ideal(),
        row.ratio(),
        row.run.peak_rss_kib as f64 / 1024.0,
        row.aws_calls,
        row.kube_writes,
        row.run.moto_cpu,
        row.run.kcfed_cpu,
        row.run.bench_cpu,
        row.iam.text(),
        row.associations,
    );
    let status = if with_status {
        measure_status(bench, moto, &mut fleet)
    } else {
        Vec::new()
    };
    let started = Instant::now();
    drop(fleet);
    eprintln!("scale: {label}: torn down in {:.1?}", started.elapsed());
    (Some(row), status)
}

/// The first conflict's reason in a JSON report.
fn conflict_reason(report: &Value) -> Option<String> {
    let steps = report["plan"]["steps"].as_array()?;
    let step = steps.iter().find(|step| step["action"] == "conflict")?;
    let details = step["details"].as_array()?;
    details
        .iter()
        .filter_map(Value::as_str)
        .find(|detail| detail.contains("quota"))
        .or_else(|| details.first().and_then(Value::as_str))
        .map(str::to_owned)
}

/// `status` of the fleet with every cluster reporting to AMP's data plane, through proxies in
/// front of moto and every fake API server, at each latency.
fn measure_status(bench: &Bench, moto: &Moto, fleet: &mut Fleet) -> Vec<StatusRow> {
    let started = Instant::now();
    let plane = AmpDataPlane::start(REGION);
    let account = fleet.world.account.clone();
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
    for cluster in &fleet.world.clusters {
        let labels = [("cluster_id", cluster.name.as_str())];
        let status = plane.remote_write(
            &workspace,
            (&account.access_key_id, &account.secret_access_key),
            REGION,
            "node_total_hourly_cost",
            &labels,
            SystemTime::now(),
        );
        assert_eq!(status, 204, "remote write of {}", cluster.name);
    }
    for cluster in &mut fleet.world.clusters {
        cluster.proxy = Some(Proxy::start(&cluster.kube.url(), Faults::none()));
    }
    fleet.world.write_kubeconfig();
    let proxy = Proxy::rewriting(&account.endpoint_url, plane.workspace_endpoints());
    proxy.serve_eks_extensions(Arc::clone(&fleet.extensions));
    fleet.world.aws_proxy = Some(proxy);
    eprintln!(
        "scale: status: {} clusters reporting, proxies in place in {:.1?}",
        fleet.world.clusters.len(),
        started.elapsed()
    );
    let args = strings(&[
        "status",
        "--helm",
        &bench.helm_instant.display().to_string(),
        "--output",
        "json",
    ]);
    let mut rows = Vec::new();
    for latency in LATENCIES {
        fleet.world.set_faults(&Faults {
            latency,
            ..Faults::none()
        });
        let aws_before = fleet.world.aws_proxy.as_ref().map_or(0, Proxy::requests);
        let kube_before = kube_requests(&fleet.world);
        let run = bench.run(moto, bench.kcfed(&fleet.world, &args));
        // 1: some cluster does not report (none expected here, but the count is what matters).
        run.expect_code(&[0, 1], &args);
        let calls: Vec<Exchange> = fleet
            .world
            .aws_proxy
            .as_ref()
            .map(Proxy::log)
            .unwrap_or_default()
            .split_off(aws_before);
        let report = run.json();
        let row = StatusRow {
            mode: fleet.mode,
            clusters: fleet.world.clusters.len(),
            latency,
            aws_calls: calls.len(),
            calls,
            kube_calls: kube_requests(&fleet.world) - kube_before,
            listed: report["clusters"].as_array().map_or(0, Vec::len),
            reporting: report["reporting"] == true,
            run,
        };
        eprintln!(
            "scale: status of {} clusters ({}) at {} ms: {:.2?}, {} AWS calls, {} k8s calls, \
             {} clusters listed, reporting {}, {:.1} MiB, exit {}",
            row.clusters,
            row.mode.flag(),
            latency.as_millis(),
            row.run.wall,
            row.aws_calls,
            row.kube_calls,
            row.listed,
            row.reporting,
            row.run.peak_rss_kib as f64 / 1024.0,
            row.run.code,
        );
        rows.push(row);
    }
    rows
}

fn kube_requests(world: &World) -> usize {
    world
        .clusters
        .iter()
        .filter_map(|c| c.proxy.as_ref())
        .map(Proxy::requests)
        .sum()
}

/// Joins of 50 clusters in the fleet's account and of 50 over 5 accounts, alternating which goes
/// first, each in a fresh world, at `latency` on every AWS and Kubernetes call.
fn measure_spread(bench: &Bench, moto: &Moto, mode: Mode, latency: Duration) -> SpreadRow {
    let label = spread_label(mode, latency);
    let mut pairs = Vec::new();
    let mut calls = (0, 0);
    let mut iam_fleet = IamCensus::default();
    let mut iam_others = Vec::new();
    let mut iam_single = IamCensus::default();
    for pair in 0..bench.pairs {
        let order = if pair % 2 == 0 {
            [1, SPREAD_ACCOUNTS]
        } else {
            [SPREAD_ACCOUNTS, 1]
        };
        let mut runs: BTreeMap<usize, Run> = BTreeMap::new();
        for accounts in order {
            let mut fleet = Fleet::new(moto, mode, SPREAD_CLUSTERS, accounts);
            bench.run_ok(moto, &fleet.world, &fleet.init_args(bench));
            fleet.world.proxy_all(&Faults {
                latency,
                ..Faults::none()
            });
            let args = fleet.join_args(&bench.helm_instant, None);
            let run = bench.run_ok(moto, &fleet.world, &args);
            let aws_calls = fleet.world.aws_proxy.as_ref().map_or(0, Proxy::requests);
            eprintln!(
                "scale: {label}, pair {}/{}: {SPREAD_CLUSTERS} clusters over {accounts} \
                 account(s): {:.2?}, {aws_calls} AWS calls, {:.1} MiB",
                pair + 1,
                bench.pairs,
                run.wall,
                run.peak_rss_kib as f64 / 1024.0
            );
            if accounts == 1 {
                calls.0 = aws_calls;
                iam_single = IamCensus::of(&fleet.world.account);
            } else {
                calls.1 = aws_calls;
                iam_fleet = IamCensus::of(&fleet.world.account);
                iam_others = fleet.others.iter().map(IamCensus::of).collect();
            }
            runs.insert(accounts, run);
        }
        let five = runs.remove(&SPREAD_ACCOUNTS).expect("the five-account run");
        let one = runs.remove(&1).expect("the one-account run");
        pairs.push((one, five));
    }
    SpreadRow {
        mode,
        latency,
        pairs,
        calls,
        iam_fleet,
        iam_others,
        iam_single,
    }
}

/// moto's own time per call, sequential, straight from this process (no proxy).
struct MotoProbe {
    /// (operation, median, min, max) of [`MOTO_PROBE_CALLS`] calls each.
    operations: Vec<(&'static str, Duration, Duration, Duration)>,
    calls: usize,
    wall: Duration,
    moto_cpu: f64,
}

fn probe_moto(bench: &Bench, moto: &Moto) -> MotoProbe {
    let account = moto.new_account();
    warm_up_iam(&account);
    let cpu_before = moto_cpu(moto, bench.clock_ticks);
    let started = Instant::now();
    let operations = block_on(async {
        let config = account.sdk_config(REGION).await;
        let eks = aws_sdk_eks::Client::new(&config);
        let iam = aws_sdk_iam::Client::new(&config);
        let s3 = aws_sdk_s3::Client::new(&config);
        let sts = aws_sdk_sts::Client::new(&config);
        eks.create_cluster()
            .name("probe")
            .role_arn(format!("arn:aws:iam::{}:role/eks", account.account_id))
            .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
            .send()
            .await
            .expect("CreateCluster on moto");
        iam.create_role()
            .role_name("probe")
            .path("/kcfed/probe/")
            .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
            .send()
            .await
            .expect("CreateRole on moto");
        let bucket = format!("scale-probe-{}", account.account_id);
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("CreateBucket on moto");
        let mut operations = Vec::new();
        macro_rules! time_calls {
            ($name:expr, $call:expr) => {{
                let mut times = Vec::with_capacity(MOTO_PROBE_CALLS);
                for _ in 0..MOTO_PROBE_CALLS {
                    let started = Instant::now();
                    $call.send().await.expect($name);
                    times.push(started.elapsed());
                }
                times.sort();
                operations.push((
                    $name,
                    times[times.len() / 2],
                    times[0],
                    times[times.len() - 1],
                ));
            }};
        }
        time_calls!("sts:GetCallerIdentity", sts.get_caller_identity());
        time_calls!("eks:DescribeCluster", eks.describe_cluster().name("probe"));
        time_calls!("iam:GetRole", iam.get_role().role_name("probe"));
        time_calls!(
            "iam:ListRoles /kcfed/",
            iam.list_roles().path_prefix("/kcfed/")
        );
        time_calls!(
            "s3:PutObject",
            s3.put_object()
                .bucket(&bucket)
                .key("kcfed/probe")
                .body(Vec::new().into())
        );
        time_calls!(
            "s3:ListObjectsV2",
            s3.list_objects_v2().bucket(&bucket).prefix("kcfed/")
        );
        operations
    });
    let wall = started.elapsed();
    let probe = MotoProbe {
        calls: operations.len() * MOTO_PROBE_CALLS,
        operations,
        wall,
        moto_cpu: moto_cpu(moto, bench.clock_ticks) - cpu_before,
    };
    eprintln!(
        "scale: moto alone: {} sequential calls in {:.2?} ({:.0} calls/s), moto CPU {:.2} s",
        probe.calls,
        probe.wall,
        probe.calls as f64 / probe.wall.as_secs_f64(),
        probe.moto_cpu
    );
    probe
}

/// Between the bench's proxy and moto: passes every call on, and once raised answers the quotas
/// kcfed reads for an IRSA plan as a raised account would: Service Quotas' value for IAM's OIDC
/// providers (L-858F3967), and `GetAccountSummary` with [`RAISED_ROLES_QUOTA`] roles.
struct QuotaFront {
    addr: std::net::SocketAddr,
    shared: Arc<FrontState>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

struct FrontState {
    /// `host:port` of moto.
    upstream: String,
    raised: AtomicBool,
    providers_quota: u32,
}

impl QuotaFront {
    fn start(upstream_url: &str, providers_quota: u32) -> QuotaFront {
        let upstream = upstream_url
            .strip_prefix("http://")
            .expect("moto speaks plain http")
            .trim_end_matches('/')
            .to_owned();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking for tokio");
        let addr = listener.local_addr().expect("listener address");
        let shared = Arc::new(FrontState {
            upstream,
            raised: AtomicBool::new(false),
            providers_quota,
        });
        let (shutdown, stopped) = oneshot::channel();
        let server_shared = Arc::clone(&shared);
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("quota front runtime")
                .block_on(support::http::serve(
                    listener,
                    server_shared,
                    front,
                    stopped,
                ));
        });
        QuotaFront {
            addr,
            shared,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn raise(&self, raised: bool) {
        self.shared.raised.store(raised, Ordering::Relaxed);
    }
}

impl Drop for QuotaFront {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

async fn front(
    state: Arc<FrontState>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => return Ok(bad_gateway(format!("read the request: {err}"))),
    };
    let raised = state.raised.load(Ordering::Relaxed);
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if raised && target.ends_with(".GetServiceQuota") {
        let asked: Value = serde_json::from_slice(&body).unwrap_or_default();
        if asked["ServiceCode"] == "iam" && asked["QuotaCode"] == "L-858F3967" {
            let answer = json!({"Quota": {
                "ServiceCode": "iam",
                "QuotaCode": "L-858F3967",
                "QuotaName": "OpenId connect providers per account",
                "Value": f64::from(state.providers_quota),
                "Unit": "None",
                "Adjustable": true,
                "GlobalQuota": true,
            }});
            return Ok(Response::builder()
                .status(StatusCode::OK)
                .header(CONTENT_TYPE, "application/x-amz-json-1.1")
                .header("x-amzn-requestid", "00000000-0000-0000-0000-5ca1e0000000")
                .body(Full::new(Bytes::from(answer.to_string())))
                .expect("a valid response"));
        }
    }
    let summary = raised
        && query_action(&String::from_utf8_lossy(&body)).as_deref() == Some("GetAccountSummary");
    let answer = match forward(&state.upstream, parts, body).await {
        Ok(answer) => answer,
        Err(message) => return Ok(bad_gateway(message)),
    };
    if !summary {
        return Ok(answer);
    }
    let (mut parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let text = raised_roles_quota(&String::from_utf8_lossy(&body));
    parts.headers.remove(CONTENT_LENGTH);
    Ok(Response::from_parts(parts, Full::new(Bytes::from(text))))
}

/// `GetAccountSummary`'s XML with `RolesQuota` set to [`RAISED_ROLES_QUOTA`].
fn raised_roles_quota(xml: &str) -> String {
    let Some(key) = xml.find("RolesQuota</key>") else {
        return xml.to_owned();
    };
    let Some(open) = xml[key..]
        .find("<value>")
        .map(|at| key + at + "<value>".len())
    else {
        return xml.to_owned();
    };
    let Some(close) = xml[open..].find("</value>").map(|at| open + at) else {
        return xml.to_owned();
    };
    format!("{}{RAISED_ROLES_QUOTA}{}", &xml[..open], &xml[close..])
}

fn bad_gateway(message: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::BAD_GATEWAY)
        .body(Full::new(Bytes::from(message)))
        .expect("a valid response")
}

/// Sends the request to moto on a connection of its own and reads the whole answer.
async fn forward(
    upstream: &str,
    parts: hyper::http::request::Parts,
    body: Bytes,
) -> Result<Response<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(upstream)
        .await
        .map_err(|err| format!("connect to {upstream}: {err}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| format!("handshake with {upstream}: {err}"))?;
    tokio::spawn(connection);
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut request = Request::builder()
        .method(parts.method)
        .uri(path)
        .body(Full::new(body))
        .map_err(|err| format!("rebuild the request: {err}"))?;
    *request.headers_mut() = parts.headers;
    request.headers_mut().remove(TRANSFER_ENCODING);
    request.headers_mut().remove(CONNECTION);
    let response = sender
        .send_request(request)
        .await
        .map_err(|err| format!("{upstream} did not answer: {err}"))?;
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|err| format!("read the answer of {upstream}: {err}"))?
        .to_bytes();
    parts.headers.remove(TRANSFER_ENCODING);
    parts.headers.remove(CONNECTION);
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// `iam:GetRole ×2, s3:PUT ?policy ×1, …`, most frequent first.
fn by_operation(calls: &[Exchange]) -> String {
    operation_counts(calls)
        .iter()
        .map(|(operation, count)| format!("{operation} ×{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn operation_counts(calls: &[Exchange]) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for call in calls {
        *counts.entry(operation(call)).or_default() += 1;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
}

/// The IAM/STS action or EKS extension operation, or for REST services the method and the shape
/// of the path: S3 by its sub-resource (`?list-type`), AMP and EKS by their first path segment.
fn operation(call: &Exchange) -> String {
    let service = call.service.as_deref().unwrap_or("kube");
    if let Some(action) = &call.action {
        return format!("{service}:{action}");
    }
    let (path, query) = call.path.split_once('?').unwrap_or((&call.path, ""));
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let shape = if service == "s3" {
        let keys: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("x-id="))
            .map(|pair| pair.split('=').next().unwrap_or_default())
            .collect();
        match (keys.is_empty(), segments.len()) {
            (true, 0 | 1) => "bucket".to_owned(),
            (true, _) => "object".to_owned(),
            (false, _) => format!("?{}", keys.join("&")),
        }
    } else {
        let more = if segments.len() > 1 { "/…" } else { "" };
        format!("/{}{more}", segments.first().unwrap_or(&""))
    };
    format!("{service}:{} {shape}", call.method)
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

fn median_f64(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
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

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn verdict(holds: bool) -> &'static str {
    if holds { "holds" } else { "does not hold" }
}

fn print_report(bench: &Bench, report: &Report) {
    if !report.joins.is_empty() {
        print_joins(report);
    }
    if !report.status.is_empty() {
        print_status(&report.status);
    }
    if !report.spread.is_empty() {
        print_spread(&report.spread);
    }
    if let Some(probe) = &report.moto {
        print_moto(probe, &report.joins);
    }
    print_machine(bench);
}

fn print_joins(report: &Report) {
    println!(
        "### Join of a whole fleet's agents in one run (helm stand-in: {} per install)\n",
        format_duration(HELM_TIME)
    );
    println!(
        "| mode | clusters | agents joined | --concurrency | wall | ideal ⌈agents / concurrency⌉ × helm | wall / ideal | peak RSS | AWS calls | k8s writes | kcfed CPU | moto CPU (busy share of wall) | bench CPU | fleet account IAM after (/kcfed/ roles, OIDC providers, /kcfed/ policies) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in &report.joins {
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.2}× | {} | {} | {} | {:.1} s | {:.1} s ({:.0}%) | {:.1} s | {} / {} / {} |",
            row.mode.flag(),
            row.clusters,
            row.agents,
            row.concurrency,
            format_duration(row.run.wall),
            format_duration(row.ideal()),
            row.ratio(),
            mib(row.run.peak_rss_kib),
            row.aws_calls,
            row.kube_writes,
            row.run.kcfed_cpu,
            row.run.moto_cpu,
            100.0 * row.run.moto_cpu / row.run.wall.as_secs_f64(),
            row.run.bench_cpu,
            row.iam.roles,
            row.iam.providers,
            row.iam.policies,
        );
    }
    println!(
        "\nEach row one run in a fresh moto account: a fleet made by `init primary` (untimed), then \
         one `join cluster` of every agent, timed. AWS calls as the proxy in front of moto saw \
         them (no added latency), k8s writes as the fake API servers saw them; CPU: kcfed's user + \
         system (GNU time), moto_server's and this benchmark process's (proxy, fake API servers, \
         quota front) over the same wall time, from /proc; 2 cores in all.\n"
    );
    for row in &report.joins {
        println!(
            "- {} at {}: {:.2} AWS calls per agent; {} associations held by the bench's EKS; calls: {}",
            row.mode.flag(),
            row.concurrency,
            row.aws_calls as f64 / row.agents as f64,
            row.associations,
            by_operation(&row.calls)
        );
        if let Some(refused) = &row.refused {
            println!(
                "- irsa at {}, first at the quotas moto reports (1,000 roles; no Service Quotas value, so \
                 AWS's default of 100 OIDC providers): exit {} after {}, {} AWS calls of which {} \
                 writes; IAM after: {}. kcfed's reason: \"{}\"",
                row.concurrency,
                refused.code,
                format_duration(refused.wall),
                refused.aws_calls,
                refused.mutating,
                refused.iam.text(),
                refused.reason
            );
        }
    }
    println!("\nTargets (issue 22):\n");
    for row in &report.joins {
        println!(
            "- {} join of {} agents at --concurrency {} within 1.1× of ⌈N / c⌉ × helm ({}): {:.2}× ({})",
            row.mode.flag(),
            row.agents,
            row.concurrency,
            format_duration(row.ideal()),
            row.ratio(),
            verdict(row.ratio() <= 1.1)
        );
        if row.concurrency == 64 {
            println!(
                "- {} peak memory at --concurrency 64 under 200 MiB: {} ({})",
                row.mode.flag(),
                mib(row.run.peak_rss_kib),
                verdict(row.run.peak_rss_kib < 200 * 1024)
            );
        }
    }
    println!();
}

fn print_status(rows: &[StatusRow]) {
    println!("### `status` of the fleet, every cluster reporting\n");
    println!(
        "| mode | clusters | added latency | wall | AWS calls | AWS calls per cluster | k8s calls | clusters listed | every cluster reporting | peak RSS | exit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} ms | {} | {} | {:.2} | {} | {} | {} | {} | {} |",
            row.mode.flag(),
            row.clusters,
            row.latency.as_millis(),
            format_duration(row.run.wall),
            row.aws_calls,
            row.aws_calls as f64 / row.clusters as f64,
            row.kube_calls,
            row.listed,
            row.reporting,
            mib(row.run.peak_rss_kib),
            row.run.code,
        );
    }
    println!(
        "\nOne run each, `status --output json` at its default --concurrency (8), through the \
         proxies (one in front of moto, one in front of each fake API server) with the latency \
         added to every call.\n"
    );
    for row in rows.iter().filter(|row| row.latency.is_zero()) {
        let counts = operation_counts(&row.calls);
        // Operations called at least once per cluster grow with the fleet.
        let per_cluster: usize = counts
            .iter()
            .filter(|(_, count)| *count >= row.clusters)
            .map(|(_, count)| count)
            .sum();
        let fixed = row.aws_calls - per_cluster;
        println!(
            "- {} ({} clusters): {}. Operations called once or more per cluster: {} calls \
             ({:.2} per cluster); the rest: {fixed} calls. Target, no AWS call per cluster beyond \
             the one bucket read each needs: {}",
            row.mode.flag(),
            row.clusters,
            by_operation(&row.calls),
            per_cluster,
            per_cluster as f64 / row.clusters as f64,
            // One bucket read per cluster is allowed; a second operation per cluster would make
            // at least twice as many (the fleet's record is one more list of the same bucket).
            verdict(per_cluster < 2 * row.clusters)
        );
    }
    println!();
}

fn print_spread(rows: &[SpreadRow]) {
    println!(
        "### Join of {SPREAD_CLUSTERS} clusters over {SPREAD_ACCOUNTS} accounts next to {SPREAD_CLUSTERS} in one account\n"
    );
    println!(
        "| mode | added latency | 1 account: median (runs) | {SPREAD_ACCOUNTS} accounts: median (runs) | ratio per pair | median ratio | AWS calls 1 / {SPREAD_ACCOUNTS} | peak RSS 1 / {SPREAD_ACCOUNTS} | within 1.2× |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let ones: Vec<Duration> = row.pairs.iter().map(|(one, _)| one.wall).collect();
        let fives: Vec<Duration> = row.pairs.iter().map(|(_, five)| five.wall).collect();
        let ratios: Vec<f64> = row
            .pairs
            .iter()
            .map(|(one, five)| five.wall.as_secs_f64() / one.wall.as_secs_f64())
            .collect();
        let list = |walls: &[Duration]| {
            walls
                .iter()
                .map(|w| format_duration(*w))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let peak = |pick: fn(&(Run, Run)) -> u64| row.pairs.iter().map(pick).max().unwrap_or(0);
        let ratio = median_f64(&ratios);
        println!(
            "| {} | {} ms | {} ({}) | {} ({}) | {} | {:.2}× | {} / {} | {} / {} | {} |",
            row.mode.flag(),
            row.latency.as_millis(),
            format_duration(median(&ones)),
            list(&ones),
            format_duration(median(&fives)),
            list(&fives),
            ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            ratio,
            row.calls.0,
            row.calls.1,
            mib(peak(|pair| pair.0.peak_rss_kib)),
            mib(peak(|pair| pair.1.peak_rss_kib)),
            verdict(ratio <= 1.2),
        );
    }
    println!(
        "\nThe primary `prod` and {SPREAD_CLUSTERS} agents: all in the fleet's account, or {} in \
         each of {SPREAD_ACCOUNTS} accounts (the fleet's and {} more, reached with \
         `--account-role {ACCOUNT_ROLE}`); one `join cluster` of the {SPREAD_CLUSTERS} at the \
         default --concurrency, helm answering at once, each run in fresh accounts; the two \
         alternate which goes first.\n",
        SPREAD_CLUSTERS / SPREAD_ACCOUNTS,
        SPREAD_ACCOUNTS - 1
    );
    for row in rows.iter().filter(|row| row.latency.is_zero()) {
        println!(
            "- {} IAM after: one account: {}; {SPREAD_ACCOUNTS} accounts: fleet account {}, others {}",
            row.mode.flag(),
            row.iam_single.text(),
            row.iam_fleet.text(),
            row.iam_others
                .iter()
                .map(|census| format!("{}/{}/{}", census.roles, census.providers, census.policies))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!();
}

fn print_moto(probe: &MotoProbe, joins: &[JoinRow]) {
    println!("### moto alone\n");
    println!(
        "{} sequential calls of each operation from this process, no proxy: {} calls in {} \
         ({:.0} calls/s), moto_server CPU {:.2} s ({:.1} ms per call).\n",
        MOTO_PROBE_CALLS,
        probe.calls,
        format_duration(probe.wall),
        probe.calls as f64 / probe.wall.as_secs_f64(),
        probe.moto_cpu,
        1000.0 * probe.moto_cpu / probe.calls as f64
    );
    println!("| operation | median | min | max |");
    println!("|---|---|---|---|");
    for (name, median, min, max) in &probe.operations {
        println!(
            "| {name} | {} | {} | {} |",
            format_duration(*median),
            format_duration(*min),
            format_duration(*max)
        );
    }
    println!();
    for row in joins {
        println!(
            "- {} at {}: moto CPU {:.1} s for {} calls ({:.1} ms per call) in {} wall: {:.0}% of \
             one core",
            row.mode.flag(),
            row.concurrency,
            row.run.moto_cpu,
            row.aws_calls,
            1000.0 * row.run.moto_cpu / row.aws_calls as f64,
            format_duration(row.run.wall),
            100.0 * row.run.moto_cpu / row.run.wall.as_secs_f64()
        );
    }
    println!();
}

fn print_machine(bench: &Bench) {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    println!("### Machine\n");
    println!(
        "- {cpus} CPUs ({model}), load average at the end {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("- kcfed: {}", bench.kcfed.display());
    if let Some(revision) = &bench.revision {
        println!("- kcfed built from {revision}");
    }
    let _ = bench.scratch.path();
}
