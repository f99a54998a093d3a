//! `kcfed render`: every file kcfed would use for one cluster, written to a folder, offline.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::aws::{amp, eks};
use crate::chart::{self, ChartLine};
use crate::cli::{ClusterRole, RenderArgs};
use crate::engine::report::{Finished, REPORT_SCHEMA, rendered};
use crate::error::{Error, exit};
use crate::fleet::{Anchor, Fleet, IdentityMode, Target};
use crate::names::{self, FleetPolicy, ServiceAccountKind, WorkspaceEndpoints};
use crate::render::{Renderer, StoreLocation};
use crate::resources::{cluster, kube_objects, release, shared_roles};
use crate::{helm, validate};

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
    /// What the previous render into the folder wrote.
    previous: Vec<String>,
}

impl<'a> Writer<'a> {
    /// The folder, made when missing; a path that is a file is refused.
    fn open(out: &'a Path) -> Result<Self, Error> {
        if out.exists() && !out.is_dir() {
            return Err(Error::Usage {
                message: format!("--out {} is a file, not a folder", out.display()),
                fix: "name a folder (it is made when missing)".to_owned(),
            });
        }
        std::fs::create_dir_all(out).map_err(|source| Error::Io {
            path: out.to_owned(),
            source,
        })?;
        let previous = std::fs::read_to_string(out.join(FILE_LIST))
            .map(|list| list.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Self {
            out,
            files: Vec::new(),
            previous,
        })
    }

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

    /// A file that runs: mode 0755.
    fn write_script(
        &mut self,
        name: &str,
        content: &str,
        purpose: &'static str,
    ) -> Result<(), Error> {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(name, content, purpose)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .map_err(|source| Error::Io { path, source })
    }

    /// Removes what the previous render wrote and this one did not, records what this one
    /// wrote, and returns the names removed.
    fn finish(&self) -> Result<Vec<String>, Error> {
        let written: Vec<String> = self
            .files
            .iter()
            .filter_map(|file| file.path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        let stale: Vec<String> = self
            .previous
            .iter()
            .filter(|name| !written.contains(name) && !name.contains('/'))
            .cloned()
            .collect();
        for name in &stale {
            let path = self.out.join(name);
            match std::fs::remove_file(&path) {
                Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Io { path, source });
                }
                _ => {}
            }
        }
        let path = self.out.join(FILE_LIST);
        std::fs::write(&path, written.join("\n") + "\n")
            .map_err(|source| Error::Io { path, source })?;
        Ok(stale)
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
    // An agent writes to the fleet's bucket, which only the user can name here.
    if args.role == ClusterRole::Agent && !args.quick_start && args.bucket.is_none() {
        return Err(Error::Usage {
            message: "an agent writes its ETL files to the fleet's bucket, and render cannot look it up".to_owned(),
            fix: "pass the fleet's --bucket and --bucket-region (the primary's report names them), or --quick-start for a fleet without one".to_owned(),
        });
    }
    let workspace_region = args.workspace_region.as_deref().unwrap_or(region);
    let store = (!args.quick_start).then(|| {
        let region = args.bucket_region.as_deref().unwrap_or(region);
        let bucket = args
            .bucket
            .clone()
            .unwrap_or_else(|| names::default_bucket(&args.account_id, region));
        StoreLocation::new(&bucket, region)
    });
    // Render reads no fleet: without --chart-version it renders what a new fleet gets.
    let chart_version = args.chart.chart_version.clone().unwrap_or_else(|| {
        match store {
            Some(_) => chart::NEW_FLEET_CHART_VERSION,
            None => chart::NEW_AMP_FLEET_CHART_VERSION,
        }
        .to_owned()
    });
    let identity = IdentityMode::chosen(args.identity, None, &chart_version, store.is_some())?;
    if let Some(reason) = identity.refused(&chart_version, store.is_some())? {
        return Err(Error::Usage {
            message: format!("--identity {identity} cannot serve this fleet"),
            fix: reason,
        });
    }
    // A fleet without a workspace (Kubecost 3) is named by its bucket, as init names it.
    let anchor = match (&args.workspace_id, &store) {
        (Some(id), _) => Anchor::Workspace(Some(amp::Workspace {
            id: id.clone(),
            alias: None,
            arn: WorkspaceEndpoints::new(&args.account_id, workspace_region, id).arn,
            active: true,
            failed: false,
            created_at: 0,
            tags: Default::default(),
            prometheus_endpoint: None,
        })),
        (None, Some(store)) if !ChartLine::of(&chart_version)?.uses_amp() => Anchor::Bucket {
            id: names::bucket_fleet_id(&store.bucket),
            record: Default::default(),
        },
        (None, _) => {
            return Err(Error::Usage {
                message: format!(
                    "chart {chart_version} writes to the fleet's AMP workspace, and render cannot look it up"
                ),
                fix: "pass the fleet's --workspace-id (the primary's report names it)".to_owned(),
            });
        }
    };
    // The same fleet, cluster and desired state init and join build, from the flags alone.
    let fleet = Fleet {
        identity,
        account_id: args.account_id.clone(),
        workspace_region: workspace_region.to_owned(),
        anchor,
        store,
        chart_version: chart_version.clone(),
    };
    let arn = names::eks_cluster_arn(names::partition(region), region, cluster_account, cluster);
    let target = Target {
        role: args.role,
        cluster: eks::Cluster {
            name: cluster.to_owned(),
            arn: arn.clone(),
            region: region.to_owned(),
            account: cluster_account.to_owned(),
            oidc_issuer: args.oidc_issuer.clone().unwrap_or_default(),
            endpoint: None,
            certificate_authority: None,
            auto_mode: false,
        },
        cluster_id: args
            .cluster_id
            .clone()
            .unwrap_or_else(|| cluster.to_owned()),
        id_shared_with: None,
        release: helm::Release {
            name: args.chart.release.clone(),
            namespace: args.chart.namespace.clone(),
            chart: args.chart.chart_ref(&chart_version),
            chart_version: chart_version.clone(),
            kube_context: Some(arn),
            kubeconfig: None,
            direct: false,
            timeout_secs: 600,
        },
        storage_class: args.chart.storage_class.clone(),
        user_values: crate::render::user_values(&args.chart.values)?,
        cloud_integration_secret: args.cloud_integration_secret.clone(),
    };
    let renderer = Renderer::new();
    let desired = cluster::desired(&renderer, &fleet, &target)?;
    let mut writer = Writer::open(&args.out)?;
    let mut notes = Vec::new();

