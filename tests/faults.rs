//! Faults on the wire: the fault proxy's faults reach the real AWS SDK and kube-rs as the errors
//! their servers would send; and `init primary`, `join cluster` and `cleanup --all`, run through it
//! under many seeds, either succeed or stop with a clear error, and a fault-free rerun then ends in
//! the same state as a run that met no fault.

mod common;
mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::retry::ErrorKind;
use common::{
    CLEANUP_ALL, INIT_PRIMARY, Inventory, JOIN_TWO_AGENTS, RUN_LIMIT, Scenario, World, block_on,
    inventory, kcfed_ok, output_within, stderr,
};
use k8s_openapi::api::core::v1::Namespace;
use support::fake_kube::FakeKube;
use support::moto::{AwsAccount, Moto};
use support::proxy::{Fault, Faults, Proxy};

const REGION: &str = "us-east-2";

/// Every request meets `fault`.
fn always(fault: Fault) -> Faults {
    Faults {
        rate: 1.0,
        kinds: vec![fault],
        ..Faults::none()
    }
}

/// The account's SDK configuration, through the proxy, with `retry`.
fn through(proxy: &Proxy, account: &AwsAccount, retry: RetryConfig) -> SdkConfig {
    block_on(account.sdk_config(REGION))
        .to_builder()
        .endpoint_url(proxy.url())
        .retry_config(retry)
        .build()
}

/// The HTTP status and error code of a failed call.
fn failure<T, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (u16, String) {
    let Err(err) = result else {
        panic!("the call succeeded through a proxy failing every request");
    };
    let status = err
        .raw_response()
        .unwrap_or_else(|| panic!("an answer, not {err:?}"))
        .status()
        .as_u16();
    (status, err.code().unwrap_or_default().to_owned())
}

/// One read-only call to each service kcfed uses, as (signing name, status, error code).
fn call_each_service(config: &SdkConfig) -> Vec<(&'static str, u16, String)> {
    block_on(async {
        let iam = aws_sdk_iam::Client::new(config).list_roles().send().await;
        let sts = aws_sdk_sts::Client::new(config)
            .get_caller_identity()
            .send()
            .await;
        let s3 = aws_sdk_s3::Client::new(config).list_buckets().send().await;
        let amp = aws_sdk_amp::Client::new(config)
            .list_workspaces()
            .send()
            .await;
        let eks = aws_sdk_eks::Client::new(config)
            .list_clusters()
            .send()
            .await;
        let outcomes = [
            ("iam", failure(iam)),
            ("sts", failure(sts)),
            ("s3", failure(s3)),
            ("aps", failure(amp)),
            ("eks", failure(eks)),
        ];
        outcomes
            .into_iter()
            .map(|(service, (status, code))| (service, status, code))
            .collect()
    })
}

