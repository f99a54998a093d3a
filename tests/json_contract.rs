//! The JSON documents `--output json` prints follow docs/schema/report-v1.schema.json: real
//! outputs of every command, in the states a pipeline meets (dry run, apply, nothing to do,
//! partial and step failures, cleanup), are validated against it. The schema is strict, so a
//! field added, renamed or retyped in the code fails here until the schema (and, for a breaking
//! change, its version) follows.

mod common;
mod pipeline;
mod support;

use std::process::Output;

use common::{World, assert_exit, stdout_json};
use jsonschema::Validator;
use serde_json::{Value, json};
use support::moto::Moto;
use support::proxy::Faults;

const REGION: &str = "us-east-2";
const SCHEMA_ID: &str = "kcfed.report/v1";

fn schema() -> Value {
    serde_json::from_str(include_str!("../docs/schema/report-v1.schema.json"))
        .expect("the schema is JSON")
}

fn validator() -> Validator {
    let schema = schema();
    jsonschema::meta::validate(&schema).expect("the schema is valid JSON Schema");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn violations(validator: &Validator, document: &Value) -> Vec<String> {
    validator
        .iter_errors(document)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect()
}

/// The report on stdout, checked against the schema, with `schema` as its first field.
fn conforming(validator: &Validator, output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.starts_with(&format!("{{\n  \"schema\": \"{SCHEMA_ID}\",")),
        "schema is not the first field:\n{text}"
    );
    let report = stdout_json(output);
    let violations = violations(validator, &report);
    assert!(
        violations.is_empty(),
        "{} violates the schema:\n{}\n{report:#}",
        report["command"],
        violations.join("\n")
    );
    report
}

fn init(world: &World, extra: &[&str]) -> Output {
    world.init_primary(&[extra, &["--output", "json"]].concat())
}

fn statuses(report: &Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} is a list: {report:#}"))
        .iter()
        .map(|item| {
            let status = item.get("outcome").unwrap_or(item)["status"].as_str();
            status.expect("every item has a status").to_owned()
        })
        .collect()
}

#[test]
fn render_follows_the_contract() {
    let validator = validator();
    let out = tempfile::tempdir().unwrap();
    for extra in [
        &[
            "--role",
            "primary",
            "--oidc-issuer",
            "https://oidc.eks.us-east-2.amazonaws.com/id/ABC",
        ][..],
        &["--role", "agent", "--quick-start"][..],
    ] {
        let mut args = vec![
            "render",
            "--cluster",
            "prod",
            "--region",
            REGION,
            "--account-id",
            "111122223333",
            "--workspace-id",
            "ws-12345678-abcd-1234-abcd-123456789012",
            "--output",
            "json",
            "--out",
        ];
        args.push(out.path().to_str().unwrap());
        args.extend_from_slice(extra);
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_kcfed"))
            .args(&args)
            .env_clear()
            .output()
            .unwrap();
        assert_exit(&output, 0);
        let report = conforming(&validator, &output);
        assert_eq!(report["command"], "render");
    }
}

