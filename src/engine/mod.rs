//! Runs a plan: confirmation, ordering and concurrency, progress, the report and its exit code.
//! It imports neither the commands nor the resource kinds; they hand it planned steps and an
//! executor that applies them.

pub mod options;
pub mod report;
pub mod run;
pub mod terminal;