    // kcfed's values files and the user's, in helm's order; the user's are copied in so the
    // folder is whole on its own.
    let mut values_paths = Vec::new();
    for (index, values) in release::values(&fleet, &target, &renderer)?
        .into_iter()
        .enumerate()
    {
        let (name, purpose) = if target.user_values.contains(&values) {
            (format!("1-user-{index}.yaml"), "your values file (a copy)")
        } else {
            (values.name.clone(), "helm values")
        };
        writer.write(&name, &values.content, purpose)?;
        values_paths.push(PathBuf::from(format!("./{name}")));
    }
    writer.write_json(
        KUBERNETES_OBJECTS,
        &kube_objects::manifest(&desired.objects),
        "Kubernetes objects kcfed makes (namespace, annotated service accounts, object-store secret)",
    )?;
    // The documents init and join would write, from the same fleet and desired state.
    if let (Some(store), Some(config)) = (&fleet.store, &desired.objects.object_store) {
        writer.write(
            names::OBJECT_STORE_SECRET_KEY,
            config,
            "object-store config (secret kubecost-object-store)",
        )?;
        writer.write_json(
            "bucket-policy-tls-only.json",
            &renderer.tls_only_bucket_policy(store)?,
            "S3 bucket policy: TLS only",
        )?;
    } else {
        notes.push("quick-start: no federated bucket, metrics go to AMP only".to_owned());
    }
    // A Kubecost 3 cluster reaches no AMP: its roles hold the bucket's policy alone.
    let amp = ChartLine::of(&chart_version)?.uses_amp();
    for policy in fleet.policies(amp) {
        let (name, purpose) = match policy {
            FleetPolicy::AmpQuery => (
                "policy-amp-query.json",
                "IAM policy: AMP query (cost-analyzer)",
            ),
            FleetPolicy::AmpRemoteWrite => (
                "policy-amp-remote-write.json",
                "IAM policy: AMP remote-write (prometheus server)",
            ),
            FleetPolicy::FederatedStore => (
                "policy-federated-store.json",
                "IAM policy: the federated bucket",
            ),
        };
        writer.write_json(name, &fleet.policy_document(&renderer, policy)?, purpose)?;
    }
    let mut association_commands = Vec::new();
    match identity {
        IdentityMode::Irsa if args.oidc_issuer.is_some() => {
            for role in &desired.roles {
                let (name, purpose) = trust_file(role.kind);
                writer.write_json(name, &role.trust, purpose)?;
            }
        }
        IdentityMode::Irsa => notes.push(
            "no --oidc-issuer: trust policies skipped (`aws eks describe-cluster --query cluster.identity.oidc.issuer` prints it)"
                .to_owned(),
        ),
        IdentityMode::PodIdentity => {
            let other_accounts = (cluster_account != args.account_id)
                .then(|| cluster_account.to_owned());
            let roles = shared_roles::desired(
                &renderer,
                &fleet,
                &shared_roles::ObservedSharedRoles::none(other_accounts),
                amp,
            )?;
            let fleet_names = fleet.names();
            for role in &roles {
                let (name, purpose) = trust_file(role.kind);
                if role.name == fleet_names.target_role_name(role.kind) {
                    writer.write_json(
                        &format!("target-{name}"),
                        &role.trust,
                        "IAM trust policy: the fleet's role other accounts' clusters reach",
                    )?;
                    continue;
                }
                let Some(inline) = &role.inline else {
                    writer.write_json(name, &role.trust, purpose)?;
                    continue;
                };
                let account = shared_roles::role_account(&role.arn);
                writer.write_json(
                    &format!("{account}-{name}"),
                    &role.trust,
                    "IAM trust policy: the role in the cluster's account",
                )?;
                writer.write_json(
                    &format!(
                        "{account}-policy-assume-{}.json",
                        role.kind.service_account()
                    ),
                    inline,
                    "IAM policy (inline): assume the fleet's role",
                )?;
            }
            association_commands = desired
                .associations
                .iter()
                .map(|association| association_command(association, region))
                .collect();
        }
    }

