//! The checked-in shell completions, man page and per-command help in `completions/` match what
//! `kcfed completions SHELL`, `kcfed man` and `kcfed COMMAND --help` print. When they differ the test fails; `KCFED_UPDATE_COMPLETIONS=1 cargo
//! test --test completions` rewrites them instead (a `--check` mode, as cargo-dist keeps its
//! generated files current).

use std::path::{Path, PathBuf};
use std::process::Command;

const UPDATE_VAR: &str = "KCFED_UPDATE_COMPLETIONS";

/// Each generating command and the file its output is checked in as.
const GENERATED: &[(&[&str], &str)] = &[
    (&["completions", "bash"], "kcfed.bash"),
    (&["completions", "zsh"], "_kcfed"),
    (&["completions", "fish"], "kcfed.fish"),
    (&["completions", "powershell"], "_kcfed.ps1"),
    (&["man"], "kcfed.1"),
    // Each command's help, as a user reads it: a change of wording or of a flag shows in review.
    (&["--help"], "help/kcfed.txt"),
    (&["init", "primary", "--help"], "help/init-primary.txt"),
    (&["join", "cluster", "--help"], "help/join-cluster.txt"),
    (&["cleanup", "--help"], "help/cleanup.txt"),
    (&["status", "--help"], "help/status.txt"),
    (&["render", "--help"], "help/render.txt"),
    (&["dashboard", "--help"], "help/dashboard.txt"),
];

fn kcfed(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kcfed"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run kcfed");
    assert!(
        output.status.success(),
        "kcfed {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("kcfed prints UTF-8")
}

fn checked_in(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(file)
}

#[test]
fn checked_in_completions_are_current() {
    let update = std::env::var_os(UPDATE_VAR).is_some_and(|value| !value.is_empty());
    let mut stale = Vec::new();
    for (args, file) in GENERATED {
        let expected = kcfed(args);
        assert!(expected.contains("kcfed"), "{args:?} names the command");
        let path = checked_in(file);
        let current = std::fs::read_to_string(&path).ok();
        if current.as_deref() == Some(expected.as_str()) {
            continue;
        }
        if update {
            std::fs::create_dir_all(path.parent().expect("completions/ has a parent"))
                .expect("create completions/");
            std::fs::write(&path, &expected)
                .unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        } else {
            stale.push(format!("completions/{file} (kcfed {})", args.join(" ")));
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing generated files: {}\nrun `{UPDATE_VAR}=1 cargo test --test completions` and commit the result",
        stale.join(", ")
    );
}

#[test]
fn the_man_page_documents_every_command_and_its_flags() {
    let page = kcfed(&["man"]);
    for heading in [
        "KCFED INIT PRIMARY",
        "KCFED JOIN CLUSTER",
        "KCFED CLEANUP",
        "KCFED RENDER",
        "KCFED COMPLETIONS",
    ] {
        assert!(
            page.contains(&format!(".SH \"{heading} OPTIONS\"")),
            "{heading}"
        );
    }
    assert!(page.contains("\\-\\-detailed\\-exitcode"), "{page}");
    // Not a reference to pages kcfed does not ship.
    assert!(!page.contains("kcfed\\-init(1)"), "{page}");
}

/// `kcfed --version` names the chart version a new fleet gets, as `--chart-version`'s help does.
#[test]
fn version_names_the_commit_and_the_default_chart_version() {
    let help = kcfed(&["init", "primary", "--help"]);
    let after_flag = &help[help
        .find("--chart-version")
        .expect("the flag is documented")..];
    let default = after_flag
        .split_once("for a new fleet, ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .expect("--chart-version names a new fleet's default")
        .0;
    let version = kcfed(&["--version"]);
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git, as the build script runs it");
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
    assert_eq!(
        version.trim(),
        format!(
            "kcfed {} (commit {commit}; new fleets get Kubecost chart {default} by default)",
            env!("CARGO_PKG_VERSION")
        )
    );
}