#[test]
fn init_dry_run_apply_and_rerun_follow_the_contract() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod"]);

    let dry = init(&world, &["--dry-run"]);
    assert_exit(&dry, 0);
    let dry = conforming(&validator, &dry);
    assert_eq!(
        (&dry["dry_run"], &dry["changed"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(statuses(&dry, "clusters"), ["planned"]);
    assert!(dry.get("applied").is_none(), "{dry:#}");

    let applied = init(&world, &["--yes"]);
    assert_exit(&applied, 0);
    let applied = conforming(&validator, &applied);
    assert_eq!(applied["changed"], true);
    assert_eq!(statuses(&applied, "clusters"), ["changed"]);
    // A first run makes everything; the storage prerequisites it only checked stay unchanged.
    for step in applied["applied"].as_array().unwrap() {
        let prerequisite = step["kind"] == "storage-driver" || step["kind"] == "storage-class";
        let expected = if prerequisite { "unchanged" } else { "done" };
        assert_eq!(step["outcome"]["status"], expected, "{step}");
    }
    assert_eq!(applied["resources"]["clusters"][0]["role"], "primary");

    let rerun = init(&world, &["--yes"]);
    assert_exit(&rerun, 0);
    let rerun = conforming(&validator, &rerun);
    assert_eq!(rerun["changed"], false);
    assert_eq!(statuses(&rerun, "clusters"), ["unchanged"]);

    // Strict: what the code does not print, the schema does not accept.
    let drifted = [
        ("/extra", json!(1)),
        ("/plan/steps/0/extra", json!(1)),
        ("/plan/steps/0/kind", json!("lambda-function")),
        ("/applied/0/outcome/status", json!("skipped")),
        ("/resources/workspace/extra", json!(1)),
        ("/clusters/0/status", json!("done")),
        ("/schema", json!("kcfed.report/v2")),
    ];
    for (pointer, value) in drifted {
        let mut document = applied.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        document.pointer_mut(parent).unwrap()[key] = value;
        assert!(
            !violations(&validator, &document).is_empty(),
            "the schema accepts {pointer}"
        );
    }
}

#[test]
fn a_join_with_a_failing_cluster_follows_the_contract() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod", "agent-a"]);
    assert_exit(&init(&world, &["--yes", "--quick-start"]), 0);
    let joining = ["agent-a", "does-not-exist"];
    let output = world.join(&joining, &["--yes", "--output", "json"]);
    assert_exit(&output, 3);
    let report = conforming(&validator, &output);
    assert_eq!(report["command"], "join cluster");
    let mut clusters = statuses(&report, "clusters");
    clusters.sort();
    assert_eq!(clusters, ["changed", "failed"], "{report:#}");
    assert!(report["error"].is_string(), "{report:#}");

    // The same in a dry run: the cluster that cannot be planned fails it.
    let dry = world.join(&joining, &["--dry-run", "--output", "json"]);
    assert_exit(&dry, 3);
    let dry = conforming(&validator, &dry);
    let mut clusters = statuses(&dry, "clusters");
    clusters.sort();
    assert_eq!(clusters, ["failed", "planned"], "{dry:#}");
    assert!(dry["error"].is_string(), "{dry:#}");
}

/// The example report in docs/pipelines.md is one kcfed could print.
#[test]
fn the_documented_example_follows_the_contract() {
    let doc = include_str!("../docs/pipelines.md");
    let examples: Vec<Value> = doc
        .split("```json\n")
        .skip(1)
        .map(|block| block.split_once("```").expect("a closed block").0)
        .map(|block| serde_json::from_str(block).expect("the example is JSON"))
        .collect();
    assert!(
        !examples.is_empty(),
        "docs/pipelines.md shows no JSON report"
    );
    let validator = validator();
    for example in examples {
        let violations = violations(&validator, &example);
        assert!(violations.is_empty(), "{}", violations.join("\n"));
    }
}

#[test]
fn a_failed_step_follows_the_contract() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let helm = pipeline::helm_wrapper(&world, "failing-helm", pipeline::FAILING_UPGRADE);
    let output = world
        .init_primary_command(&helm, &["--yes", "--output", "json"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let report = conforming(&validator, &output);
    let failed: Vec<_> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["outcome"]["status"] == "failed")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["kind"], "helm-release");
    assert!(
        failed[0]["outcome"]["error"]
            .as_str()
            .unwrap()
            .contains("UPGRADE FAILED"),
        "{report:#}"
    );
    assert_eq!(statuses(&report, "clusters"), ["failed"]);
}

