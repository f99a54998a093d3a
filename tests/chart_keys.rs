//! Every values key kcfed sets must be one the cost-analyzer chart knows, so a misspelt key fails the
//! build instead of being silently ignored by Helm. The chart's own values files are checked in under
//! tests/fixtures/kubecost/ (copies of chart 1.103.4, kcfed's default), so this runs on a clean clone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

mod support;

use support::helm::{chart_archive, skip_without_charts};

const CHART_VALUES: &str = "values.yaml.chart-v1.103.4";
const PROMETHEUS_SUBCHART_VALUES: &str = "prometheus-subchart-values.yaml.chart-v1.103.4";
const EKS_COST_MONITORING_VALUES: &str = "values-eks-cost-monitoring.yaml.chart-v1.103.4";

/// Keys kcfed's values files set that the chart's values files do not mention, not even in a
/// comment (checked against the chart's templates at tag v1.103.4). Each needs a reason; keep this
/// list short.
const UNDOCUMENTED_KEYS: &[(&str, &str)] = &[
    (
        "kubecostModel.federatedStorageConfigSecret",
        "read by templates/cost-analyzer-deployment-template.yaml: mounts the federated store secret",
    ),
    (
        "kubecostModel.utcOffset",
        "set by Kubecost's EKS values file; read by cost-analyzer-deployment-template.yaml (UTC_OFFSET)",
    ),
    (
        "kubecostModel.etlStoreDurationDays",
        "set by Kubecost's EKS values file, shipped unchanged; no 1.103.4 template reads it (inert)",
    ),
];

/// Keys kcfed's 2.x values files set that the 2.x chart's values.yaml does not mention.
const UNDOCUMENTED_KEYS_2X: &[(&str, &str)] = &[];

/// One of the chart's values files: its parsed values and its text, for keys shown only as comments.
struct ChartFile {
    name: String,
    values: Value,
    text: String,
}

impl ChartFile {
    fn load(name: &str) -> ChartFile {
        let text = std::fs::read_to_string(fixture(name))
            .unwrap_or_else(|err| panic!("read tests/fixtures/kubecost/{name}: {err}"));
        ChartFile::from_text(name.to_owned(), text)
    }

    fn from_text(name: String, text: String) -> ChartFile {
        let values = parse_yaml(&text, &name);
        ChartFile { name, values, text }
    }

    /// Whether the chart documents `path`:
    /// - it is in the values, or
    /// - it is below an empty map (`annotations: {}`, `extraArgs: {}`): a free-form map, any key
    ///   goes, or
    /// - the part of it the values lack is shown as commented keys (`# clusterName: ""`), below a
    ///   part that exists. Simplification: each commented key may be anywhere in the file, not
    ///   necessarily inside its parent's block; a misspelt key still fails because no comment
    ///   names it.
    fn documents(&self, path: &[String]) -> bool {
        let mut current = &self.values;
        for (depth, key) in path.iter().enumerate() {
            match current {
                Value::Object(map) if map.is_empty() && depth > 0 => return true,
                Value::Object(map) => match map.get(key) {
                    Some(value) => current = value,
                    None => return self.all_commented(&path[depth..]),
                },
                // `key:` with only comments below it parses as null.
                Value::Null => return self.all_commented(&path[depth..]),
                _ => return false,
            }
        }
        true
    }

    fn all_commented(&self, keys: &[String]) -> bool {
        keys.iter().all(|key| self.has_commented_key(key))
    }

    /// A line `#\s*KEY:` (after any indentation).
    fn has_commented_key(&self, key: &str) -> bool {
        self.text.lines().any(|line| {
            line.trim_start()
                .strip_prefix('#')
                .is_some_and(|rest| rest.trim_start().starts_with(&format!("{key}:")))
        })
    }
}

struct Chart {
    values: ChartFile,
    /// The values of the one sub-chart whose keys kcfed sets, and the key they sit under: the
    /// bundled Prometheus (1.x) or the FinOps agent (3.x).
    subchart: ChartFile,
    subchart_key: &'static str,
    undocumented: &'static [(&'static str, &'static str)],
}

impl Chart {
    fn load() -> Chart {
        Chart {
            values: ChartFile::load(CHART_VALUES),
            subchart: ChartFile::load(PROMETHEUS_SUBCHART_VALUES),
            subchart_key: "prometheus",
            undocumented: UNDOCUMENTED_KEYS,
        }
    }

