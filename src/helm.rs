//! Finds helm, builds the `upgrade --install` and `uninstall` invocations, and runs them.
//!
//! Every invocation uses only flags that helm 3 (3.8 and newer) and helm 4 both accept, so one
//! command line serves both majors: helm 4 removed `list --all`, and its `--wait` takes an
//! optional strategy that defaults to the same wait as helm 3's.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::{Error, HelmCall};
use crate::render::ValuesFile;

/// The oldest helm kcfed runs: 3.8 made OCI charts generally available.
const OLDEST_HELM: HelmVersion = HelmVersion {
    major: 3,
    minor: 8,
    patch: 0,
};

/// The release states `helm list` shows when given every state flag: all of them. Helm 3 lists
/// only deployed and failed releases by default and helm 4 all of them; both accept these flags.
const EVERY_RELEASE_STATE: [&str; 6] = [
    "--deployed",
    "--failed",
    "--pending",
    "--superseded",
    "--uninstalled",
    "--uninstalling",
];

/// One release of the cost-analyzer chart on one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// Where the chart comes from: an OCI reference, `REPO/NAME`, or a packaged chart's path.
    pub chart: String,
    pub chart_version: String,
    pub kube_context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    /// `kubeconfig` is kcfed's private one, reaching the cluster with AWS credentials alone.
    pub direct: bool,
    pub timeout_secs: u64,
}

impl Release {
    /// How the cluster is reached, for the plan: `on context NAME`, or directly.
    pub fn reached_how(&self) -> String {
        if self.direct {
            "reached directly (endpoint and CA from EKS, a token from AWS credentials)".to_owned()
        } else {
            format!(
                "on context {}",
                self.kube_context.as_deref().unwrap_or_default()
            )
        }
    }

    fn connection_args(&self) -> Vec<String> {
        let mut args = vec!["--namespace".to_owned(), self.namespace.clone()];
        if let Some(context) = &self.kube_context {
            args.extend(["--kube-context".to_owned(), context.clone()]);
        }
        if let Some(kubeconfig) = &self.kubeconfig {
            args.extend(["--kubeconfig".to_owned(), kubeconfig.display().to_string()]);
        }
        args
    }

    /// `helm upgrade --install` with the values files in the order given (later files win).
    pub fn upgrade_args(&self, values_files: &[PathBuf]) -> Vec<String> {
        let mut args = vec![
            "upgrade".to_owned(),
            "--install".to_owned(),
            self.name.clone(),
            self.chart.clone(),
            "--version".to_owned(),
            self.chart_version.clone(),
        ];
        args.extend(self.connection_args());
        for file in values_files {
            args.extend(["-f".to_owned(), file.display().to_string()]);
        }
        args.extend(self.wait_args());
        args
    }

    /// `helm list` of this release in any state, as JSON.
    fn list_args(&self) -> Vec<String> {
        let mut args = vec!["list".to_owned()];
        args.extend(EVERY_RELEASE_STATE.map(str::to_owned));
        args.extend([
            "--filter".to_owned(),
            format!("^{}$", self.name),
            "--output".to_owned(),
            "json".to_owned(),
        ]);
        args.extend(self.connection_args());
        args
    }

    fn uninstall_args(&self) -> Vec<String> {
        let mut args = vec!["uninstall".to_owned(), self.name.clone()];
        args.extend(self.connection_args());
        args.extend(self.wait_args());
        args
    }

    fn wait_args(&self) -> [String; 3] {
        [
            "--wait".to_owned(),
            "--timeout".to_owned(),
            format!("{}s", self.timeout_secs),
        ]
    }
}

/// A release as helm reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Installed {
    pub status: String,
    pub deployed: bool,
    pub chart_version: String,
    /// The user-supplied values (all `-f` files merged), as `helm get values` prints them.
    pub values: serde_json::Value,
}

impl Installed {
    /// The `cluster_id` the release's Prometheus labels its metrics with, as kcfed set it.
    pub fn cluster_id(&self) -> Option<String> {
        self.values
            .pointer("/prometheus/server/global/external_labels/cluster_id")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }
}

