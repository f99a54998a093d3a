//! The local test bench: moto for AWS, a fake Kubernetes API server, a real helm, AMP's data
//! plane (a real Prometheus behind a SigV4-checking stand-in), and a fault-injecting proxy to put
//! in front of either server, which in front of moto can also serve the EKS operations moto lacks
//! (Pod Identity associations, add-ons) and apply S3 bucket policies as AWS does on TLS.
//! Each test binary uses a different part of it.
#![allow(dead_code)]

pub mod amp;
pub mod eks_extensions;
pub mod eks_front;
pub mod fake_kube;
pub mod helm;
pub mod http;
pub mod kube_protobuf;
pub mod moto;
pub mod proxy;