    /// A 2.x or 3.x chart's own values.yaml, from its archive in the shared reference data; 2.x
    /// has no Prometheus sub-chart (its keys are in values.yaml), 2.9 and 3.x the FinOps agent's
    /// (`finopsagent`).
    fn from_archive(version: &str) -> Chart {
        let file = |member: &str| {
            let output = Command::new("tar")
                .arg("-xzOf")
                .arg(chart_archive(version))
                .arg(member)
                .output()
                .expect("run tar");
            assert!(output.status.success(), "no {member} in chart {version}");
            String::from_utf8(output.stdout).expect("UTF-8")
        };
        if version.starts_with("3.") {
            return Chart {
                values: ChartFile::from_text(
                    format!("values.yaml of chart kubecost {version}"),
                    file("kubecost/values.yaml"),
                ),
                subchart: ChartFile::from_text(
                    format!("values.yaml of the FinOps agent in chart {version}"),
                    file("kubecost/charts/finops-agent/values.yaml"),
                ),
                subchart_key: "finopsagent",
                undocumented: &[],
            };
        }
        let (subchart, subchart_key) = if version.starts_with("2.9.") {
            (
                ChartFile::from_text(
                    format!("values.yaml of the FinOps agent in chart {version}"),
                    file("cost-analyzer/charts/finops-agent/values.yaml"),
                ),
                "finopsagent",
            )
        } else {
            (
                ChartFile::from_text("none".to_owned(), "{}".to_owned()),
                "prometheus",
            )
        };
        Chart {
            values: ChartFile::from_text(
                format!("values.yaml of chart {version}"),
                file("cost-analyzer/values.yaml"),
            ),
            subchart,
            subchart_key,
            undocumented: UNDOCUMENTED_KEYS_2X,
        }
    }

    /// A key under the sub-chart's key may instead be one of the sub-chart's values.
    fn documents(&self, path: &[String]) -> bool {
        self.values.documents(path)
            || (path.len() > 1
                && path[0] == self.subchart_key
                && self.subchart.documents(&path[1..]))
    }