/// A release's state and chart version as `helm list` reports them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Listed {
    /// `deployed`, `failed`, `pending-install`, ...
    pub status: String,
    pub chart_version: String,
}

/// The release's entry in `helm list`, or `None`; one read-only helm call.
pub async fn listed(helm: &Path, release: &Release) -> Result<Option<Listed>, Error> {
    let listed: serde_json::Value = parse_json(
        HelmCall::List,
        &output(helm, HelmCall::List, &release.list_args(), release).await?,
    )?;
    let Some(entry) = listed
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["name"] == release.name.as_str()))
    else {
        return Ok(None);
    };
    Ok(Some(Listed {
        status: entry["status"].as_str().unwrap_or_default().to_owned(),
        chart_version: entry["chart"]
            .as_str()
            .and_then(|chart| chart.rsplit_once('-'))
            .map(|(_, version)| version.to_owned())
            .unwrap_or_default(),
    }))
}

/// What a caller knows of a release's `helm list` entry before reading the rest of it.
#[derive(Debug, Clone)]
pub enum Listing {
    Unread,
    /// Read already: the entry, or `None` for no release.
    Read(Option<Listed>),
}

/// The release as installed, or `None`; two read-only helm calls, one when `listing` was read.
pub async fn installed(
    helm: &Path,
    release: &Release,
    listing: Listing,
) -> Result<Option<Installed>, Error> {
    let listed = match listing {
        Listing::Read(listed) => listed,
        Listing::Unread => listed(helm, release).await?,
    };
    let Some(Listed {
        status,
        chart_version,
    }) = listed
    else {
        return Ok(None);
    };
    let mut values_args = vec![
        "get".to_owned(),
        "values".to_owned(),
        release.name.clone(),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    values_args.extend(release.connection_args());
    let values = parse_json(
        HelmCall::GetValues,
        &output(helm, HelmCall::GetValues, &values_args, release).await?,
    )?;
    Ok(Some(Installed {
        deployed: status == "deployed",
        status,
        chart_version,
        values: if values.is_null() {
            serde_json::json!({})
        } else {
            values
        },
    }))
}

fn parse_json(call: HelmCall, text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|err| Error::Helm {
        call,
        message: format!("unexpected output ({err})"),
    })
}

/// Installs or upgrades the release with the values files, written for the call only: private
/// to the user (0600, in a 0700 folder) and removed afterwards.
pub async fn upgrade(helm: &Path, release: &Release, values: &[ValuesFile]) -> Result<(), Error> {
    let dir = crate::private::folder("kcfed-values-")?;
    let mut paths = Vec::new();
    for file in values {
        paths.push(crate::private::write(
            dir.path().join(&file.name),
            file.content.as_bytes(),
        )?);
    }
    output(
        helm,
        HelmCall::Upgrade,
        &release.upgrade_args(&paths),
        release,
    )
    .await
    .map(drop)
}

/// Uninstalls the release and waits until its resources are gone.
pub async fn uninstall(helm: &Path, release: &Release) -> Result<(), Error> {
    output(
        helm,
        HelmCall::Uninstall,
        &release.uninstall_args(),
        release,
    )
    .await
    .map(drop)
}