/// A cluster that meets an account quota at apply: what the run made for it is taken back and
/// reported `undone`.
#[test]
fn an_undone_step_follows_the_contract() {
    let validator = validator();
    let mut world = World::new(Moto::shared(), REGION, &["prod"]);
    world.proxy_all(&Faults::iam_quota_met(
        "CreateRole",
        "Cannot exceed quota for RolesPerAccount: 1000",
    ));
    let output = init(&world, &["--yes"]);
    assert_exit(&output, 1);
    let report = conforming(&validator, &output);
    let undone: Vec<_> = report["applied"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["outcome"]["status"] == "undone")
        .map(|step| step["kind"].clone())
        .collect();
    assert_eq!(undone, ["oidc-provider", "namespace"], "{report:#}");
    assert_eq!(statuses(&report, "clusters"), ["failed"]);
}

#[test]
fn a_helm_failure_while_reading_says_that_nothing_was_changed() {
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let helm = pipeline::helm_wrapper_for(&world, "failing-helm", "list", pipeline::FAILING_LIST);
    let output = world
        .init_primary_command(&helm, &["--yes", "--output", "json"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "error: helm list failed: Error: Kubernetes cluster unreachable: refused by the test helm"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("fix: nothing was changed"), "{stderr}");
    assert!(!stderr.contains("in place"), "{stderr}");
    assert_eq!(world.cluster("prod").kube.write_count(), 0);
    let made = common::inventory(&world);
    assert!(
        made.workspaces.is_empty() && made.roles.is_empty(),
        "{made:?}"
    );
}

#[test]
fn a_conflict_follows_the_contract() {
    let validator = validator();
    let moto = Moto::shared();
    let world = World::new(moto, REGION, &["prod"]);
    let taken = pipeline::bucket_of_another_account(moto, &world);
    let output = init(&world, &["--yes", "--bucket", &taken]);
    assert_exit(&output, 1);
    let report = conforming(&validator, &output);
    assert!(report.get("applied").is_none(), "{report:#}");
    let conflict = report["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["action"] == "conflict")
        .unwrap_or_else(|| panic!("no conflict in the plan: {report:#}"));
    assert_eq!(conflict["name"], taken.as_str());
    assert!(report["error"].is_string(), "{report:#}");
}

#[test]
fn cleanup_dry_run_and_apply_follow_the_contract() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    assert_exit(&init(&world, &["--yes"]), 0);
    let cleanup = |extra: &str| world.cleanup(&["--all", extra, "--output", "json"]);

    let dry = cleanup("--dry-run");
    assert_exit(&dry, 0);
    let dry = conforming(&validator, &dry);
    assert_eq!(dry["command"], "cleanup");
    assert_eq!(statuses(&dry, "clusters"), ["planned"]);

    let applied = cleanup("--yes");
    assert_exit(&applied, 0);
    let applied = conforming(&validator, &applied);
    assert_eq!(statuses(&applied, "clusters"), ["changed"]);
    let actions: Vec<_> = applied["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"delete"), "{applied:#}");
}

/// After an apply the text report says what happened to each step (not the plan again), each
/// error once per stream; the dashboard is named only for an installed release with a UI.
#[test]
fn the_text_report_says_what_happened_each_error_once() {
    let world = World::new(Moto::shared(), REGION, &["prod", "staging", "edge", "lab"]);
    world.init_workspace_id(&[]);
    let helm = pipeline::helm_wrapper(&world, "failing-helm", pipeline::FAILING_UPGRADE);
    let output = world
        .join_command(&helm, &["staging"], &["--yes"])
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stdout.contains("done     create namespace kubecost"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILED   create helm release kubecost/kubecost"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Plan: "),
        "the plan is not repeated: {stdout}"
    );
    assert_eq!(
        stdout.matches("refused by the test helm").count(),
        1,
        "{stdout}"
    );
    assert_eq!(
        stderr.matches("refused by the test helm").count(),
        1,
        "{stderr}"
    );
    assert!(!stdout.contains("dashboard:"), "not installed: {stdout}");

    // Two clusters, one of them a 2.x agent (no UI): each summary on its own lines.
    let output = world.join(&["edge", "lab"], &["--yes"]);
    assert_exit(&output, 0);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|line| line == "Cluster edge (agent, cluster id edge)"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("dashboard:").count(), 2, "{stdout}");
    let agent_2x = world.join(
        &["lab"],
        &["--chart-version", "2.8.7", "--yes", "--output", "json"],
    );
    assert_exit(&agent_2x, 0);
    let report = stdout_json(&agent_2x);
    assert_eq!(
        report["resources"]["clusters"][0]["ui"], false,
        "{report:#}"
    );
    let text = world.join(&["lab"], &["--chart-version", "2.8.7", "--yes"]);
    assert!(
        !String::from_utf8_lossy(&text.stdout).contains("dashboard:"),
        "{}",
        String::from_utf8_lossy(&text.stdout)
    );
}

/// Every object's `pending` fields, as (field, value) pairs, anywhere in the document.
fn pending_fields(value: &Value, found: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(object) => {
            for field in object
                .get("pending")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let field = field.as_str().expect("pending names fields");
                found.push((field.to_owned(), object[field].clone()));
            }
            object
                .values()
                .for_each(|inner| pending_fields(inner, found));
        }
        Value::Array(items) => items.iter().for_each(|inner| pending_fields(inner, found)),
        _ => {}
    }
}

