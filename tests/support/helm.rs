//! helm for tests: the real binaries of both majors (for `helm template` and for real installs), the
//! real cost-analyzer chart archives, the values-echo fixture chart (it renders only the values it is
//! given), and a recording stand-in to pass to kcfed as `--helm`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

/// The real helm 4 that `scripts/test` installs.
pub fn helm_binary() -> PathBuf {
    std::env::var_os("KCFED_TEST_HELM")
        .expect(
            "KCFED_TEST_HELM is not set: run the tests through scripts/test, which installs helm",
        )
        .into()
}

/// The real helm 3 that `scripts/test` installs beside helm 4.
pub fn helm3_binary() -> PathBuf {
    std::env::var_os("KCFED_TEST_HELM3")
        .expect(
            "KCFED_TEST_HELM3 is not set: run the tests through scripts/test, which installs helm 3",
        )
        .into()
}

/// The folder of the real cost-analyzer chart archives: KCFED_TEST_CHARTS, else the shared
/// reference data beside the repository (see its README).
fn charts_dir() -> PathBuf {
    std::env::var_os("KCFED_TEST_CHARTS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/charts"),
        PathBuf::from,
    )
}

/// Whether a test that renders or installs the real charts must stop here: on a clone without
/// the charts it is skipped (scripts/test says so loudly); with KCFED_REQUIRE_CHARTS set, as
/// .ci/run sets it, missing charts fail it.
pub fn skip_without_charts() -> bool {
    let dir = charts_dir();
    if dir.is_dir() {
        return false;
    }
    assert!(
        std::env::var_os("KCFED_REQUIRE_CHARTS").is_none(),
        "the real charts are required but {} is missing",
        dir.display()
    );
    eprintln!("SKIPPED: no real charts at {}", dir.display());
    true
}

/// The packaged cost-analyzer chart of `version`.
pub fn chart_archive(version: &str) -> PathBuf {
    // From 3.0 on the chart is named `kubecost`.
    let name = if version.starts_with("3.") {
        "kubecost"
    } else {
        "cost-analyzer"
    };
    let path = charts_dir().join(format!("{name}-{version}.tgz"));
    assert!(path.is_file(), "no chart archive at {}", path.display());
    path
}

/// The arguments of a kcfed command `args` that installs the real chart of `version` with
/// `helm`, applied without asking and reported as JSON.
pub fn with_real_chart(args: &[&str], helm: &Path, version: &str) -> Vec<String> {
    let chart = chart_archive(version);
    let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    all.extend(["--helm".to_owned(), helm.display().to_string()]);
    all.extend(["--chart".to_owned(), chart.display().to_string()]);
    all.extend(["--chart-version".to_owned(), version.to_owned()]);
    all.extend(["--yes", "--output", "json"].map(str::to_owned));
    all
}

/// A chart named like Kubecost's `cost-analyzer` whose only resource carries the merged values.
pub fn values_echo_chart() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/values-echo")
}

/// The values helm merges for `helm template RELEASE CHART ARGS...` on a chart like values-echo.
pub fn template_values(chart: &Path, args: &[String]) -> Value {
    let output = Command::new(helm_binary())
        .arg("template")
        .arg("kcfed-test")
        .arg(chart)
        .args(args)
        .output()
        .expect("run helm template");
    assert!(
        output.status.success(),
        "helm template {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest: Value =
        serde_saphyr::from_slice(&output.stdout).expect("helm template prints YAML");
    let values = manifest["data"]["values.json"]
        .as_str()
        .expect("the chart renders a ConfigMap with values.json");
    serde_json::from_str(values).expect("values.json is JSON")
}

/// Writes `dir/helm`, a stand-in for helm that records its calls in `dir` (see
/// tests/fixtures/recording-helm.py): `upgrade` renders values-echo with the real helm, `version` answers,
/// anything else just succeeds.
pub fn recording_helm(dir: &Path) -> RecordingHelm {
    let config = json!({ "helm": helm_binary(), "chart": values_echo_chart() });
    fs::write(dir.join("recording-helm.json"), config.to_string())
        .expect("write recording-helm.json");
    let path = dir.join("helm");
    fs::write(&path, include_str!("../fixtures/recording-helm.py"))
        .expect("write the recording helm");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
        .expect("make the recording helm executable");
    RecordingHelm {
        path,
        dir: dir.to_owned(),
    }
}

pub struct RecordingHelm {
    /// The executable to pass as `--helm`.
    pub path: PathBuf,
    dir: PathBuf,
}

impl RecordingHelm {
    /// The arguments of every call so far, in order.
    pub fn calls(&self) -> Vec<Vec<String>> {
        match fs::read_to_string(self.dir.join("helm-calls.jsonl")) {
            Ok(calls) => calls
                .lines()
                .map(|line| serde_json::from_str(line).expect("a call is a JSON array"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The releases it holds (installed by `upgrade`, removed by `uninstall`) by
    /// `KUBE-CONTEXT/NAME`, each as `helm list --output json` prints it, with its values added.
    pub fn releases(&self) -> serde_json::Map<String, Value> {
        match fs::read_to_string(self.dir.join("releases.json")) {
            Ok(releases) => {
                serde_json::from_str(&releases).expect("releases.json is a JSON object")
            }
            Err(_) => serde_json::Map::new(),
        }
    }

    /// The merged values of each `upgrade` whose values rendered, in call order.
    pub fn merged_values(&self) -> Vec<Value> {
        let upgrades = self
            .calls()
            .iter()
            .filter(|call| call.first().is_some_and(|command| command == "upgrade"))
            .count();
        (0..upgrades)
            .filter_map(|n| {
                fs::read_to_string(self.dir.join(format!("merged-values-{n}.json"))).ok()
            })
            .map(|values| serde_json::from_str(&values).expect("merged values are JSON"))
            .collect()
    }

    /// Each `-f` file of every `upgrade` as helm saw it: `upgrade` (its index), `path`, `mode` (the
    /// file's permission bits), `dir` and `dir_mode` (its folder's).
    pub fn values_files_seen(&self) -> Vec<Value> {
        match fs::read_to_string(self.dir.join("values-files.jsonl")) {
            Ok(seen) => seen
                .lines()
                .map(|line| serde_json::from_str(line).expect("a seen values file is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The content of each `-f` file of the `upgrade`-th upgrade (from 0), in the order given.
    pub fn copied_values_files(&self, upgrade: usize) -> Vec<String> {
        (0..)
            .map_while(|n| {
                fs::read_to_string(self.dir.join(format!("values-{upgrade}-{n}.yaml"))).ok()
            })
            .collect()
    }
}