    let helm_command = helm::shell_line("helm", &target.release.upgrade_args(&values_paths));
    let context = target.release.kube_context.as_deref().unwrap_or_default();
    let kubectl_command = helm::shell_line(
        "kubectl",
        &[
            "apply".to_owned(),
            "--server-side".to_owned(),
            format!("--field-manager={}", names::FIELD_MANAGER),
            "--context".to_owned(),
            context.to_owned(),
            "-f".to_owned(),
            format!("./{KUBERNETES_OBJECTS}"),
        ],
    );
    // Runnable from anywhere: the files are found beside the script.
    let associations: String = association_commands
        .iter()
        .map(|command| format!("{command}\n"))
        .collect();
    writer.write_script(
        INSTALL_SCRIPT,
        &format!(
            "#!/bin/sh\nset -eu\ncd -- \"$(dirname -- \"$0\")\"\n{associations}{kubectl_command}\n{helm_command}\n"
        ),
        "the install: the Pod Identity associations (aws), the Kubernetes objects (kubectl), then the release (helm), with these files",
    )?;
    let removed = writer.finish()?;
    notes.extend(removed.iter().map(|name| {
        format!("removed {name}, which an earlier render wrote and this one does not")
    }));

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

/// The trust policy file of a service account's role.
fn trust_file(kind: ServiceAccountKind) -> (&'static str, &'static str) {
    match kind {
        ServiceAccountKind::CostAnalyzer => (
            "trust-cost-analyzer.json",
            "IAM trust policy: cost-analyzer service account",
        ),
        ServiceAccountKind::PrometheusServer => (
            "trust-prometheus-server.json",
            "IAM trust policy: prometheus server service account",
        ),
    }
}

/// The aws CLI line that makes one association, as kcfed makes it.
fn association_command(association: &eks::Association, region: &str) -> String {
    let mut args: Vec<String> = [
        "eks",
        "create-pod-identity-association",
        "--region",
        region,
        "--cluster-name",
        &association.cluster,
        "--namespace",
        &association.namespace,
        "--service-account",
        &association.service_account,
        "--role-arn",
        &association.role_arn,
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    if let Some(target) = &association.target_role_arn {
        args.extend(["--target-role-arn".to_owned(), target.clone()]);
    }
    helm::shell_line("aws", &args)
}

const KUBERNETES_OBJECTS: &str = "kubernetes-objects.json";
/// The list of the files a render wrote, kept in its folder: the next render into it removes
/// those it no longer writes, and nothing else.
const FILE_LIST: &str = ".kcfed-render";
const INSTALL_SCRIPT: &str = "helm-install.sh";

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