/// A dry run of a new fleet cannot know the workspace's id, nor the names and ARNs built on it:
/// the JSON says so with null (a name with `{new workspace id}`) and `pending`, never a
/// placeholder a pipeline could take for a value.
#[test]
fn values_known_only_at_apply_are_null_and_pending() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let output = init(&world, &["--dry-run"]);
    let report = conforming(&validator, &output);
    let text = report.to_string();
    assert!(!text.contains("ws-(new)"), "{report:#}");
    let mut pending = Vec::new();
    pending_fields(&report, &mut pending);
    assert!(
        pending.iter().any(|(field, _)| field == "id"),
        "the roles' ARNs: {report:#}"
    );
    assert!(
        pending.iter().any(|(field, _)| field == "role_arn"),
        "{report:#}"
    );
    for (field, value) in &pending {
        match field.as_str() {
            "name" => assert!(
                value.as_str().unwrap().contains("{new workspace id}"),
                "{value}"
            ),
            _ => assert!(value.is_null(), "{field}: {value}"),
        }
    }
    // Applied: the plan is as it was made, and what was applied and made has every value.
    let applied = init(&world, &["--yes"]);
    let report = conforming(&validator, &applied);
    let mut pending = Vec::new();
    pending_fields(&report["applied"], &mut pending);
    pending_fields(&report["resources"], &mut pending);
    assert!(pending.is_empty(), "{pending:?}");
    assert!(
        report["resources"]["workspace"]["id"]
            .as_str()
            .unwrap()
            .starts_with("ws-")
    );
}

/// A new Kubecost 3 fleet makes no workspace: its id comes from its bucket's name, so its dry run
/// knows every name and ARN the apply will make, and nothing is pending.
#[test]
fn a_kubecost_3_fleets_dry_run_knows_every_value() {
    let validator = validator();
    let world = World::new(Moto::shared(), REGION, &["prod"]);
    let kubecost_3 = ["--chart-version", "3.2.1", "--identity", "irsa"];
    let dry = init(&world, &[&kubecost_3[..], &["--dry-run"]].concat());
    let dry = conforming(&validator, &dry);
    let mut pending = Vec::new();
    pending_fields(&dry, &mut pending);
    assert!(pending.is_empty(), "{pending:?}");
    let fleet_id = dry["resources"]["fleet_id"].as_str().unwrap().to_owned();
    assert!(fleet_id.starts_with("s3-"), "{dry:#}");
    assert!(dry["resources"].get("workspace").is_none(), "{dry:#}");
    // The apply makes what the dry run named.
    let applied = init(&world, &[&kubecost_3[..], &["--yes"]].concat());
    let applied = conforming(&validator, &applied);
    assert_eq!(applied["resources"], dry["resources"]);
}