fn expected(rows: [(&'static str, u16, &str); 5]) -> Vec<(&'static str, u16, String)> {
    rows.into_iter()
        .map(|(service, status, code)| (service, status, code.to_owned()))
        .collect()
}

#[test]
fn fault_decisions_are_a_pure_function_of_seed_and_index() {
    let faults = Faults::random(7, 0.2);
    let decisions: Vec<_> = (0..10_000).map(|index| faults.fault_for(index)).collect();
    let again: Vec<_> = (0..10_000)
        .map(|index| Faults::random(7, 0.2).fault_for(index))
        .collect();
    assert_eq!(decisions, again);
    let other_seed: Vec<_> = (0..10_000)
        .map(|index| Faults::random(8, 0.2).fault_for(index))
        .collect();
    assert_ne!(decisions, other_seed);

    let faulted = decisions.iter().flatten().count();
    assert!((1_800..2_200).contains(&faulted), "{faulted} faults");
    let kinds: HashSet<_> = decisions.iter().flatten().collect();
    assert_eq!(kinds.len(), Fault::ALL.len(), "{kinds:?}");
    assert!((0..1_000).all(|index| Faults::none().fault_for(index).is_none()));
}

#[test]
fn each_fault_reaches_the_aws_sdk_as_its_protocols_error() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let proxy = Proxy::start(moto.endpoint_url(), always(Fault::Throttle));
    let config = through(&proxy, &account, RetryConfig::disabled());

    assert_eq!(
        call_each_service(&config),
        expected([
            ("iam", 400, "Throttling"),
            ("sts", 400, "Throttling"),
            ("s3", 503, "SlowDown"),
            ("aps", 429, "ThrottlingException"),
            ("eks", 429, "ThrottlingException"),
        ])
    );

    proxy.set_faults(always(Fault::InternalError));
    assert_eq!(
        call_each_service(&config),
        expected([
            ("iam", 500, "InternalFailure"),
            ("sts", 500, "InternalFailure"),
            ("s3", 500, "InternalError"),
            ("aps", 500, "InternalFailure"),
            ("eks", 500, "InternalFailure"),
        ])
    );

    proxy.set_faults(always(Fault::Unavailable));
    assert_eq!(
        call_each_service(&config),
        expected([
            ("iam", 503, "ServiceUnavailable"),
            ("sts", 503, "ServiceUnavailable"),
            ("s3", 503, "ServiceUnavailable"),
            ("aps", 503, "ServiceUnavailableException"),
            ("eks", 503, "ServiceUnavailableException"),
        ])
    );

    let log = proxy.log();
    assert_eq!(proxy.requests(), 15);
    assert_eq!(proxy.injected(), 15);
    let services: Vec<_> = log.iter().take(5).map(|e| e.service.as_deref()).collect();
    assert_eq!(
        services,
        [
            Some("iam"),
            Some("sts"),
            Some("s3"),
            Some("aps"),
            Some("eks")
        ]
    );
    assert_eq!(log[0].action.as_deref(), Some("ListRoles"));
    assert_eq!(log[2].status, Some(503));
}

/// Neither fault gives an answer; only after a lost reply has moto made the change.
#[test]
fn a_reset_never_reaches_the_upstream_and_a_lost_reply_does() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let proxy = Proxy::start(moto.endpoint_url(), always(Fault::Reset));
    let config = through(&proxy, &account, RetryConfig::disabled());
    let iam = aws_sdk_iam::Client::new(&config);
    let create = |name: &str| {
        let trust = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let result = block_on(
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .send(),
        );
        let err = result.expect_err("no answer through the proxy");
        let connector = match &err {
            SdkError::DispatchFailure(failure) => failure.as_connector_error(),
            _ => None,
        };
        let connector = connector.unwrap_or_else(|| panic!("a connection failure, not {err:?}"));
        assert!(
            connector.is_io() || connector.as_other() == Some(ErrorKind::TransientError),
            "{connector:?}"
        );
    };
    create("after-reset");
    proxy.set_faults(always(Fault::LostReply));
    create("after-lost-reply");

    let direct = block_on(account.sdk_config(REGION));
    let roles = block_on(aws_sdk_iam::Client::new(&direct).list_roles().send()).unwrap();
    let names: Vec<_> = roles.roles().iter().map(|r| r.role_name()).collect();
    assert_eq!(names, ["after-lost-reply"]);
    assert!(proxy.log().iter().all(|e| e.status.is_none()));
}

#[test]
fn the_sdk_retries_every_fault_kind_through_to_success() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let proxy = Proxy::start(moto.endpoint_url(), Faults::random(3, 0.3));
    let retry = RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(1));
    let config = through(&proxy, &account, retry);
    let iam = aws_sdk_iam::Client::new(&config);
    for _ in 0..30 {
        block_on(iam.list_roles().send()).expect("retries get through");
    }
    let log = proxy.log();
    let seen: HashSet<_> = log.iter().filter_map(|e| e.fault).collect();
    assert_eq!(seen.len(), Fault::ALL.len(), "{log:#?}");
    assert_eq!(log.len(), 30 + proxy.injected());
}

