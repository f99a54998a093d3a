//! Finds helm, builds the `upgrade --install` and `uninstall` invocations, and runs them.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::Error;
use crate::names::CHART_REF;
use crate::render::ValuesFile;

/// One release of the cost-analyzer chart on one cluster.
#[derive(Debug, Clone)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub chart_version: String,
    pub kube_context: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub timeout_secs: u64,
}

impl Release {
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
            CHART_REF.to_owned(),
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

    pub fn uninstall_args(&self) -> Vec<String> {
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

/// The release as installed, or `None`; two read-only helm calls.
pub async fn installed(helm: &Path, release: &Release) -> Result<Option<Installed>, Error> {
    let mut list_args = vec![
        "list".to_owned(),
        "--all".to_owned(),
        "--filter".to_owned(),
        format!("^{}$", release.name),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    list_args.extend(release.connection_args());
    let listed: serde_json::Value = parse_json("list", &output(helm, &list_args).await?)?;
    let Some(entry) = listed
        .as_array()
        .and_then(|entries| entries.iter().find(|e| e["name"] == release.name.as_str()))
    else {
        return Ok(None);
    };
    let status = entry["status"].as_str().unwrap_or_default().to_owned();
    let chart_version = entry["chart"]
        .as_str()
        .and_then(|chart| chart.rsplit_once('-'))
        .map(|(_, version)| version.to_owned())
        .unwrap_or_default();
    let mut values_args = vec![
        "get".to_owned(),
        "values".to_owned(),
        release.name.clone(),
        "--output".to_owned(),
        "json".to_owned(),
    ];
    values_args.extend(release.connection_args());
    let values = parse_json("get values", &output(helm, &values_args).await?)?;
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

fn parse_json(action: &str, text: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_str(text).map_err(|err| Error::Helm {
        action: action.to_owned(),
        message: format!("unexpected output ({err})"),
    })
}

/// Installs or upgrades the release with the values files, written for the call only: private
/// to the user (0600, in a 0700 folder) and removed afterwards.
pub async fn upgrade(helm: &Path, release: &Release, values: &[ValuesFile]) -> Result<(), Error> {
    let mut builder = tempfile::Builder::new();
    builder.prefix("kcfed-values-");
    // Left to the umask, the folder would be listable by everyone.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    let dir = builder.tempdir().map_err(|source| Error::Io {
        path: std::env::temp_dir(),
        source,
    })?;
    let mut paths = Vec::new();
    for file in values {
        let path = dir.path().join(&file.name);
        write_private(&path, &file.content).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        paths.push(path);
    }
    run(helm, &release.upgrade_args(&paths)).await
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
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

/// Checks that helm runs before anything is changed.
pub async fn ensure_available(helm: &Path) -> Result<(), Error> {
    let output = tokio::process::Command::new(helm)
        .args(["version", "--short"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|_| Error::HelmMissing {
            path: helm.to_owned(),
        })?;
    if !output.status.success() {
        return Err(Error::HelmMissing {
            path: helm.to_owned(),
        });
    }
    Ok(())
}

/// Runs helm, keeping its output off stdout (which belongs to kcfed's report); on failure the
/// error carries helm's own message.
pub async fn run(helm: &Path, args: &[String]) -> Result<(), Error> {
    output(helm, args).await.map(drop)
}

async fn output(helm: &Path, args: &[String]) -> Result<String, Error> {
    let action = args.first().cloned().unwrap_or_default();
    let output = tokio::process::Command::new(helm)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|_| Error::HelmMissing {
            path: helm.to_owned(),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    tracing::debug!(%stdout, "helm {action}");
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(Error::Helm {
            action,
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
            chart_version: "1.103.4".into(),
            kube_context: Some("arn:aws:eks:us-east-1:111122223333:cluster/prod".into()),
            kubeconfig: None,
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
    fn shell_quoting_survives_spaces_and_quotes() {
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
        assert_eq!(shell_quote(""), "''");
    }
}
