//! The report a run ends with (the document `--output json` prints, and its text form) and the
//! exit code it stands for.

use serde::Serialize;

use super::options::OutputFormat;
use crate::error::{Error, exit};
use crate::plan::{Plan, Step};

/// The version of the JSON documents `--output json` prints, their first field; docs/pipelines.md
/// says when it changes, docs/schema/ describes it.
pub const REPORT_SCHEMA: &str = "kcfed.report/v1";

/// The document `--output json` prints, and the text report's source.
#[derive(Debug, Serialize)]
pub struct Report<R> {
    pub schema: &'static str,
    pub command: &'static str,
    pub dry_run: bool,
    /// Whether anything was (or, in a dry run, would be) changed.
    pub changed: bool,
    pub plan: Plan,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<Applied>,
    pub clusters: Vec<ClusterResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What was applied, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    #[serde(flatten)]
    pub step: Step,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "error")]
pub enum Outcome {
    Done,
    Unchanged,
    Failed(String),
    NotRun,
    /// Made, then taken back: its cluster failed on an account quota, and nothing of it stays.
    Undone,
}

/// How one cluster fared.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub name: String,
    /// The cluster's id in the fleet's data (its name unless another cluster has that name).
    pub cluster_id: String,
    pub status: ClusterStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterStatus {
    /// Dry run: the plan was made.
    Planned,
    Unchanged,
    Changed,
    Failed,
    /// Not attempted because the shared fleet steps failed.
    NotRun,
}

impl<R: std::fmt::Display> Report<R> {
    /// Before anything is applied, the plan; after, what happened to each step. Each error once.
    pub fn text(&self) -> String {
        let mut text = if self.applied.is_empty() {
            self.plan.to_string()
        } else {
            outcomes(&self.applied)
        };
        if self.dry_run {
            text.push_str("\n\nDry run: nothing was changed.");
        } else if !self.changed {
            text.push_str("\n\nNothing to do: everything is already in place.");
        }
        for cluster in self.clusters.iter().filter(|c| c.error.is_some()) {
            let told = self.applied.iter().any(|item| {
                item.step.scope == cluster.cluster_id && matches!(item.outcome, Outcome::Failed(_))
            });
            if !told {
                text.push_str(&format!(
                    "\ncluster {} failed: {}",
                    cluster.cluster_id,
                    cluster.error.as_deref().unwrap_or_default()
                ));
            }
        }
        if let Some(resources) = &self.resources {
            text.push_str(&format!("\n\n{resources}"));
        }
        text
    }
}

/// What happened to each step that was to change something, by scope, then the counts.
fn outcomes(applied: &[Applied]) -> String {
    let mut text = String::new();
    let mut scope: Option<&str> = None;
    let (mut done, mut failed, mut not_run, mut undone, mut unchanged) = (0, 0, 0, 0, 0);
    for item in applied {
        let (outcome, error) = match &item.outcome {
            Outcome::Unchanged => {
                unchanged += 1;
                continue;
            }
            Outcome::Done => {
                done += 1;
                ("done", None)
            }
            Outcome::Failed(error) => {
                failed += 1;
                ("FAILED", Some(error))
            }
            Outcome::NotRun => {
                not_run += 1;
                ("not run", None)
            }
            Outcome::Undone => {
                undone += 1;
                ("undone", None)
            }
        };
        let step = &item.step;
        if scope != Some(step.scope.as_str()) {
            text.push_str(&format!("{}:\n", step.scope));
            scope = Some(&step.scope);
        }
        text.push_str(&format!(
            "  {outcome:<8} {} {} {}\n",
            step.action.label(),
            step.kind_label(),
            step.name
        ));
        if let Some(error) = error {
            text.push_str(&format!("{:11}{error}\n", ""));
        }
    }
    let undone = if undone > 0 {
        format!(", {undone} undone")
    } else {
        String::new()
    };
    text.push_str(&format!(
        "Applied: {done} done, {failed} failed, {not_run} not run{undone}, {unchanged} unchanged"
    ));
    text
}

/// What a command ends with: the result for stdout (a report, a script), which `main` prints,
/// and how it exits.
#[derive(Debug)]
pub struct Finished {
    pub stdout: Option<Vec<u8>>,
    pub exit: Result<u8, Error>,
}

impl Finished {
    /// A result to print, then the exit.
    pub fn printing(stdout: impl Into<Vec<u8>>, exit: Result<u8, Error>) -> Self {
        Self {
            stdout: Some(stdout.into()),
            exit,
        }
    }
}

impl From<Error> for Finished {
    /// Nothing to print: the error says it all.
    fn from(err: Error) -> Self {
        Self {
            stdout: None,
            exit: Err(err),
        }
    }
}

/// A serializable result as JSON, or its text form, one line-terminated document.
pub fn rendered<T: Serialize>(
    value: &T,
    text: impl FnOnce() -> String,
    format: OutputFormat,
) -> String {
    let document = match format {
        OutputFormat::Json => {
            let mut json = serde_json::to_value(value).expect("reports always serialize");
            crate::plan::with_pending_fields(&mut json);
            serde_json::to_string_pretty(&json).expect("JSON values always serialize")
        }
        OutputFormat::Text => text(),
    };
    document + "\n"
}

/// Success; the error itself when the only cluster failed; else a partial failure naming how
/// many clusters failed (each one's error is in the report). A Ctrl-C outranks the rest: the
/// run was cut short, and running it again finishes it.
pub fn finish(mut errors: Vec<Error>, total: usize) -> Result<u8, Error> {
    if errors.iter().any(|err| matches!(err, Error::Interrupted)) {
        return Err(Error::Interrupted);
    }
    match errors.len() {
        0 => Ok(exit::SUCCESS),
        1 if total == 1 => Err(errors.pop().expect("one error")),
        failed => Err(Error::PartialFailure { failed, total }),
    }
}