#[test]
fn latency_is_added_to_every_request() {
    let moto = Moto::shared();
    let account = moto.new_account();
    let latency = Duration::from_millis(300);
    let faults = Faults {
        latency,
        ..Faults::none()
    };
    let proxy = Proxy::start(moto.endpoint_url(), faults);
    let config = through(&proxy, &account, RetryConfig::disabled());
    let started = Instant::now();
    block_on(
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send(),
    )
    .unwrap();
    block_on(
        aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send(),
    )
    .unwrap();
    assert!(started.elapsed() >= 2 * latency);
    assert_eq!(proxy.injected(), 0);
    assert!(proxy.log().iter().all(|e| e.status == Some(200)));
}

#[test]
fn kubernetes_faults_reach_kube_rs_as_status_errors() {
    let fake = FakeKube::start();
    let proxy = Proxy::start(&fake.url(), Faults::none());
    let mut config = kube::Config::new(proxy.url().parse().unwrap());
    config.default_retry = false;
    // The client's background worker lives on the runtime that builds it: one runtime for all.
    block_on(async {
        let client = kube::Client::try_from(config).unwrap();
        let namespaces = kube::Api::<Namespace>::all(client);
        for (faults, code, reason) in [
            (always(Fault::Throttle), 429, "TooManyRequests"),
            (always(Fault::InternalError), 500, "InternalError"),
            (always(Fault::Unavailable), 503, "ServiceUnavailable"),
        ] {
            proxy.set_faults(faults);
            match namespaces.get_opt("kubecost").await {
                Err(kube::Error::Api(status)) => {
                    assert_eq!((status.code, status.reason.as_str()), (code, reason));
                }
                other => panic!("a Status error, not {other:?}"),
            }
        }
        proxy.set_faults(always(Fault::Reset));
        let reset = namespaces.get_opt("kubecost").await;
        assert!(
            matches!(
                reset,
                Err(kube::Error::HyperError(_) | kube::Error::Service(_))
            ),
            "{reset:?}"
        );
        proxy.set_faults(Faults::none());
        assert_eq!(namespaces.get_opt("kubecost").await.unwrap(), None);
    });
    assert_eq!(
        fake.requests().len(),
        1,
        "faulted requests never reach the fake"
    );
    assert_eq!(proxy.log()[0].service, None);
}

/// Seeds per command, and the share of requests (AWS and Kubernetes alike) that meet a fault.
const SEEDS: u64 = 6;
const RATE: f64 = 0.1;
const SCENARIOS: [&Scenario; 3] = [&INIT_PRIMARY, &JOIN_TWO_AGENTS, &CLEANUP_ALL];

/// How one run through faulty proxies went.
struct FaultyRun {
    /// The first line of the error it stopped with, if it did.
    error: Option<String>,
    requests: usize,
    injected: usize,
}

/// AWS's retry settings are the user's, as in the aws CLI: `AWS_MAX_ATTEMPTS`, or the profile's
/// `max_attempts`, bounds the attempts of a call that keeps failing (kcfed's own bound, 6, applies
/// only when the user set none).
#[test]
fn the_users_retry_settings_bound_the_attempts_of_a_failing_call() {
    let mut world = World::new(Moto::shared(), REGION, &["prod"]);
    world.proxy_all(&always(Fault::Unavailable));
    let config = world.dir.path().join("aws-config");
    std::fs::write(&config, "[profile slow]\nmax_attempts = 2\n").expect("write the AWS config");
    // Calls made at once are cut short when one fails for good, so the most attempts any one
    // call got is what the settings allow.
    let attempts = |env: &[(&str, &std::ffi::OsStr)]| {
        let before: Vec<usize> = world.proxies().map(|proxy| proxy.log().len()).collect();
        let mut command = world.command(&["status", "--helm", &world.helm_path()]);
        command.envs(env.iter().copied());
        let output = output_within(command, RUN_LIMIT);
        let stderr = stderr(&output);
        assert!(
            !output.status.success() && stderr.contains("ServiceUnavailable"),
            "every call fails: {stderr}"
        );
        let mut per_call = std::collections::HashMap::new();
        for (proxy, before) in world.proxies().zip(before) {
            for exchange in &proxy.log()[before..] {
                let call = (
                    exchange.service.clone(),
                    exchange.action.clone(),
                    exchange.path.clone(),
                );
                *per_call.entry(call).or_insert(0) += 1;
            }
        }
        per_call.into_values().max().unwrap_or(0)
    };
    assert_eq!(attempts(&[("AWS_MAX_ATTEMPTS", "1".as_ref())]), 1);
    let profile = [
        ("AWS_CONFIG_FILE", config.as_os_str()),
        ("AWS_PROFILE", "slow".as_ref()),
    ];
    assert_eq!(attempts(&profile), 2);
}

