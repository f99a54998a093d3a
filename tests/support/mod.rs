//! The local test bench: moto for AWS, a fake Kubernetes API server, and a real helm.
//! Each test binary uses a different part of it.
#![allow(dead_code)]

pub mod fake_kube;
pub mod helm;
pub mod moto;
