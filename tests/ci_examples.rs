//! The CI examples in docs/ (a GitHub Actions workflow and a GitLab CI job) are real YAML whose
//! kcfed command lines use only flags the binary has: each `kcfed ...` line of their scripts is
//! checked against `kcfed <subcommand> --help`, so the docs cannot drift from the CLI.

use std::process::Command;

use serde_json::Value;

const EXAMPLES: &[(&str, &str)] = &[
    (
        "docs/github-actions.yml",
        include_str!("../docs/github-actions.yml"),
    ),
    ("docs/gitlab-ci.yml", include_str!("../docs/gitlab-ci.yml")),
];

/// Keys whose values are shell scripts: GitHub's `run`, GitLab's `script` and friends.
const SCRIPT_KEYS: &[&str] = &["run", "script", "before_script", "after_script"];

/// Every shell script in a CI document, wherever it sits.
fn scripts(value: &Value, key: Option<&str>, found: &mut Vec<String>) {
    match value {
        Value::String(script) if key.is_some_and(|key| SCRIPT_KEYS.contains(&key)) => {
            found.push(script.clone());
        }
        Value::Array(items) => items.iter().for_each(|item| scripts(item, key, found)),
        Value::Object(map) => map
            .iter()
            .for_each(|(key, value)| scripts(value, Some(key), found)),
        _ => {}
    }
}

/// The script's command lines, with `\`-continued lines joined, that run kcfed.
fn kcfed_lines(script: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        match line.trim_end().strip_suffix('\\') {
            Some(continued) => current.push_str(continued),
            None => {
                current.push_str(line);
                lines.push(std::mem::take(&mut current));
            }
        }
    }
    lines.push(current);
    lines
        .into_iter()
        .map(|line| line.trim().to_owned())
        .filter(|line| line.starts_with("kcfed ") || line == "kcfed")
        .collect()
}

/// The subcommand words (`init primary`) and the long flags of one kcfed line. Quotes and
/// `$(` around a token are shell syntax (`$(printf -- '--cluster=%s ' ...)`), not the flag.
fn parse(line: &str) -> (Vec<&str>, Vec<&str>) {
    let words: Vec<&str> = line.split_whitespace().skip(1).collect();
    let subcommand = words
        .iter()
        .take_while(|word| word.chars().all(|c| c.is_ascii_lowercase()))
        .copied()
        .collect();
    let flags = words
        .iter()
        .map(|word| word.trim_start_matches(['$', '(', '\'', '"']))
        .filter(|word| word.starts_with("--") && *word != "--")
        .map(|word| word.split(['=', '\'', '"', ')']).next().unwrap_or(word))
        .collect();
    (subcommand, flags)
}

fn help(subcommand: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_kcfed"))
        .args(subcommand)
        .arg("--help")
        .env_clear()
        .output()
        .expect("run kcfed --help");
    assert!(
        output.status.success(),
        "kcfed {} --help failed: {}",
        subcommand.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("help is UTF-8")
}

/// Whether `help` lists `flag` itself, not just a longer flag that starts with it.
fn lists_flag(help: &str, flag: &str) -> bool {
    help.match_indices(flag).any(|(at, _)| {
        !help[at + flag.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
    })
}

fn kcfed_lines_of(text: &str, name: &str) -> Vec<String> {
    let document: Value =
        serde_saphyr::from_str(text).unwrap_or_else(|err| panic!("{name} is not YAML: {err}"));
    let mut found = Vec::new();
    scripts(&document, None, &mut found);
    found
        .iter()
        .flat_map(|script| kcfed_lines(script))
        .collect()
}

#[test]
fn every_kcfed_flag_in_the_ci_examples_exists() {
    let mut unknown = Vec::new();
    for (name, text) in EXAMPLES {
        let lines = kcfed_lines_of(text, name);
        for wanted in ["kcfed init primary ", "kcfed join cluster "] {
            assert!(
                lines.iter().any(|line| line.starts_with(wanted)),
                "{name} runs no `{wanted}`: {lines:#?}"
            );
        }
        for line in &lines {
            let (subcommand, flags) = parse(line);
            let help = help(&subcommand);
            for flag in flags {
                if !lists_flag(&help, flag) {
                    unknown.push(format!(
                        "{name}: `kcfed {}` has no {flag}",
                        subcommand.join(" ")
                    ));
                }
            }
        }
    }
    assert!(unknown.is_empty(), "{}", unknown.join("\n"));
}

/// What makes the examples pipeline steps: a report saved, exit 5 accepted, OIDC credentials.
#[test]
fn the_ci_examples_are_pipeline_steps() {
    for (name, text) in EXAMPLES {
        for line in kcfed_lines_of(text, name)
            .iter()
            .filter(|line| line.starts_with("kcfed init ") || line.starts_with("kcfed join "))
        {
            for part in ["--yes", "--output json", "--detailed-exitcode", "> "] {
                assert!(line.contains(part), "{name}: `{line}` lacks {part}");
            }
        }
        assert!(text.contains("0 | 5) ;;"), "{name} accepts exit 5");
    }
    let github = EXAMPLES[0].1;
    for part in [
        "id-token: write",
        "aws-actions/configure-aws-credentials@",
        "role-to-assume:",
        "actions/upload-artifact@",
    ] {
        assert!(github.contains(part), "the GitHub workflow lacks {part}");
    }
    let gitlab = EXAMPLES[1].1;
    for part in ["id_tokens:", "AWS_WEB_IDENTITY_TOKEN_FILE", "artifacts:"] {
        assert!(gitlab.contains(part), "the GitLab job lacks {part}");
    }
    // kcfed reaches the clusters with the job's AWS credentials: neither example needs the aws
    // CLI or a kubeconfig step.
    for (name, text) in EXAMPLES {
        assert!(
            !text.contains("update-kubeconfig"),
            "{name} writes a kubeconfig"
        );
        assert!(!text.contains("awscli"), "{name} installs the aws CLI");
    }
}

#[test]
fn kcfed_lines_are_found_and_parsed_as_a_shell_reads_them() {
    let script = "code=0\nkcfed join cluster $(printf -- '--cluster=%s ' $A) \\\n  --region \"$R\" --yes > j.json || code=$?\necho kcfed --nope\n";
    let lines = kcfed_lines(script);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (subcommand, flags) = parse(&lines[0]);
    assert_eq!(subcommand, ["join", "cluster"]);
    assert_eq!(flags, ["--cluster", "--region", "--yes"]);
    assert!(lists_flag("  --cluster <CLUSTERS>", "--cluster"));
    assert!(!lists_flag("  --cluster-name <NAME>", "--cluster"));
}

/// Every place that installs kcfed builds the versions of Cargo.lock, the ones the tests ran
/// with: `cargo install` without `--locked` resolves newer dependencies.
#[test]
fn every_install_of_kcfed_is_locked() {
    let sources = [
        ("README.md", include_str!("../README.md")),
        ("scripts/bench", include_str!("../scripts/bench")),
    ]
    .into_iter()
    .chain(EXAMPLES.iter().copied());
    let mut installs = 0;
    for (name, text) in sources {
        // A command line, also as a YAML list item (GitLab's `script`).
        for line in text
            .lines()
            .map(|line| line.trim().trim_start_matches("- "))
        {
            let builds_kcfed = (line.starts_with("cargo install") && !line.contains("cargo-"))
                || line.starts_with("cargo build --release");
            if builds_kcfed {
                installs += 1;
                assert!(line.contains("--locked"), "{name}: {line}");
            }
        }
    }
    assert!(
        installs >= 4,
        "the README, the bench and both CI examples install kcfed"
    );
}
