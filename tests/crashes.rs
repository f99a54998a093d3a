//! Crashes: kcfed killed (SIGKILL) right after each applied step of `init primary` and
//! `cleanup --all` in turn; a rerun then converges to the end state of an uninterrupted run.

mod common;
mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Instant;

use common::{
    CLEANUP_ALL, CLEANUP_ALL_KUBECOST_3, INIT_PRIMARY, Inventory, RUN_LIMIT, Scenario, block_on,
    inventory, kcfed_ok,
};

/// How the progress lines on stderr (plain off a terminal) end for a step that finished.
const STEP_DONE: &str = ": done";

/// Kills the scenario's command after each of its steps in turn, each in a world of its own, all
/// at once; returns how many runs the kill stopped (after the last step, kcfed may have ended
/// by itself) out of how many steps there are.
fn killed_after_each_step_converges(scenario: &Scenario) -> (usize, usize) {
    let (output, expected) = scenario.reference();
    let steps = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| line.ends_with(STEP_DONE))
        .count();
    assert!(steps > 1, "{}: {steps} steps", scenario.command);
    let expected = &expected;
    let killed = std::thread::scope(|scope| {
        let runs: Vec<_> = (1..=steps)
            .map(|step| scope.spawn(move || killed_after(scenario, step, expected)))
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a killed run failed"))
            .filter(|killed| *killed)
            .count()
    });
    eprintln!(
        "{}: killed after each of {steps} steps, rerun converged every time ({killed} runs \
         stopped by the kill, the rest had ended)",
        scenario.command
    );
    (killed, steps)
}

/// Runs the command, SIGKILLs it as soon as `step` steps are reported done, reruns it and
/// compares the end state with `expected`. Whether the kill stopped the process.
fn killed_after(scenario: &Scenario, step: usize, expected: &Inventory) -> bool {
    let command = scenario.command;
    let world = scenario.world();
    let args = (scenario.args)(&world);
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut child = world
        .command(&arg_refs)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start kcfed");
    let stderr = child.stderr.take().expect("piped stderr");
    let (lines, progress) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let mut seen = Vec::new();
    while seen
        .iter()
        .filter(|l: &&String| l.ends_with(STEP_DONE))
        .count()
        < step
    {
        match progress.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(RecvTimeoutError::Disconnected) => panic!(
                "{command}: kcfed ended before step {step} was done:\n{}",
                seen.join("\n")
            ),
            Err(RecvTimeoutError::Timeout) => {
                child.kill().ok();
                panic!(
                    "{command}: no step {step} within {RUN_LIMIT:?}:\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    child.kill().expect("SIGKILL kcfed");
    let status = child.wait().expect("reap kcfed");

    kcfed_ok(&world, &args);
    assert_eq!(
        &inventory(&world).normalised(&world.account.account_id),
        expected,
        "{command}: killed after step {step}, a rerun did not converge; the killed run said:\n{}",
        seen.join("\n")
    );
    // No exit code: the kill, not kcfed, ended it.
    status.code().is_none()
}

#[test]
fn init_primary_killed_after_any_step_converges_on_rerun() {
    let (killed, _) = killed_after_each_step_converges(&INIT_PRIMARY);
    assert!(killed > 0);
}

#[test]
fn cleanup_all_killed_after_any_step_converges_on_rerun() {
    let (killed, _) = killed_after_each_step_converges(&CLEANUP_ALL);
    assert!(killed > 0);
}

/// A fleet without a workspace is found by its bucket: cut short anywhere, its cleanup still
/// finds what is left, because the bucket goes last.
#[test]
fn cleanup_all_of_a_kubecost_3_fleet_killed_after_any_step_converges_on_rerun() {
    let (killed, _) = killed_after_each_step_converges(&CLEANUP_ALL_KUBECOST_3);
    assert!(killed > 0);
}

/// What an init killed between creating the bucket and tagging it leaves, made directly: the
/// bucket without its tags. A rerun of init tags it as kcfed's, and cleanup removes it either way.
#[test]
fn a_bucket_an_interrupted_init_could_not_tag_is_still_kcfeds() {
    let world = INIT_PRIMARY.world();
    let untouched = inventory(&world);
    kcfed_ok(&world, &(INIT_PRIMARY.args)(&world));
    let bucket = format!("kcfed-{}-us-east-2-kubecost-etl", world.account.account_id);
    let untag = || {
        block_on(async {
            let config = world.sdk("us-east-2").await;
            let s3 = aws_sdk_s3::Client::new(&config);
            s3.delete_bucket_tagging()
                .bucket(&bucket)
                .send()
                .await
                .unwrap();
        })
    };
    let expected = inventory(&world);

    untag();
    kcfed_ok(&world, &(INIT_PRIMARY.args)(&world));
    assert_eq!(inventory(&world), expected);

    untag();
    kcfed_ok(&world, &(CLEANUP_ALL.args)(&world));
    assert_eq!(inventory(&world), untouched);
}
