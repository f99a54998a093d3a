//! Checks of a finished kcfed run: its exit code, its JSON report, its stderr.

use std::process::Output;

use serde_json::Value;

pub fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|err| {
        panic!(
            "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The schemas kcfed's JSON documents follow (docs/schema/).
pub const REPORT_SCHEMA: &str = include_str!("../../docs/schema/report-v1.schema.json");
pub const STATUS_SCHEMA: &str = include_str!("../../docs/schema/status-v1.schema.json");

/// Fails with every violation when `document` does not follow `schema` (a valid JSON Schema).
pub fn assert_conforms(document: &Value, schema: &str) {
    let schema: Value = serde_json::from_str(schema).expect("the schema is JSON");
    jsonschema::meta::validate(&schema).expect("the schema is valid JSON Schema");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
}

/// The report's plan step of `kind` (in `scope`, when given).
pub fn plan_step<'a>(report: &'a Value, kind: &str, scope: Option<&str>) -> &'a Value {
    report["plan"]["steps"]
        .as_array()
        .expect("the report has steps")
        .iter()
        .find(|step| step["kind"] == kind && scope.is_none_or(|scope| step["scope"] == scope))
        .unwrap_or_else(|| panic!("no {kind} step in {scope:?}: {report:#}"))
}

/// IAM documents come back URL-encoded.
pub fn decode(document: &str) -> Value {
    let decoded = percent_encoding::percent_decode_str(document)
        .decode_utf8()
        .expect("utf-8");
    serde_json::from_str(&decoded).expect("a JSON document")
}
