//! The local test bench: moto for AWS, a fake Kubernetes API server, a real helm, and a
//! fault-injecting proxy to put in front of either server.
//! Each test binary uses a different part of it.
#![allow(dead_code)]

pub mod fake_kube;
pub mod helm;
pub mod http;
pub mod kube_protobuf;
pub mod moto;
pub mod proxy;
