//! What the user asks of a run that plans and applies, in the engine's own terms.

/// How results are printed on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON document, for pipelines.
    Json,
}

/// What the user asked of a run: plan only, no questions, the output format, the exit code of
/// a run that changed nothing.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub dry_run: bool,
    pub yes: bool,
    pub output: OutputFormat,
    pub detailed_exitcode: bool,
}
