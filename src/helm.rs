//! Finds helm, builds the `upgrade --install` and `uninstall` invocations, and runs them.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::error::Error;
use crate::names::CHART_REF;

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

/// Checks that helm runs before anything is changed, and returns its version line.
pub async fn ensure_available(helm: &Path) -> Result<String, Error> {
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
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs helm, keeping its output off stdout (which belongs to kcfed's report); on failure the
/// error carries helm's own message.
pub async fn run(helm: &Path, args: &[String]) -> Result<(), Error> {
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
    tracing::debug!(stdout = %String::from_utf8_lossy(&output.stdout), "helm {action}");
    if output.status.success() {
        Ok(())
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
