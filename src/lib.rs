//! kcfed as a library: the binary (`main.rs`) parses the command line and prints; everything
//! else lives here, so integration tests can reach the pure parts (plans, values, policies).

pub mod aws;
pub mod chart;
pub mod cli;
pub mod cluster_id;
pub mod commands;
pub mod engine;
pub mod error;
pub mod fleet;
pub mod helm;
pub mod kube;
pub mod names;
pub mod plan;
pub mod private;
pub mod render;
pub mod resources;
pub mod status;
pub mod validate;