    fn knows(&self, path: &[String]) -> bool {
        let dotted = path.join(".");
        self.undocumented.iter().any(|(key, _)| *key == dotted) || self.documents(path)
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kubecost")
        .join(name)
}

fn parse_yaml(text: &str, name: &str) -> Value {
    kcfed::render::parse_yaml(text).unwrap_or_else(|err| panic!("{name} is not YAML: {err}"))
}

/// Every path from the root to a leaf: a scalar, a list or an empty map. Lists are not descended
/// into: their items are data, not keys.
fn leaf_paths(value: &Value) -> Vec<Vec<String>> {
    fn walk(value: &Value, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    prefix.push(key.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => out.push(prefix.clone()),
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

/// The helm values files `kcfed render` writes for every kind of cluster of one chart version:
/// (label, name, content).
fn rendered_values_files(chart_version: &str) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for role in ["primary", "agent"] {
        // Kubecost 3 and 2.9 have no quick-start: their FinOps agent writes to the bucket.
        let quick_starts: &[bool] =
            if chart_version.starts_with("3.") || chart_version.starts_with("2.9.") {
                &[false]
            } else {
                &[false, true]
            };
        for &quick_start in quick_starts {
            let label = format!("{role}{}", if quick_start { " quick-start" } else { "" });
            let out = dir.path().join(label.replace(' ', "-"));
            let out_arg = out.display().to_string();
            let mut args = vec![
                "render",
                "--role",
                role,
                "--cluster",
                "prod",
                "--region",
                "eu-west-1",
                "--workspace-region",
                "us-east-1",
                "--account-id",
                "111122223333",
                "--workspace-id",
                "ws-12345678-abcd-1234-abcd-123456789012",
                "--out",
                &out_arg,
                "--output",
                "json",
                "--storage-class",
                "gp3",
                "--chart-version",
                chart_version,
            ];
            if quick_start {
                args.push("--quick-start");
            } else if role == "agent" {
                // An agent names the fleet's bucket.
                args.extend(["--bucket", "kcfed-111122223333-us-east-1-kubecost-etl"]);
            }
            let output = Command::new(env!("CARGO_BIN_EXE_kcfed"))
                .args(&args)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .output()
                .expect("run kcfed render");
            assert!(
                output.status.success(),
                "kcfed render {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
            for file in report["files"].as_array().expect("files") {
                if file["purpose"] != "helm values" {
                    continue;
                }
                let path = Path::new(file["path"].as_str().expect("a path"));
                let content = std::fs::read_to_string(path).expect("read a values file");
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                files.push((label.clone(), name, content));
            }
        }
    }
    files
}

/// The keys of these values files the chart does not know, each with the files that set it.
fn unknown_keys(
    chart: &Chart,
    files: &[(String, String, String)],
) -> BTreeMap<String, Vec<String>> {
    let mut unknown: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (label, name, content) in files {
        for path in leaf_paths(&parse_yaml(content, name)) {
            if !chart.knows(&path) {
                unknown
                    .entry(path.join("."))
                    .or_default()
                    .push(format!("{name} ({label})"));
            }
        }
    }
    unknown
}

/// The unknown keys, a line each with the files that set it.
fn listed(unknown: &BTreeMap<String, Vec<String>>) -> String {
    unknown
        .iter()
        .map(|(key, files)| format!("  {key}  (set by {})", files.join(", ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_key_kcfed_sets_is_a_chart_key() {
    let chart = Chart::load();
    let files = rendered_values_files("1.103.4");
    let names: Vec<&str> = files.iter().map(|(_, name, _)| name.as_str()).collect();
    for expected in [
        "1-eks-cost-monitoring.yaml",
        "2-amp.yaml",
        "3-primary-federator.yaml",
        "3-agent-federated.yaml",
        "4-overrides.yaml",
    ] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    // The allowlist stays minimal: each entry is set by kcfed and really missing from the chart.
    let set: Vec<String> = files
        .iter()
        .flat_map(|(_, name, content)| leaf_paths(&parse_yaml(content, name)))
        .map(|path| path.join("."))
        .collect();
    for (key, _) in UNDOCUMENTED_KEYS {
        assert!(
            set.iter().any(|k| k == key),
            "{key} is no longer set by kcfed: drop it from UNDOCUMENTED_KEYS"
        );
        let path: Vec<String> = key.split('.').map(str::to_owned).collect();
        assert!(
            !chart.documents(&path),
            "the chart documents {key}: drop it from UNDOCUMENTED_KEYS"
        );
    }

    let unknown = unknown_keys(&chart, &files);
    assert!(
        unknown.is_empty(),
        "keys the cost-analyzer chart ({} / {}) does not know; misspelt? If the chart's templates \
         read a key its values.yaml does not mention, add it to UNDOCUMENTED_KEYS with the reason:\n{}",
        chart.values.name,
        chart.subchart.name,
        listed(&unknown)
    );
}

/// The same for the 2.x line, against each 2.x chart kcfed's tests install, 2.9 (with its FinOps
/// agent's sub-chart) too: a key the 2.x chart retired (1.x's `federator`, say) fails here.
#[test]
fn every_key_kcfed_sets_on_2x_is_a_chart_key() {
    if skip_without_charts() {
        return;
    }
    for version in ["2.4.2", "2.8.7", "2.9.7"] {
        let chart = Chart::from_archive(version);
        let files = rendered_values_files(version);
        let names: Vec<&str> = files.iter().map(|(_, name, _)| name.as_str()).collect();
        for expected in ["3-primary-aggregator.yaml", "3-agent.yaml"] {
            assert!(
                names.contains(&expected),
                "{version}: {expected} in {names:?}"
            );
        }
        let unknown = unknown_keys(&chart, &files);
        assert!(
            unknown.is_empty(),
            "keys chart {version} does not know:\n{}",
            listed(&unknown)
        );
    }
    // The check can fail: 1.x's federator is no 2.x key.
    let retired = [(
        "self-test".to_owned(),
        "retired.yaml".to_owned(),
        "federatedETL:\n  federator:\n    enabled: true\n".to_owned(),
    )];
    assert!(!unknown_keys(&Chart::from_archive("2.8.7"), &retired).is_empty());
}

/// The same for Kubecost 3, against the 3.2.1 chart and its FinOps agent's sub-chart: a 2.x key
/// (which 3.x refuses) fails here.
#[test]
fn every_key_kcfed_sets_on_3x_is_a_chart_key() {
    if skip_without_charts() {
        return;
    }
    let chart = Chart::from_archive("3.2.1");
    let files = rendered_values_files("3.2.1");
    let names: Vec<&str> = files.iter().map(|(_, name, _)| name.as_str()).collect();
    for expected in ["3-primary.yaml", "3-agent.yaml", "4-overrides.yaml"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let unknown = unknown_keys(&chart, &files);
    assert!(
        unknown.is_empty(),
        "keys chart 3.2.1 does not know:\n{}",
        listed(&unknown)
    );
    let retired = [(
        "self-test".to_owned(),
        "retired.yaml".to_owned(),
        "kubecostAggregator:\n  deployMethod: statefulset\nfinopsagent:\n  misspelt: 1\n"
            .to_owned(),
    )];
    assert_eq!(unknown_keys(&chart, &retired).len(), 2);
}

/// kcfed's 2.x EKS file holds exactly the settings the 2.4.2 and 2.8.7 charts' own EKS files
/// share; what it leaves out is named.
#[test]
fn shipped_2x_eks_values_are_the_settings_both_charts_share() {
    if skip_without_charts() {
        return;
    }
    let template = "templates/values-eks-cost-monitoring-2.x.yaml";
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(template))
        .expect("read the shipped 2.x EKS values");
    let shipped = parse_yaml(&shipped, template);
    let left_out = |path: &[String]| {
        path.first().is_some_and(|key| key == "forecasting")
            || path.join(".") == "networkCosts.image.tag"
    };
    for version in ["2.4.2", "2.8.7"] {
        let output = Command::new("tar")
            .arg("-xzOf")
            .arg(chart_archive(version))
            .arg("cost-analyzer/values-eks-cost-monitoring.yaml")
            .output()
            .expect("run tar");
        let theirs = parse_yaml(&String::from_utf8(output.stdout).unwrap(), version);
        let theirs_paths: Vec<Vec<String>> = leaf_paths(&theirs)
            .into_iter()
            .filter(|path| !left_out(path))
            .collect();
        let ours_paths = leaf_paths(&shipped);
        assert_eq!(ours_paths.len(), theirs_paths.len(), "{version}");
        for path in theirs_paths {
            let value = |root: &Value| path.iter().fold(root.clone(), |v, key| v[key].clone());
            assert_eq!(
                value(&shipped),
                value(&theirs),
                "{version}: {}",
                path.join(".")
            );
        }
    }
}

#[test]
fn misspelt_keys_are_reported() {
    let chart = Chart::load();
    let files = [(
        "self-test".to_owned(),
        "misspelt.yaml".to_owned(),
        "global:\n  amp:\n    remoteWriteServise: https://example.com\n    enabled: true\n\
         prometheus:\n  server:\n    globl:\n      scrape_interval: 1m\n\
         kubecostProductConfigs:\n  clusterNmae: prod\n"
            .to_owned(),
    )];
    let unknown = unknown_keys(&chart, &files);
    assert_eq!(
        unknown.keys().collect::<Vec<_>>(),
        [
            "global.amp.remoteWriteServise",
            "kubecostProductConfigs.clusterNmae",
            "prometheus.server.globl.scrape_interval",
        ]
    );
}

#[test]
fn the_rules_accept_what_the_chart_documents() {
    let chart = Chart::load();
    let path = |dotted: &str| -> Vec<String> { dotted.split('.').map(str::to_owned).collect() };
    // In values.yaml.
    assert!(chart.knows(&path("federatedETL.federator.enabled")));
    // Only in the Prometheus sub-chart's values.
    assert!(chart.knows(&path("prometheus.serviceAccounts.server.name")));
    // Commented in values.yaml, under a block that is itself commented out.
    assert!(chart.knows(&path("kubecostProductConfigs.clusterName")));
    // Below a free-form map.
    assert!(chart.knows(&path(
        "serviceAccount.annotations.eks.amazonaws.com/role-arn"
    )));
    // The sub-chart fallback is only for keys under `prometheus.`.
    assert!(!chart.knows(&path("serviceAccounts.server.name")));
}

/// kcfed ships the EKS values file the walkthrough downloads, without its comments: the same
/// settings, or installs would differ from the walkthrough's.
#[test]
fn shipped_eks_values_equal_the_charts() {
    let template = "templates/values-eks-cost-monitoring.yaml";
    let shipped = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(template))
        .expect("read the shipped EKS values");
    let reference = std::fs::read_to_string(fixture(EKS_COST_MONITORING_VALUES))
        .expect("read the chart's EKS values");
    assert_eq!(
        parse_yaml(&shipped, template),
        parse_yaml(&reference, EKS_COST_MONITORING_VALUES)
    );
}
