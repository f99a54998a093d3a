//! `kcfed render`: every file kcfed would use for one cluster, written to a folder, offline.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::cli::RenderArgs;
use crate::engine::report::{Finished, REPORT_SCHEMA, rendered};
use crate::error::{Error, exit};
use crate::helm;
use crate::names::{self, ServiceAccountKind, WorkspaceEndpoints};
use crate::render::{ReleaseContext, Renderer, StoreLocation};
use crate::validate;

#[derive(Debug, Serialize)]
struct RenderReport {
    schema: &'static str,
    command: &'static str,
    files: Vec<RenderedFile>,
    helm_command: String,
    notes: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RenderedFile {
    path: PathBuf,
    purpose: &'static str,
}

struct Writer<'a> {
    out: &'a Path,
    files: Vec<RenderedFile>,
}

impl Writer<'_> {
    fn write(
        &mut self,
        name: &str,
        content: &str,
        purpose: &'static str,
    ) -> Result<PathBuf, Error> {
        let path = self.out.join(name);
        std::fs::write(&path, content).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        self.files.push(RenderedFile {
            path: path.clone(),
            purpose,
        });
        Ok(path)
    }

    fn write_json(
        &mut self,
        name: &str,
        document: &serde_json::Value,
        purpose: &'static str,
    ) -> Result<PathBuf, Error> {
        let text = serde_json::to_string_pretty(document).expect("JSON values always serialize");
        self.write(name, &(text + "\n"), purpose)
    }
}

pub fn run(args: &RenderArgs) -> Result<Finished, Error> {
    validate::render(args)?;
    // An ARN gives the cluster's region and account; a name is in the fleet's account.
    let (cluster, region, cluster_account) = match names::parse_eks_cluster_arn(&args.cluster) {
        Some((region, account, name)) => (name, region, account),
        None => (
            args.cluster.as_str(),
            args.region.as_deref().ok_or_else(|| Error::Usage {
                message: "render needs the cluster's region".to_owned(),
                fix: "pass --region, or the cluster's ARN as --cluster".to_owned(),
            })?,
            args.account_id.as_str(),
        ),
    };
    let workspace_region = args.workspace_region.as_deref().unwrap_or(region);
    let workspace = WorkspaceEndpoints::new(&args.account_id, workspace_region, &args.workspace_id);
    let store = (!args.quick_start).then(|| {
        let region = args.bucket_region.as_deref().unwrap_or(region);
        let bucket = args
            .bucket
            .clone()
            .unwrap_or_else(|| names::default_bucket(&args.account_id, region));
        StoreLocation::new(&bucket, region)
    });
    let context = ReleaseContext::new(
        args.role,
        args.cluster_id.as_deref().unwrap_or(cluster),
        cluster_account,
        workspace.clone(),
        store.clone(),
        names::ChartLine::of(&args.chart_version)?,
    )
    .with_storage_class(args.storage_class.clone())
    .with_cloud_integration_secret(args.cloud_integration_secret.clone());

    let renderer = Renderer::new();
    std::fs::create_dir_all(&args.out).map_err(|source| Error::Io {
        path: args.out.clone(),
        source,
    })?;
    let mut writer = Writer {
        out: &args.out,
        files: Vec::new(),
    };
    let mut notes = Vec::new();

    // The user's files go after the EKS defaults, as init and join pass them; they are checked
    // here and named in helm-install.sh where they are.
    crate::render::user_values(&args.values)?;
    let mut values_paths = Vec::new();
    for values in renderer.helm_values(&context)? {
        values_paths.push(writer.write(&values.name, &values.content, "helm values")?);
    }
    if let Some(store) = &store {
        writer.write(
            names::OBJECT_STORE_SECRET_KEY,
            &renderer.object_store_config(store)?,
            "object-store config (secret kubecost-object-store)",
        )?;
        writer.write_json(
            "policy-federated-store.json",
            &renderer.federated_store_policy(store)?,
            "IAM policy: the federated bucket",
        )?;
        writer.write_json(
            "bucket-policy-tls-only.json",
            &renderer.tls_only_bucket_policy(store)?,
            "S3 bucket policy: TLS only",
        )?;
    } else {
        notes.push("quick-start: no federated bucket, metrics go to AMP only".to_owned());
    }
    writer.write_json(
        "policy-amp-query.json",
        &renderer.amp_query_policy(&workspace.arn)?,
        "IAM policy: AMP query (cost-analyzer)",
    )?;
    writer.write_json(
        "policy-amp-remote-write.json",
        &renderer.amp_remote_write_policy(&workspace.arn)?,
        "IAM policy: AMP remote-write (prometheus server)",
    )?;
    match &args.oidc_issuer {
        Some(issuer) => {
            let provider_arn = names::oidc_provider_arn(&args.account_id, region, issuer);
            for kind in ServiceAccountKind::ALL {
                let subject = names::service_account_subject(&args.namespace, kind.service_account());
                let (name, purpose) = match kind {
                    ServiceAccountKind::CostAnalyzer => (
                        "trust-cost-analyzer.json",
                        "IAM trust policy: cost-analyzer service account",
                    ),
                    ServiceAccountKind::PrometheusServer => (
                        "trust-prometheus-server.json",
                        "IAM trust policy: prometheus server service account",
                    ),
                };
                let trust = renderer.service_account_trust_policy(&provider_arn, issuer, &subject)?;
                writer.write_json(name, &trust, purpose)?;
            }
        }
        None => notes.push(
            "no --oidc-issuer: trust policies skipped (`aws eks describe-cluster --query cluster.identity.oidc.issuer` prints it)"
                .to_owned(),
        ),
    }

    let release = helm::Release {
        name: args.release.clone(),
        namespace: args.namespace.clone(),
        chart: args.chart.clone(),
        chart_version: args.chart_version.clone(),
        kube_context: Some(names::eks_cluster_arn(
            names::partition(region),
            region,
            cluster_account,
            cluster,
        )),
        kubeconfig: None,
        direct: false,
        timeout_secs: 600,
    };
    values_paths.splice(1..1, args.values.iter().cloned());
    let helm_command = helm::shell_line("helm", &release.upgrade_args(&values_paths));
    writer.write(
        "helm-install.sh",
        &format!("#!/bin/sh\nset -eu\n{helm_command}\n"),
        "the helm command that installs the release with these values",
    )?;

    let report = RenderReport {
        schema: REPORT_SCHEMA,
        command: "render",
        files: writer.files,
        helm_command,
        notes,
    };
    let summary = rendered(&report, || report.text(), args.output);
    Ok(Finished::printing(summary, Ok(exit::SUCCESS)))
}

impl RenderReport {
    fn text(&self) -> String {
        let mut text = format!("Wrote {} files:", self.files.len());
        for file in &self.files {
            text.push_str(&format!("\n  {:<50} {}", file.path.display(), file.purpose));
        }
        for note in &self.notes {
            text.push_str(&format!("\nnote: {note}"));
        }
        text.push_str(&format!("\n\nInstall with:\n  {}", self.helm_command));
        text
    }
}
