//! Every exit code docs/pipelines.md promises, each triggered for real, table-driven: pipelines
//! branch on these numbers, so each must mean exactly one thing.

mod common;
mod pipeline;
mod support;

use std::collections::BTreeSet;
use std::process::Output;

use common::{World, assert_exit, stderr, stdout_json};
use pipeline::timestamped;
use support::moto::Moto;

const REGION: &str = "us-east-2";

struct Case {
    what: &'static str,
    code: i32,
    run: fn(&Moto) -> Output,
}

const CASES: &[Case] = &[
    Case {
        what: "success",
        code: 0,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            world.init_primary(&["--yes"])
        },
    },
    Case {
        what: "success with nothing to do, --detailed-exitcode",
        code: 5,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            assert_exit(&world.init_primary(&["--yes"]), 0);
            world.init_primary(&["--yes", "--detailed-exitcode"])
        },
    },
    Case {
        what: "bad input: an invalid name",
        code: 2,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            world.init_primary(&["--yes", "--namespace", "Kube_Cost"])
        },
    },
    Case {
        what: "bad input: an unknown flag",
        code: 2,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            world.init_primary(&["--yes", "--no-such-flag"])
        },
    },
    Case {
        what: "partial failure: one of two clusters",
        code: 3,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod", "agent-a"]);
            let helm = world.helm_path();
            assert_exit(&world.init_primary(&["--yes", "--quick-start"]), 0);
            join(&world, &helm, &["agent-a", "does-not-exist"], &[])
        },
    },
    Case {
        what: "failure: helm upgrade fails",
        code: 1,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            let helm = pipeline::helm_wrapper(&world, "failing-helm", pipeline::FAILING_UPGRADE);
            world
                .init_primary_command(&helm, &["--yes"])
                .output()
                .expect("run kcfed")
        },
    },
    Case {
        what: "failure: a conflict in the plan (another account's bucket)",
        code: 1,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            let taken = pipeline::bucket_of_another_account(moto, &world);
            world.init_primary(&["--yes", "--bucket", &taken])
        },
    },
    Case {
        what: "not confirmed: no --yes and no terminal",
        code: 4,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod"]);
            world.init_primary(&[])
        },
    },
    Case {
        what: "interrupted: Ctrl-C during the first of two clusters",
        code: 130,
        run: |moto| {
            let world = World::new(moto, REGION, &["prod", "agent-a", "agent-b"]);
            assert_exit(&world.init_primary(&["--yes", "--quick-start"]), 0);
            let interrupting =
                pipeline::helm_wrapper(&world, "interrupting-helm", pipeline::INTERRUPTING_UPGRADE);
            // One cluster at a time: agent-b has not started when agent-a's helm presses Ctrl-C.
            let output = join(
                &world,
                &interrupting,
                &["agent-a", "agent-b"],
                &["--concurrency", "1"],
            );
            let report = stdout_json(&output);
            let not_run: Vec<_> = report["applied"]
                .as_array()
                .expect("the report lists the applied steps")
                .iter()
                .filter(|step| step["outcome"]["status"] == "not-run")
                .map(|step| step["scope"].as_str().unwrap())
                .collect();
            assert!(
                !not_run.is_empty() && not_run.iter().all(|scope| *scope == "agent-b"),
                "only agent-b's steps are not run: {report:#}"
            );
            assert!(
                stderr(&output).lines().any(|line| timestamped(line)
                    && line.contains(" interrupted: finishing the current step")),
                "no timestamped interrupt notice:\n{}",
                stderr(&output)
            );
            output
        },
    },
];

fn join(world: &World, helm: &str, clusters: &[&str], extra: &[&str]) -> Output {
    let extra = [&["--yes", "--output", "json"], extra].concat();
    let mut command = world.join_command(helm, clusters, &extra);
    command.output().expect("run kcfed")
}

#[test]
fn every_exit_code_means_one_thing() {
    let moto = Moto::shared();
    // Each case has a world of its own, so they run at the same time.
    let outcomes: Vec<(&Case, Output)> = std::thread::scope(|scope| {
        let running: Vec<_> = CASES
            .iter()
            .map(|case| (case, scope.spawn(move || (case.run)(moto))))
            .collect();
        running
            .into_iter()
            .map(|(case, handle)| {
                let output = handle
                    .join()
                    .unwrap_or_else(|_| panic!("case {:?} panicked", case.what));
                (case, output)
            })
            .collect()
    });
    let mut wrong = Vec::new();
    for (case, output) in &outcomes {
        let code = output.status.code();
        if code != Some(case.code) {
            wrong.push(format!(
                "{}: exit {code:?}, want {}\n{}",
                case.what,
                case.code,
                stderr(output)
            ));
        } else if case.code != 0 && case.code != 5 && !stderr(output).contains("error") {
            wrong.push(format!("{}: no error on stderr", case.what));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The table in docs/pipelines.md names exactly the codes tested here.
#[test]
fn the_documented_exit_codes_are_the_tested_ones() {
    let doc = include_str!("../docs/pipelines.md");
    let section = doc
        .split_once("## Exit codes")
        .expect("docs/pipelines.md has an exit-code section")
        .1;
    let documented: BTreeSet<i32> = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('|').nth(1)?.trim().parse().ok())
        .collect();
    let tested: BTreeSet<i32> = CASES.iter().map(|case| case.code).collect();
    assert_eq!(documented, tested);
}
