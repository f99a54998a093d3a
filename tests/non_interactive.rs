//! In CI, with NO_COLOR, on a dumb terminal or off a terminal, kcfed prints plain RFC
//! 3339-timestamped progress lines on stderr and not one escape code. Runs on a pseudo-terminal
//! (util-linux `script`) check that each of CI, NO_COLOR and TERM=dumb is enough, and that an
//! xterm does get spinners, so the checks can tell the difference.

mod common;
mod pipeline;
mod support;

use std::process::{Command, Output};

use common::{World, assert_exit};
use pipeline::timestamped;
use support::moto::Moto;

const REGION: &str = "us-east-2";
const ESCAPE: u8 = 0x1b;

fn init_args(world: &World) -> Vec<String> {
    [
        "init",
        "primary",
        "--cluster",
        "prod",
        "--yes",
        "--output",
        "json",
        // The line these tests were written for, as World::command pins it.
        "--chart-version",
        "1.103.4",
        "--helm",
    ]
    .map(str::to_owned)
    .into_iter()
    .chain([world.helm_path()])
    .collect()
}

/// kcfed in the world's environment plus `env`, with stdin, stdout and stderr on one
/// pseudo-terminal of an xterm (unless `env` says otherwise); its output is what the terminal
/// showed.
fn on_a_terminal(world: &World, env: &[(&str, &str)]) -> Output {
    on_a_terminal_running(world, init_args(world), env)
}

/// Like [`on_a_terminal`], for the kcfed arguments `args`.
fn on_a_terminal_running(world: &World, args: Vec<String>, env: &[(&str, &str)]) -> Output {
    let kcfed = world.command(&[]);
    let line = std::iter::once(env!("CARGO_BIN_EXE_kcfed").to_owned())
        .chain(args)
        .map(|arg| format!("'{arg}'"))
        .collect::<Vec<_>>()
        .join(" ");
    Command::new("script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .env_clear()
        .envs(
            kcfed
                .get_envs()
                .filter_map(|(key, value)| Some((key, value?))),
        )
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .output()
        .expect("run util-linux script")
}

fn progress_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty())
        .filter(|line| !line.starts_with([' ', '{', '}', '[', ']']))
        .collect()
}

#[test]
fn in_ci_progress_is_plain_timestamped_lines_on_stderr() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = world
        .command(&[])
        .args(init_args(&world))
        .env("CI", "true")
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(!output.stdout.contains(&ESCAPE), "an escape code on stdout");
    assert!(!output.stderr.contains(&ESCAPE), "an escape code on stderr");
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<_> = stderr.lines().filter(|line| !line.is_empty()).collect();
    assert!(
        lines.iter().any(|line| line.contains("helm release")),
        "no progress for the helm release:\n{stderr}"
    );
    let untimed: Vec<_> = lines.iter().filter(|line| !timestamped(line)).collect();
    assert!(
        untimed.is_empty(),
        "lines without a timestamp: {untimed:#?}"
    );
}

#[test]
fn ci_no_color_or_a_dumb_terminal_keep_a_terminal_plain() {
    for env in [("CI", "true"), ("NO_COLOR", "1"), ("TERM", "dumb")] {
        let world = World::new(Moto::shared(), REGION, &["prod"]);
        let output = on_a_terminal(&world, &[env]);
        assert_exit(&output, 0);
        assert!(
            !output.stdout.contains(&ESCAPE),
            "{env:?}: an escape code on the terminal:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        let progress = progress_lines(&text);
        assert!(!progress.is_empty(), "{env:?}: no progress:\n{text}");
        let untimed: Vec<_> = progress.iter().filter(|line| !timestamped(line)).collect();
        assert!(
            untimed.is_empty(),
            "{env:?}: lines without a timestamp: {untimed:#?}"
        );
    }
}

#[test]
fn an_xterm_gets_spinners() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = on_a_terminal(&world, &[]);
    assert_exit(&output, 0);
    assert!(
        output.stdout.contains(&ESCAPE),
        "no escape code on a terminal, so the checks above prove nothing:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

/// Reading the clusters before the plan shows a bar on a terminal (which clears it before the
/// plan); off a terminal, and with --output json, nothing is added.
#[test]
fn a_terminal_sees_the_clusters_being_read() {
    let world = World::new(Moto::shared(), REGION, &["prod", "staging"]);
    world.init_workspace_id(&[]);
    let join = |output: &str| {
        [
            "join",
            "cluster",
            "--cluster",
            "staging",
            "--dry-run",
            "--output",
            output,
            "--helm",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([world.helm_path()])
        .collect::<Vec<_>>()
    };
    let text = on_a_terminal_running(&world, join("text"), &[]);
    assert_exit(&text, 0);
    let shown = String::from_utf8_lossy(&text.stdout);
    assert!(shown.contains("/1 clusters"), "{shown}");
    let json = on_a_terminal_running(&world, join("json"), &[]);
    assert_exit(&json, 0);
    let shown = String::from_utf8_lossy(&json.stdout);
    assert!(!shown.contains("clusters ("), "{shown}");
    let plain = world.command(&[]).args(join("text")).output().unwrap();
    assert_exit(&plain, 0);
    assert!(
        !String::from_utf8_lossy(&plain.stderr).contains("clusters ("),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
}

#[test]
fn timestamps_are_recognised() {
    assert!(timestamped(
        "2026-11-25T22:19:01Z create fleet amp workspace ..."
    ));
    assert!(!timestamped("[22:19:01] create fleet amp workspace ..."));
    assert!(!timestamped("2026-11-25T22:19:01.123Z create"));
    assert!(!timestamped("2026-11-25 22:19:01Z create"));
}