/// For each seed, in a world of its own: the command once through faulty proxies, then again
/// without faults, after which the world must be in the state a fault-free run leaves.
fn converges_under_faults(scenario: &Scenario) -> Vec<FaultyRun> {
    let expected = &scenario.reference().1;
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..SEEDS)
            .map(|seed| scope.spawn(move || faulty_run(scenario, seed, expected)))
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a seed's run failed"))
            .collect()
    })
}

fn faulty_run(scenario: &Scenario, seed: u64, expected: &Inventory) -> FaultyRun {
    let command = scenario.command;
    let mut world = scenario.world();
    world.proxy_all(&Faults::random(seed, RATE));
    let args = (scenario.args)(&world);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let faulty = output_within(world.command(&arg_refs), RUN_LIMIT);
    let error = (!faulty.status.success()).then(|| {
        let stderr = stderr(&faulty);
        assert!(
            matches!(faulty.status.code(), Some(1..=100)) && !stderr.contains("panicked"),
            "{command}, seed {seed}: kcfed crashed ({:?}):\n{stderr}",
            faulty.status
        );
        assert!(
            stderr.contains("error:") && stderr.contains("fix:"),
            "{command}, seed {seed}: no clear error and fix:\n{stderr}"
        );
        let error = stderr.lines().find(|line| line.starts_with("error:"));
        error.unwrap_or_default().to_owned()
    });
    let run = FaultyRun {
        error,
        requests: world.proxies().map(Proxy::requests).sum(),
        injected: world.proxies().map(Proxy::injected).sum(),
    };
    world.set_faults(&Faults::none());
    kcfed_ok(&world, &args);
    assert_eq!(
        &inventory(&world).normalised(&world.account.account_id),
        expected,
        "{command}, seed {seed}: the end state differs from a fault-free run's"
    );
    run
}

/// Every seed of every command at once: the runs mostly wait on retries, so together they take
/// little longer than the slowest. Prints the figures of the README's Reliability section
/// (seen with `--nocapture`).
#[test]
fn every_command_converges_under_faults() {
    std::thread::scope(|scope| {
        let commands: Vec<_> = SCENARIOS
            .into_iter()
            .map(|scenario| {
                scope.spawn(move || {
                    let started = Instant::now();
                    (converges_under_faults(scenario), started.elapsed())
                })
            })
            .collect();
        for (scenario, command) in SCENARIOS.into_iter().zip(commands) {
            let (runs, elapsed) = command.join().expect("a command's runs failed");
            let stopped: Vec<&str> = runs.iter().filter_map(|r| r.error.as_deref()).collect();
            eprintln!(
                "{}: {} seeds at fault rate {RATE}: {} succeeded despite faults, {} stopped with \
                 an error; all converged on a fault-free rerun; {} of {} requests faulted; \
                 {elapsed:.0?}{}",
                scenario.command,
                runs.len(),
                runs.len() - stopped.len(),
                stopped.len(),
                runs.iter().map(|r| r.injected).sum::<usize>(),
                runs.iter().map(|r| r.requests).sum::<usize>(),
                stopped
                    .iter()
                    .map(|e| format!("\n  {e}"))
                    .collect::<String>()
            );
        }
    });
}
