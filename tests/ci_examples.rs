//! The CI examples in docs/ (a GitHub Actions workflow and a GitLab CI job, each also as a matrix
//! with one job per account) are real YAML whose kcfed command lines use only flags the binary
//! has: each `kcfed ...` line of their scripts is checked against `kcfed <subcommand> --help`, so
//! the docs cannot drift from the CLI.

use std::process::Command;

use serde_json::Value;

const EXAMPLES: &[(&str, &str)] = &[
    (
        "docs/github-actions.yml",
        include_str!("../docs/github-actions.yml"),
    ),
    ("docs/gitlab-ci.yml", include_str!("../docs/gitlab-ci.yml")),
    (
        "docs/github-actions-matrix.yml",
        include_str!("../docs/github-actions-matrix.yml"),
    ),
    (
        "docs/gitlab-ci-matrix.yml",
        include_str!("../docs/gitlab-ci-matrix.yml"),
    ),
];

/// The examples of one CI system, by the file name's prefix.
fn examples_of(prefix: &str) -> impl Iterator<Item = (&'static str, &'static str)> + '_ {
    EXAMPLES
        .iter()
        .copied()
        .filter(move |(name, _)| name.starts_with(prefix))
}

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
    assert_eq!(examples_of("docs/github-").count(), 2);
    for (name, github) in examples_of("docs/github-") {
        for part in [
            "id-token: write",
            "aws-actions/configure-aws-credentials@",
            "role-to-assume:",
            "actions/upload-artifact@",
        ] {
            assert!(github.contains(part), "{name} lacks {part}");
        }
    }
    assert_eq!(examples_of("docs/gitlab-").count(), 2);
    for (name, gitlab) in examples_of("docs/gitlab-") {
        for part in ["id_tokens:", "AWS_WEB_IDENTITY_TOKEN_FILE", "artifacts:"] {
            assert!(gitlab.contains(part), "{name} lacks {part}");
        }
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

fn yaml(name: &str) -> Value {
    let (_, text) = EXAMPLES
        .iter()
        .find(|(example, _)| *example == name)
        .unwrap_or_else(|| panic!("{name} is not in EXAMPLES"));
    serde_saphyr::from_str(text).unwrap_or_else(|err| panic!("{name} is not YAML: {err}"))
}

/// The scripts of one job, its template's (`extends`) included.
fn job_scripts(document: &Value, job: &Value) -> String {
    let mut found = Vec::new();
    scripts(job, None, &mut found);
    if let Some(template) = job["extends"].as_str() {
        scripts(&document[template], None, &mut found);
    }
    found.join("\n")
}

/// Each matrix entry's clusters are EKS ARNs of that entry's account.
fn assert_clusters_of(name: &str, account: &str, clusters: &[&str]) {
    assert!(
        !clusters.is_empty(),
        "{name}: account {account} has no cluster"
    );
    for cluster in clusters {
        assert!(
            cluster.starts_with("arn:aws:eks:")
                && cluster.contains(&format!(":{account}:cluster/")),
            "{name}: {cluster} is not an EKS ARN of account {account}"
        );
    }
}

/// The matrix examples: `init primary` first and alone, then one job per account that never
/// overlaps another job for the same account, then the gate.
#[test]
fn the_matrix_examples_run_one_job_per_account() {
    let name = "docs/github-actions-matrix.yml";
    let github = yaml(name);
    let jobs = &github["jobs"];
    let primary = job_scripts(&github, &jobs["primary"]);
    assert!(
        primary.contains("kcfed init primary ") && primary.contains("--identity pod-identity"),
        "{name}: the primary job makes a Pod Identity fleet"
    );
    let join = &jobs["join"];
    assert_eq!(join["needs"], "primary", "{name}: join needs primary");
    assert_eq!(join["strategy"]["fail-fast"], false, "{name}: fail-fast");
    assert!(
        join["strategy"]["max-parallel"].is_u64(),
        "{name}: max-parallel"
    );
    let entries = join["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no matrix include"));
    assert!(entries.len() > 1, "{name}: one entry per account");
    for entry in entries {
        let account = entry["account"].as_str().expect("account is a string");
        assert!(entry["role"].is_string(), "{name}: {account} has no role");
        let clusters: Vec<&str> = entry["clusters"]
            .as_array()
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_clusters_of(name, account, &clusters);
    }
    let group = join["concurrency"]["group"].as_str().unwrap_or_default();
    assert!(group.contains("matrix.account"), "{name}: group by account");
    let joins = job_scripts(&github, join);
    for part in [
        "kcfed join cluster ",
        "--account-role",
        "--identity pod-identity",
    ] {
        assert!(joins.contains(part), "{name}: the join job lacks {part}");
    }
    assert_eq!(jobs["status"]["needs"], "join", "{name}: status needs join");
    assert!(job_scripts(&github, &jobs["status"]).contains("kcfed status "));

    let name = "docs/gitlab-ci-matrix.yml";
    let gitlab = yaml(name);
    assert_eq!(
        gitlab["stages"],
        serde_json::json!(["primary", "join", "verify"])
    );
    let primary = job_scripts(&gitlab, &gitlab["primary"]);
    assert!(
        primary.contains("kcfed init primary ") && primary.contains("--identity pod-identity"),
        "{name}: the primary job makes a Pod Identity fleet"
    );
    let join = &gitlab["join"];
    assert_eq!(join["stage"], "join");
    assert_eq!(
        join["needs"],
        serde_json::json!(["primary"]),
        "{name}: needs"
    );
    let entries = join["parallel"]["matrix"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no parallel matrix"));
    assert!(entries.len() > 1, "{name}: one entry per account");
    for entry in entries {
        // A list would make one job per value: each entry is one account, as strings.
        assert!(entry["ACCOUNT"].is_string(), "{name}: {entry}");
        assert!(entry["ACCOUNT_ROLE"].is_string(), "{name}: {entry}");
    }
    let group = join["resource_group"].as_str().unwrap_or_default();
    assert!(
        group.contains("$ACCOUNT"),
        "{name}: resource_group by account"
    );
    let joins = job_scripts(&gitlab, join);
    for part in [
        "kcfed join cluster ",
        "--account-role",
        "--identity pod-identity",
    ] {
        assert!(joins.contains(part), "{name}: the join job lacks {part}");
    }
    let verify = &gitlab["verify"];
    assert_eq!(verify["stage"], "verify");
    assert_eq!(
        verify["needs"][0]["job"], "join",
        "{name}: verify needs join"
    );
    assert!(job_scripts(&gitlab, verify).contains("kcfed status "));
}

#[test]
fn kcfed_lines_are_found_and_parsed_as_a_shell_reads_them() {
    let script = "code=0\nkcfed join cluster $(printf -- '--cluster=%s ' $A) \\\n  --region \"$R\" --yes > j.json || code=$?\necho kcfed --nope\n";
    let lines = kcfed_lines(script);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (subcommand, flags) = parse(&lines[0]);
    assert_eq!(subcommand, ["join", "cluster"]);
    assert_eq!(flags, ["--cluster", "--region", "--yes"]);
    // The matrix examples' form: a loop in `$(...)`, and a matrix value as a flag's value.
    let script = "kcfed join cluster $(for c in $CLUSTERS; do printf -- '--cluster %s ' \"$c\"; done) \\\n  --account-role \"$ACCOUNT_ROLE\" --region ${{ matrix.region }} --no-such-flag --yes\n";
    let lines = kcfed_lines(script);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let (subcommand, flags) = parse(&lines[0]);
    assert_eq!(subcommand, ["join", "cluster"]);
    assert_eq!(
        flags,
        [
            "--cluster",
            "--account-role",
            "--region",
            "--no-such-flag",
            "--yes"
        ]
    );
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