/// The command line as a user would type it, for `render` and for logs.
pub fn shell_line(program: &str, args: &[String]) -> String {
    std::iter::once(program)
        .chain(args.iter().map(String::as_str))
        .map(shell_quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A helm release number, as `helm version` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct HelmVersion {
    major: u32,
    minor: u32,
    patch: u32,
}

impl HelmVersion {
    /// Reads `v3.17.1+g980d8ac` (`helm version --short`), `v4.1.4`, or helm 2's
    /// `Client: v2.17.0+ga690bad`.
    fn parse(text: &str) -> Option<HelmVersion> {
        let number = text.split_whitespace().last()?.strip_prefix('v')?;
        let number = number.split(['+', '-']).next()?;
        let mut parts = number.split('.').map(|part| part.parse::<u32>().ok());
        let version = HelmVersion {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(version)
    }
}

/// Checks, before anything is changed, that helm runs and is a version kcfed supports.
pub async fn ensure_supported(helm: &Path) -> Result<(), Error> {
    let version_args = ["version".to_owned(), "--short".to_owned()];
    let reported = match output(helm, HelmCall::Version, &version_args, None).await {
        Err(Error::Helm { message, .. }) => message,
        reported => reported?,
    };
    match HelmVersion::parse(&reported) {
        Some(version) if version >= OLDEST_HELM => Ok(()),
        version => Err(Error::HelmUnsupported {
            path: helm.to_owned(),
            reported: reported.trim().to_owned(),
            too_old: version.is_some(),
        }),
    }
}

/// Runs helm, keeping its output off stdout (which belongs to kcfed's report); on failure the
/// error names the call and carries helm's own message.
async fn output(
    helm: &Path,
    call: HelmCall,
    args: &[String],
    release: impl Into<Option<&Release>>,
) -> Result<String, Error> {
    let mut command = tokio::process::Command::new(helm);
    // For a cluster reached directly, helm's discovery cache stays in the run's private folder
    // beside its kubeconfig, not in HOME.
    if let Some(Release {
        direct: true,
        kubeconfig: Some(kubeconfig),
        ..
    }) = release.into()
    {
        command.env(
            "KUBECACHEDIR",
            crate::private::folder_of(kubeconfig).join("kube-cache"),
        );
    }
    let output = command
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|_| Error::HelmMissing {
            path: helm.to_owned(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    tracing::debug!(%stdout, "helm {call}");
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(Error::Helm {
            call,
            message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release {
            name: "kubecost".into(),
            namespace: "kubecost".into(),
            chart: crate::chart::CHART_REF.into(),
            chart_version: "1.103.4".into(),
            kube_context: Some("arn:aws:eks:us-east-1:111122223333:cluster/prod".into()),
            kubeconfig: None,
            direct: false,
            timeout_secs: 600,
        }
    }

    #[test]
    fn upgrade_keeps_values_order_and_targets_the_context() {
        let args = release().upgrade_args(&["a.yaml".into(), "b.yaml".into()]);
        let line = shell_line("helm", &args);
        assert_eq!(
            line,
            "helm upgrade --install kubecost oci://public.ecr.aws/kubecost/cost-analyzer --version 1.103.4 \
             --namespace kubecost --kube-context arn:aws:eks:us-east-1:111122223333:cluster/prod \
             -f a.yaml -f b.yaml --wait --timeout 600s"
        );
    }

    #[test]
    fn list_shows_every_state_with_flags_both_majors_accept() {
        let line = shell_line("helm", &release().list_args());
        assert_eq!(
            line,
            "helm list --deployed --failed --pending --superseded --uninstalled --uninstalling \
             --filter '^kubecost$' --output json --namespace kubecost \
             --kube-context arn:aws:eks:us-east-1:111122223333:cluster/prod"
        );
    }

    #[test]
    fn helm_versions_are_read_from_the_short_form() {
        let version = |major, minor, patch| HelmVersion {
            major,
            minor,
            patch,
        };
        assert_eq!(
            HelmVersion::parse("v3.17.1+g980d8ac\n"),
            Some(version(3, 17, 1))
        );
        assert_eq!(
            HelmVersion::parse("v4.1.4+g05fa379"),
            Some(version(4, 1, 4))
        );
        assert_eq!(HelmVersion::parse("v4.0.0-rc.1"), Some(version(4, 0, 0)));
        assert_eq!(HelmVersion::parse("3.8.0"), None);
        assert_eq!(HelmVersion::parse("v3.8"), None);
        assert_eq!(
            HelmVersion::parse("Client: v2.17.0+ga690bad"),
            Some(version(2, 17, 0))
        );
        assert_eq!(
            HelmVersion::parse("version.BuildInfo{Version:\"v3.17.1\"}"),
            None
        );
        assert!(version(3, 7, 2) < OLDEST_HELM);
        assert!(version(3, 8, 0) >= OLDEST_HELM);
        assert!(version(4, 0, 0) >= OLDEST_HELM);
    }

    #[test]
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
    }
}
