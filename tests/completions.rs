//! The checked-in shell completions in `completions/` match what `kcfed completions SHELL` prints.
//! When they differ the test fails; `KCFED_UPDATE_COMPLETIONS=1 cargo test --test completions`
//! rewrites them instead (a `--check` mode, as cargo-dist keeps its generated files current).

use std::path::{Path, PathBuf};
use std::process::Command;

const UPDATE_VAR: &str = "KCFED_UPDATE_COMPLETIONS";

/// Each shell and the file its completions are checked in as.
const SHELLS: &[(&str, &str)] = &[
    ("bash", "kcfed.bash"),
    ("zsh", "_kcfed"),
    ("fish", "kcfed.fish"),
    ("powershell", "_kcfed.ps1"),
];

fn generated(shell: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kcfed"))
        .args(["completions", shell])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run kcfed completions");
    assert!(
        output.status.success(),
        "kcfed completions {shell} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("completions are UTF-8")
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
    for (shell, file) in SHELLS {
        let expected = generated(shell);
        assert!(
            expected.contains("kcfed"),
            "{shell} completions name the command"
        );
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
            stale.push(format!("completions/{file} ({shell})"));
        }
    }
    assert!(
        stale.is_empty(),
        "stale or missing shell completions: {}\nrun `{UPDATE_VAR}=1 cargo test --test completions` and commit the result",
        stale.join(", ")
    );
}
