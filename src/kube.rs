//! kcfed's Kubernetes side: which kube context reaches an EKS cluster, and the objects kcfed owns in
//! it (namespace, IRSA service accounts, object-store secret), planned from GETs alone and written
//! with server-side apply under one field manager.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError, NamedContext};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, error_chain};
use crate::names::tags::{K8S_MANAGED_BY, MANAGED_BY_VALUE};
use crate::names::{self, FIELD_MANAGER, OBJECT_STORE_SECRET, OBJECT_STORE_SECRET_KEY};
use crate::plan::{Action, ResourceKind, Step};

mod direct;
pub mod forward;

pub use direct::DirectKubeconfigs;

/// The IRSA annotation: EKS's pod identity webhook gives the pods of the service account this role.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The only secret type that holds arbitrary keys; a secret's type cannot change once created.
const OPAQUE_SECRET_TYPE: &str = "Opaque";

// ---------------------------------------------------------------------------------------------
// Kube contexts

/// Reads the kubeconfig at `path`, or KUBECONFIG / ~/.kube/config (merged as kubectl does) when
/// there is no path.
pub fn load_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, Error> {
    read_kubeconfig(path).map_err(|err| kubeconfig_error(&err, path))
}

/// The kubeconfig at `path`; without one, KUBECONFIG's files or ~/.kube/config, or an empty one
/// when KUBECONFIG is unset and there is no ~/.kube/config (its clusters are then reached
/// directly). A file the user names, by flag or by KUBECONFIG, must exist.
pub fn load_kubeconfig_or_empty(path: Option<&Path>) -> Result<Kubeconfig, Error> {
    let named = path.is_some() || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    match read_kubeconfig(path) {
        Err(err) if !named && is_missing(&err) => Ok(Kubeconfig::default()),
        read => read.map_err(|err| kubeconfig_error(&err, path)),
    }
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, KubeconfigError> {
    match path {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
}

fn is_missing(err: &KubeconfigError) -> bool {
    match err {
        KubeconfigError::FindPath => true,
        KubeconfigError::ReadConfig(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

fn kubeconfig_error(err: &KubeconfigError, path: Option<&Path>) -> Error {
    // The file that failed to read, when kube names it (one of a KUBECONFIG list, say).
    let place = match (err, path) {
        (KubeconfigError::ReadConfig(_, read), _) => read.display().to_string(),
        (_, Some(path)) => path.display().to_string(),
        (_, None) => "KUBECONFIG or ~/.kube/config".to_owned(),
    };
    if is_missing(err) {
        Error::Kubeconfig {
            message: format!("no kubeconfig at {place}"),
            fix: "write one with `aws eks update-kubeconfig --name CLUSTER --region REGION`, or pass --kubeconfig PATH".to_owned(),
        }
    } else {
        Error::Kubeconfig {
            message: format!("cannot read {place}: {}", error_chain(err)),
            fix: "repair the file, or write a fresh one with `aws eks update-kubeconfig --name CLUSTER --region REGION`".to_owned(),
        }
    }
}

/// The EKS cluster ARN of a context: its cluster entry's name, else its own name, when that is an
/// ARN (`aws eks update-kubeconfig` names both by the ARN; `--alias` renames only the context).
fn context_cluster_arn(context: &NamedContext) -> Option<&str> {
    let cluster = context.context.as_ref().map(|ctx| ctx.cluster.as_str());
    cluster
        .into_iter()
        .chain([context.name.as_str()])
        .find(|name| names::parse_eks_cluster_arn(name).is_some())
}

/// The EKS cluster ARNs the kubeconfig's contexts point at, in their order (repeats included).
pub fn eks_cluster_arns(config: &Kubeconfig) -> impl Iterator<Item = &str> {
    config.contexts.iter().filter_map(context_cluster_arn)
}

/// The EKS cluster ARN the current context points at, if it is an EKS cluster kcfed can name.
pub fn current_eks_cluster(config: &Kubeconfig) -> Option<String> {
    let current = config.current_context.as_deref()?;
    let context = config.contexts.iter().find(|ctx| ctx.name == current)?;
    context_cluster_arn(context).map(str::to_owned)
}

/// The context to reach `cluster_arn` with: `explicit` after checking it does not point at another
/// EKS cluster, else the context named by the ARN or pointing at a cluster entry named by it.
pub fn context_for_cluster(
    config: &Kubeconfig,
    cluster_arn: &str,
    explicit: Option<&str>,
) -> Result<String, Error> {
    if let Some(name) = explicit {
        let Some(context) = config.contexts.iter().find(|ctx| ctx.name == name) else {
            return Err(Error::Kubeconfig {
                message: format!(
                    "context {name:?} is not in the kubeconfig ({})",
                    available_contexts(config)
                ),
                fix: "pass one of the contexts listed to --kube-context, or leave it out to let kcfed find the context by the cluster ARN".to_owned(),
            });
        };
        if let Some(arn) = context_cluster_arn(context)
            && arn != cluster_arn
        {
            return Err(Error::Kubeconfig {
                message: format!("context {name:?} points at cluster {arn}, not {cluster_arn}"),
                fix: format!(
                    "pass the context of {cluster_arn} to --kube-context (`kubectl config get-contexts` lists them), or leave it out to let kcfed find it"
                ),
            });
        }
        return Ok(name.to_owned());
    }

    find_context(config, cluster_arn)?.ok_or_else(|| {
        let fix = match names::parse_eks_cluster_arn(cluster_arn) {
            Some((region, _, name)) => format!(
                "run `aws eks update-kubeconfig --name {name} --region {region}`, or pass the context that reaches it with --kube-context"
            ),
            None => "pass the context that reaches the cluster with --kube-context".to_owned(),
        };
        Error::Kubeconfig {
            message: format!("no context in the kubeconfig points at {cluster_arn}"),
            fix,
        }
    })
}

/// The context named by `cluster_arn` or pointing at a cluster entry named by it (the current
/// one, else the one named by the ARN, when several do); `None` when there is none.
pub fn find_context(config: &Kubeconfig, cluster_arn: &str) -> Result<Option<String>, Error> {
    let matching: Vec<&NamedContext> = config
        .contexts
        .iter()
        .filter(|ctx| {
            ctx.name == cluster_arn
                || ctx
                    .context
                    .as_ref()
                    .is_some_and(|context| context.cluster == cluster_arn)
        })
        .collect();
    let current = config.current_context.as_deref();
    let chosen = match matching[..] {
        [] => return Ok(None),
        [only] => only,
        _ => match matching
            .iter()
            .find(|ctx| Some(ctx.name.as_str()) == current)
            .or_else(|| matching.iter().find(|ctx| ctx.name == cluster_arn))
        {
            Some(context) => context,
            None => {
                let names: Vec<&str> = matching.iter().map(|ctx| ctx.name.as_str()).collect();
                return Err(Error::Kubeconfig {
                    message: format!(
                        "several contexts point at {cluster_arn}: {}",
                        names.join(", ")
                    ),
                    fix: "pass the one to use with --kube-context".to_owned(),
                });
            }
        },
    };
    Ok(Some(chosen.name.clone()))
}

fn available_contexts(config: &Kubeconfig) -> String {
    if config.contexts.is_empty() {
        return "it has no contexts".to_owned();
    }
    let names: Vec<&str> = config
        .contexts
        .iter()
        .map(|ctx| ctx.name.as_str())
        .collect();
    format!("contexts: {}", names.join(", "))
}

/// A client for `context` of the kubeconfig at `kubeconfig` (or the default one).
pub async fn connect(kubeconfig: Option<&Path>, context: &str) -> Result<Client, Error> {
    let config = load_kubeconfig(kubeconfig)?;
    let options = KubeConfigOptions {
        context: Some(context.to_owned()),
        ..KubeConfigOptions::default()
    };
    let unusable = |message: String| Error::Kubeconfig {
        message: format!("context {context:?} cannot be used: {message}"),
        fix: format!(
            "check it with `kubectl --context {context} get namespaces`; for EKS, rewrite it with `aws eks update-kubeconfig --name CLUSTER --region REGION`"
        ),
    };
    let mut config = kube::Config::from_custom_kubeconfig(config, &options)
        .await
        .map_err(|err| unusable(error_chain(&err)))?;
    // kube's own retry layer waits out 429/503/504 for minutes; `retry` below is the one bounded
    // retry of every call, so the client must not add its own underneath.
    config.default_retry = false;
    Client::try_from(config).map_err(|err| unusable(error_chain(&err)))
}

/// Asks the API server its version: a cluster that cannot be reached or refuses kcfed is found
/// here, once, before the reads and helm calls that would each report it.
pub async fn probe(client: &Client) -> Result<(), Error> {
    retry(KUBE_BACKOFF, || client.apiserver_version())
        .await
        .map(drop)
        .map_err(|err| kube_error("read", "the API server's version", err))
}

/// The API server a context of the kubeconfig points at.
pub fn server_of(config: &Kubeconfig, context: &str) -> Option<String> {
    let cluster = config
        .contexts
        .iter()
        .find(|named| named.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    config
        .clusters
        .iter()
        .find(|named| named.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

// ---------------------------------------------------------------------------------------------
// The objects kcfed owns in one cluster

/// What kcfed wants in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredObjects {
    pub namespace: String,
    /// Service account name and the IAM role ARN its pods assume.
    pub service_accounts: Vec<(String, String)>,
    /// The federated-store.yaml content; `None` in quick-start fleets, which have no bucket.
    pub object_store: Option<String>,
}

/// What exists now of the objects in [`DesiredObjects`], as the API server returned them.
#[derive(Debug, Clone, Default)]
pub struct ObservedObjects {
    pub namespace: Option<Namespace>,
    /// The wanted service accounts that exist, by name.
    pub service_accounts: BTreeMap<String, ServiceAccount>,
    pub object_store: Option<Secret>,
}

fn owned_metadata(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(BTreeMap::from([(
            K8S_MANAGED_BY.to_owned(),
            MANAGED_BY_VALUE.to_owned(),
        )])),
        ..ObjectMeta::default()
    }
}

fn namespace_object(name: &str) -> Namespace {
    Namespace {
        metadata: owned_metadata(name, None),
        ..Namespace::default()
    }
}

fn service_account_object(namespace: &str, name: &str, role_arn: &str) -> ServiceAccount {
    let mut metadata = owned_metadata(name, Some(namespace));
    metadata.annotations = Some(BTreeMap::from([(
        ROLE_ARN_ANNOTATION.to_owned(),
        role_arn.to_owned(),
    )]));
    ServiceAccount {
        metadata,
        ..ServiceAccount::default()
    }
}

fn object_store_secret(namespace: &str, content: &str) -> Secret {
    Secret {
        metadata: owned_metadata(OBJECT_STORE_SECRET, Some(namespace)),
        type_: Some(OPAQUE_SECRET_TYPE.to_owned()),
        // `data`, not `stringData`: the API server stores only `data`, so applying it keeps
        // kcfed's field ownership on what is actually stored.
        data: Some(BTreeMap::from([(
            OBJECT_STORE_SECRET_KEY.to_owned(),
            ByteString(content.as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

/// The objects of `desired` as one Kubernetes `List` (`kubectl apply -f`): what `render`
/// writes for an install without kcfed.
pub fn manifest(desired: &DesiredObjects) -> serde_json::Value {
    let to_value = |object: serde_json::Result<serde_json::Value>| {
        object.expect("Kubernetes objects always serialize")
    };
    let namespace = &desired.namespace;
    let mut items = vec![to_value(serde_json::to_value(namespace_object(namespace)))];
    for (name, role_arn) in &desired.service_accounts {
        items.push(to_value(serde_json::to_value(service_account_object(
            namespace, name, role_arn,
        ))));
    }
    if let Some(content) = &desired.object_store {
        items.push(to_value(serde_json::to_value(object_store_secret(
            namespace, content,
        ))));
    }
    serde_json::json!({ "apiVersion": "v1", "kind": "List", "items": items })
}

fn namespaced_name(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Reads the wanted objects; only GETs, all at once.
pub async fn observe(client: &Client, desired: &DesiredObjects) -> Result<ObservedObjects, Error> {
    let namespace = &desired.namespace;
    let service_accounts = Api::<ServiceAccount>::namespaced(client.clone(), namespace);
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    let namespaces = Api::<Namespace>::all(client.clone());
    let namespace_resource = format!("namespace {namespace}");
    let (found_namespace, found_accounts, object_store) = tokio::try_join!(
        get_opt(&namespaces, namespace, &namespace_resource),
        futures::future::try_join_all(desired.service_accounts.iter().map(|(name, _)| {
            let resource = format!("service account {}", namespaced_name(namespace, name));
            let service_accounts = &service_accounts;
            async move {
                let found = get_opt(service_accounts, name, &resource).await?;
                Ok::<_, Error>(found.map(|account| (name.clone(), account)))
            }
        })),
        async {
            if desired.object_store.is_none() {
                return Ok(None);
            }
            let resource = format!("secret {}", namespaced_name(namespace, OBJECT_STORE_SECRET));
            get_opt(&secrets, OBJECT_STORE_SECRET, &resource).await
        },
    )?;
    // Nothing can live in a namespace that does not exist.
    if found_namespace.is_none() {
        return Ok(ObservedObjects::default());
    }
    Ok(ObservedObjects {
        namespace: found_namespace,
        service_accounts: found_accounts.into_iter().flatten().collect(),
        object_store,
    })
}

/// The StatefulSets of a 1.x cost-analyzer chart's aggregator in `namespace` (by name and the
/// `helm.sh/chart` label): the 2.x chart refuses to install while one is there.
pub async fn aggregators_of_chart_1x(
    client: &Client,
    namespace: &str,
) -> Result<Vec<String>, Error> {
    use k8s_openapi::api::apps::v1::StatefulSet;
    let sets = list_in::<StatefulSet>(client, namespace, "statefulsets").await?;
    Ok(sets
        .iter()
        .map(|set| &set.metadata)
        .filter(|metadata| {
            let name = metadata.name.as_deref().unwrap_or_default();
            let chart = metadata
                .labels
                .as_ref()
                .and_then(|labels| labels.get("helm.sh/chart"))
                .map(String::as_str)
                .unwrap_or_default();
            name.contains("aggregator") && chart.starts_with("cost-analyzer-1.")
        })
        .map(|metadata| metadata.name.clone().unwrap_or_default())
        .collect())
}

/// Whether the secret `name` exists in `namespace` (a GET; the user's, never written by kcfed).
pub async fn secret_exists(client: &Client, namespace: &str, name: &str) -> Result<bool, Error> {
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    let resource = format!("secret {}", namespaced_name(namespace, name));
    Ok(get_opt(&secrets, name, &resource).await?.is_some())
}

/// The steps that make the cluster hold `desired`: namespace, service accounts, then the secret.
pub fn plan_steps(scope: &str, desired: &DesiredObjects, observed: &ObservedObjects) -> Vec<Step> {
    let namespace = &desired.namespace;
    let mut steps = vec![namespace_step(
        scope,
        namespace,
        observed.namespace.as_ref(),
    )];
    for (name, role_arn) in &desired.service_accounts {
        let step = Step::new(
            scope,
            ResourceKind::ServiceAccount,
            namespaced_name(namespace, name),
            Action::Create,
        );
        steps.push(match observed.service_accounts.get(name) {
            None => step,
            Some(found) => {
                let wanted = service_account_object(namespace, name, role_arn);
                update_or_exists(
                    step,
                    metadata_differences(&wanted.metadata, &found.metadata),
                )
            }
        });
    }
    if let Some(content) = &desired.object_store {
        let step = Step::new(
            scope,
            ResourceKind::Secret,
            namespaced_name(namespace, OBJECT_STORE_SECRET),
            Action::Create,
        );
        steps.push(match &observed.object_store {
            None => step,
            Some(found) => secret_step(step, &object_store_secret(namespace, content), found),
        });
    }
    steps
}

fn namespace_step(scope: &str, name: &str, found: Option<&Namespace>) -> Step {
    let step = Step::new(scope, ResourceKind::Namespace, name, Action::Create);
    let Some(found) = found else {
        return step;
    };
    if found.metadata.deletion_timestamp.is_some() {
        return Step {
            action: Action::Conflict,
            ..step
        }
        .with_detail("being deleted: wait until it is gone, then run again");
    }
    let step = Step {
        action: Action::Exists,
        ..step
    };
    if made_by_kcfed(&found.metadata) {
        step
    } else {
        // Cleanup reads this: a namespace kcfed did not create is never deleted.
        step.with_detail("not created by kcfed, left unlabelled")
    }
}

fn secret_step(step: Step, wanted: &Secret, found: &Secret) -> Step {
    let found_type = found.type_.as_deref().unwrap_or(OPAQUE_SECRET_TYPE);
    if found_type != OPAQUE_SECRET_TYPE {
        return Step {
            action: Action::Conflict,
            ..step
        }
        .with_detail(format!(
            "has type {found_type}; kcfed needs an {OPAQUE_SECRET_TYPE} secret and a secret's type cannot change: delete it and run again"
        ));
    }
    let mut details = metadata_differences(&wanted.metadata, &found.metadata);
    let stored = |secret: &Secret| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(OBJECT_STORE_SECRET_KEY))
            .map(|bytes| bytes.0.clone())
    };
    if stored(wanted) != stored(found) {
        if found.immutable == Some(true) {
            return Step {
                action: Action::Conflict,
                ..step
            }
            .with_detail(format!(
                "{OBJECT_STORE_SECRET_KEY} differs but the secret is immutable: delete it and run again"
            ));
        }
        // Never the contents: they name the bucket and may hold credentials.
        details.push(format!("{OBJECT_STORE_SECRET_KEY} differs"));
    }
    update_or_exists(step, details)
}

fn update_or_exists(step: Step, differences: Vec<String>) -> Step {
    let action = if differences.is_empty() {
        Action::Exists
    } else {
        Action::Update
    };
    Step { action, ..step }.with_details(differences)
}

/// Whether an object's labels say kcfed made it.
fn made_by_kcfed(metadata: &ObjectMeta) -> bool {
    label(metadata, K8S_MANAGED_BY) == Some(MANAGED_BY_VALUE)
}

fn label<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata.labels.as_ref()?.get(key).map(String::as_str)
}

/// The labels and annotations kcfed sets that `found` lacks or holds other values for. Keys kcfed
/// does not set are someone else's and are left alone.
fn metadata_differences(wanted: &ObjectMeta, found: &ObjectMeta) -> Vec<String> {
    let mut differences = Vec::new();
    for (key, value) in wanted.labels.iter().flatten() {
        let current = label(found, key);
        if current == Some(value.as_str()) {
            continue;
        }
        differences.push(match (key.as_str(), current) {
            (K8S_MANAGED_BY, None) => "adopted: not created by kcfed".to_owned(),
            (K8S_MANAGED_BY, Some(other)) => {
                format!("adopted: not created by kcfed ({K8S_MANAGED_BY}: {other})")
            }
            _ => change("label", key, current, value),
        });
    }
    for (key, value) in wanted.annotations.iter().flatten() {
        let current = found
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key))
            .map(String::as_str);
        if current != Some(value.as_str()) {
            differences.push(change("annotation", key, current, value));
        }
    }
    differences
}

fn change(what: &str, key: &str, current: Option<&str>, wanted: &str) -> String {
    format!("{what} {key}: {} -> {wanted}", current.unwrap_or("(none)"))
}

/// Performs exactly `step`, one of those [`plan_steps`] made for `desired`: a create or update is a
/// server-side apply of that one object; an object already as wanted is left alone.
pub async fn apply(client: &Client, desired: &DesiredObjects, step: &Step) -> Result<(), Error> {
    match step.action {
        Action::Exists | Action::Keep => return Ok(()),
        Action::Conflict => {
            return Err(Error::Conflict {
                resource: step.name.clone(),
                reason: step.details.join("; "),
                fix: "resolve what the plan shows for it, then run the command again".to_owned(),
            });
        }
        Action::Delete => return Err(foreign_step(step)),
        Action::Create | Action::Update => {}
    }
    let namespace = &desired.namespace;
    match step.kind {
        // Only a namespace kcfed creates carries its label; an existing one is never updated.
        ResourceKind::Namespace if step.action == Action::Create && step.name == *namespace => {
            server_side_apply(
                &Api::<Namespace>::all(client.clone()),
                namespace,
                &namespace_object(namespace),
                &format!("namespace {namespace}"),
            )
            .await
        }
        ResourceKind::ServiceAccount => {
            let (name, role_arn) = desired
                .service_accounts
                .iter()
                .find(|(name, _)| namespaced_name(namespace, name) == step.name)
                .ok_or_else(|| foreign_step(step))?;
            server_side_apply(
                &Api::<ServiceAccount>::namespaced(client.clone(), namespace),
                name,
                &service_account_object(namespace, name, role_arn),
                &format!("service account {}", step.name),
            )
            .await
        }
        ResourceKind::Secret if step.name == namespaced_name(namespace, OBJECT_STORE_SECRET) => {
            let content = desired
                .object_store
                .as_deref()
                .ok_or_else(|| foreign_step(step))?;
            server_side_apply(
                &Api::<Secret>::namespaced(client.clone(), namespace),
                OBJECT_STORE_SECRET,
                &object_store_secret(namespace, content),
                &format!("secret {}", step.name),
            )
            .await
        }
        _ => Err(foreign_step(step)),
    }
}

/// A step `apply` was handed that `plan_steps` never makes for these objects: a bug in the caller.
fn foreign_step(step: &Step) -> Error {
    Error::InvalidInput {
        what: "Kubernetes plan step",
        value: step.to_string().trim().to_owned(),
        reason: "it is not one of the objects kcfed installs in this cluster (a bug in kcfed)"
            .to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Cleanup

/// Objects every namespace has, or that the release's own uninstall removes: they do not make a
/// namespace "used by something else".
fn belongs_to_release_or_namespace(metadata: &ObjectMeta, release: &str) -> bool {
    let name = metadata.name.as_deref().unwrap_or_default();
    let annotation = |key: &str| {
        metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .map(String::as_str)
    };
    name == "default"
        || name == "kube-root-ca.crt"
        || name.starts_with(&format!("sh.helm.release.v1.{release}."))
        || annotation("meta.helm.sh/release-name") == Some(release)
        || made_by_kcfed(metadata)
}

/// What a cluster offers the chart's volumes: its CSI drivers, and its StorageClasses with the
/// one marked default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStorage {
    pub csi_drivers: Vec<String>,
    /// Name, provisioner and whether it is the default class.
    pub storage_classes: Vec<(String, String, bool)>,
}

/// The annotation that makes a StorageClass the default for claims that name none.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Reads the cluster's CSI drivers and StorageClasses (cluster-scoped, read-only).
pub async fn observe_storage(client: &Client) -> Result<ObservedStorage, Error> {
    let drivers = Api::<CSIDriver>::all(client.clone());
    let classes = Api::<StorageClass>::all(client.clone());
    let params = kube::api::ListParams::default();
    let (drivers, classes) = tokio::try_join!(
        async {
            retry(KUBE_BACKOFF, || drivers.list(&params))
                .await
                .map_err(|err| kube_error("list", "CSI drivers", err))
        },
        async {
            retry(KUBE_BACKOFF, || classes.list(&params))
                .await
                .map_err(|err| kube_error("list", "storage classes", err))
        },
    )?;
    let name = |metadata: &ObjectMeta| metadata.name.clone().unwrap_or_default();
    Ok(ObservedStorage {
        csi_drivers: drivers.items.iter().map(|d| name(&d.metadata)).collect(),
        storage_classes: classes
            .items
            .iter()
            .map(|class| {
                let default = class
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                    .is_some_and(|v| v == "true");
                (name(&class.metadata), class.provisioner.clone(), default)
            })
            .collect(),
    })
}

/// What `cleanup` finds of kcfed's objects in one cluster, and what else lives in the namespace.
#[derive(Debug, Clone, Default)]
pub struct InstalledObjects {
    pub observed: ObservedObjects,
    /// Objects in the namespace that are neither kcfed's nor the release's (`kind/name`).
    pub others: Vec<String>,
}

/// Reads kcfed's objects and lists the namespace's other contents; only GETs and LISTs.
pub async fn observe_installed(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<InstalledObjects, Error> {
    let wanted = DesiredObjects {
        namespace: namespace.to_owned(),
        service_accounts: names::ServiceAccountKind::ALL
            .iter()
            .map(|kind| (kind.service_account().to_owned(), String::new()))
            .collect(),
        object_store: Some(String::new()),
    };
    // All read at once: the lists of a namespace that does not exist are empty.
    let (observed, secrets, config_maps, service_accounts) = tokio::try_join!(
        observe(client, &wanted),
        list_foreign::<Secret>(client, namespace, "secret", release),
        list_foreign::<k8s_openapi::api::core::v1::ConfigMap>(
            client,
            namespace,
            "configmap",
            release
        ),
        list_foreign::<ServiceAccount>(client, namespace, "serviceaccount", release),
    )?;
    if observed.namespace.is_none() {
        return Ok(InstalledObjects::default());
    }
    let others = [secrets, config_maps, service_accounts].concat();
    Ok(InstalledObjects { observed, others })
}

/// `kind/name` of the objects of one kind in the namespace that are neither kcfed's nor the
/// release's.
async fn list_foreign<K>(
    client: &Client,
    namespace: &str,
    kind: &str,
    release: &str,
) -> Result<Vec<String>, Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    K::DynamicType: Default,
{
    let listed = list_in::<K>(client, namespace, &format!("{kind}s")).await?;
    Ok(listed
        .iter()
        .map(|object| object.meta())
        .filter(|metadata| !belongs_to_release_or_namespace(metadata, release))
        .map(|metadata| format!("{kind}/{}", metadata.name.as_deref().unwrap_or_default()))
        .collect())
}

/// One workload of the release as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// `deployment/NAME`, `statefulset/NAME` or `daemonset/NAME`.
    pub name: String,
    pub ready: i32,
    pub desired: i32,
}

/// The release's workloads and the namespace's volume claims (`name`, phase).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObservedWorkloads {
    pub workloads: Vec<Workload>,
    pub claims: Vec<(String, String)>,
}

/// Reads the Deployments, StatefulSets and DaemonSets helm made for `release` (by helm's
/// ownership annotation) and every PersistentVolumeClaim of the namespace; only LISTs.
pub async fn observe_workloads(
    client: &Client,
    namespace: &str,
    release: &str,
) -> Result<ObservedWorkloads, Error> {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    let (deployments, stateful_sets, daemon_sets, claims) = tokio::try_join!(
        list_in::<Deployment>(client, namespace, "deployments"),
        list_in::<StatefulSet>(client, namespace, "statefulsets"),
        list_in::<DaemonSet>(client, namespace, "daemonsets"),
        list_in::<PersistentVolumeClaim>(client, namespace, "persistentvolumeclaims"),
    )?;
    let of_release = |metadata: &ObjectMeta| {
        metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("meta.helm.sh/release-name"))
            .is_some_and(|name| name == release)
    };
    let name = |kind: &str, metadata: &ObjectMeta| {
        format!("{kind}/{}", metadata.name.as_deref().unwrap_or_default())
    };
    let mut workloads = Vec::new();
    for deployment in deployments.iter().filter(|d| of_release(&d.metadata)) {
        let status = deployment.status.clone().unwrap_or_default();
        workloads.push(Workload {
            name: name("deployment", &deployment.metadata),
            ready: status.ready_replicas.unwrap_or(0),
            desired: deployment
                .spec
                .as_ref()
                .and_then(|s| s.replicas)
                .unwrap_or(1),
        });
    }
    for set in stateful_sets.iter().filter(|s| of_release(&s.metadata)) {
        workloads.push(Workload {
            name: name("statefulset", &set.metadata),
            ready: set
                .status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            desired: set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        });
    }
    for set in daemon_sets.iter().filter(|d| of_release(&d.metadata)) {
        let status = set.status.clone().unwrap_or_default();
        workloads.push(Workload {
            name: name("daemonset", &set.metadata),
            ready: status.number_ready,
            desired: status.desired_number_scheduled,
        });
    }
    Ok(ObservedWorkloads {
        workloads,
        claims: claims
            .iter()
            .map(|claim| {
                let phase = claim.status.as_ref().and_then(|s| s.phase.clone());
                (
                    claim.metadata.name.clone().unwrap_or_default(),
                    phase.unwrap_or_else(|| "Pending".to_owned()),
                )
            })
            .collect(),
    })
}

/// Every object of one kind in the namespace (none when the namespace does not exist).
async fn list_in<K>(client: &Client, namespace: &str, plural: &str) -> Result<Vec<K>, Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), namespace);
    let params = kube::api::ListParams::default();
    retry(KUBE_BACKOFF, || api.list(&params))
        .await
        .map(|list| list.items)
        .map_err(|err| kube_error("list", &format!("{plural} in {namespace}"), err))
}

/// Deletes what kcfed made and keeps the rest: objects without kcfed's label were not made by
/// it, and a namespace that holds anything else stays.
pub fn cleanup_steps(scope: &str, namespace: &str, installed: &InstalledObjects) -> Vec<Step> {
    let decide = |kind, name: String, metadata: &ObjectMeta| {
        if made_by_kcfed(metadata) {
            Step::new(scope, kind, name, Action::Delete)
        } else {
            Step::new(scope, kind, name, Action::Keep).with_detail("not made by kcfed")
        }
    };
    let observed = &installed.observed;
    let mut steps = Vec::new();
    if let Some(secret) = &observed.object_store {
        steps.push(decide(
            ResourceKind::Secret,
            namespaced_name(namespace, OBJECT_STORE_SECRET),
            &secret.metadata,
        ));
    }
    for (name, account) in &observed.service_accounts {
        steps.push(decide(
            ResourceKind::ServiceAccount,
            namespaced_name(namespace, name),
            &account.metadata,
        ));
    }
    if let Some(found) = &observed.namespace {
        let step = decide(
            ResourceKind::Namespace,
            namespace.to_owned(),
            &found.metadata,
        );
        steps.push(
            if step.action == Action::Delete && !installed.others.is_empty() {
                Step::new(scope, ResourceKind::Namespace, namespace, Action::Keep)
                    .with_detail(format!("still holds {}", installed.others.join(", ")))
            } else {
                step
            },
        );
    }
    steps
}

/// Deletes the object a [`cleanup_steps`] step names; already gone is fine.
pub async fn delete(client: &Client, step: &Step) -> Result<(), Error> {
    let resource = format!("{} {}", step.kind_label(), step.name);
    let (namespace, name) = step.name.split_once('/').unwrap_or(("", &step.name));
    let result = match step.kind {
        ResourceKind::Namespace => delete_named(Api::<Namespace>::all(client.clone()), name).await,
        ResourceKind::ServiceAccount => {
            delete_named(
                Api::<ServiceAccount>::namespaced(client.clone(), namespace),
                name,
            )
            .await
        }
        ResourceKind::Secret => {
            delete_named(Api::<Secret>::namespaced(client.clone(), namespace), name).await
        }
        _ => return Err(foreign_step(step)),
    };
    match result {
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        other => other.map_err(|err| kube_error("delete", &resource, err)),
    }
}

async fn delete_named<K>(api: Api<K>, name: &str) -> kube::Result<()>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    let params = kube::api::DeleteParams::default();
    retry(KUBE_BACKOFF, || api.delete(name, &params))
        .await
        .map(drop)
}

// ---------------------------------------------------------------------------------------------
// Calls, retries and errors

async fn get_opt<K>(api: &Api<K>, name: &str, resource: &str) -> Result<Option<K>, Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
    retry(KUBE_BACKOFF, || api.get_opt(name))
        .await
        .map_err(|err| kube_error("get", resource, err))
}

async fn server_side_apply<K>(
    api: &Api<K>,
    name: &str,
    object: &K,
    resource: &str,
) -> Result<(), Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Serialize + Debug,
{
    // Forced so kcfed's fields win over an earlier manual edit of them; fields kcfed does not set
    // keep their owners. An apply is idempotent, so retrying one that may have landed is safe.
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let patch = Patch::Apply(object);
    retry(KUBE_BACKOFF, || api.patch(name, &params, &patch))
        .await
        .map(drop)
        .map_err(|err| kube_error("apply", resource, err))
}

/// How often and how patiently a call failing transiently is retried.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    retries: u32,
    first_delay: Duration,
    max_delay: Duration,
}

const KUBE_BACKOFF: Backoff = Backoff {
    retries: 4,
    first_delay: Duration::from_millis(200),
    max_delay: Duration::from_millis(1600),
};

impl Backoff {
    /// The wait before retry number `retry` (0-based): doubling from the first delay, capped.
    fn delay(self, retry: u32) -> Duration {
        self.first_delay
            .saturating_mul(2_u32.saturating_pow(retry))
            .min(self.max_delay)
    }
}

async fn retry<T, F, Fut>(backoff: Backoff, mut call: F) -> kube::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = kube::Result<T>>,
{
    let mut retry = 0;
    loop {
        match call().await {
            Err(err) if retry < backoff.retries && is_transient(&err) => {
                let delay = backoff.delay(retry);
                tracing::debug!("Kubernetes call failed ({err}); retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                retry += 1;
            }
            result => return result,
        }
    }
}

const HTTP_TOO_MANY_REQUESTS: u16 = 429;
const HTTP_SERVICE_UNAVAILABLE: u16 = 503;

fn is_server_error(code: u16) -> bool {
    (500..600).contains(&code)
}

/// Worth another try: the server was busy or failing, or the request never got an answer.
/// Conflicts, refusals and invalid objects are answers, and stay the same when asked again.
fn is_transient(err: &kube::Error) -> bool {
    match err {
        kube::Error::Api(status) => {
            status.code == HTTP_TOO_MANY_REQUESTS || is_server_error(status.code)
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn kube_error(action: &'static str, resource: &str, err: kube::Error) -> Error {
    let (message, unreachable, denied) = match &err {
        kube::Error::Api(status) => {
            let text = if status.message.is_empty() {
                status.reason.as_str()
            } else {
                status.message.as_str()
            };
            (
                format!("{text} (HTTP {})", status.code),
                status.code == HTTP_SERVICE_UNAVAILABLE,
                matches!(status.code, 401 | 403),
            )
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) => (error_chain(&err), true, false),
        _ => (error_chain(&err), false, false),
    };
    Error::Kube {
        action,
        resource: resource.to_owned(),
        message,
        unreachable,
        denied,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use kube::core::Status;

    use super::*;

    const PROD: &str = "arn:aws:eks:us-east-1:111122223333:cluster/prod";
    const STAGING: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/staging";
    const OTHER: &str = "arn:aws:eks:ap-south-1:111122223333:cluster/other";

    /// Contexts as `aws eks update-kubeconfig` writes them (`prod`), with `--alias` (`staging`,
    /// `prod-admin`) and for a non-EKS cluster (`kind-dev`).
    fn kubeconfig(current: &str) -> Kubeconfig {
        let yaml = format!(
            r#"
apiVersion: v1
kind: Config
current-context: "{current}"
clusters:
- {{name: "{PROD}", cluster: {{server: "https://prod.example"}}}}
- {{name: "{STAGING}", cluster: {{server: "https://staging.example"}}}}
- {{name: kind-dev, cluster: {{server: "https://kind-dev.example:6443"}}}}
contexts:
- {{name: "{PROD}", context: {{cluster: "{PROD}", user: "{PROD}"}}}}
- {{name: prod-admin, context: {{cluster: "{PROD}", user: admin}}}}
- {{name: staging, context: {{cluster: "{STAGING}", user: "{STAGING}"}}}}
- {{name: kind-dev, context: {{cluster: kind-dev, user: kind-dev}}}}
users: []
"#
        );
        Kubeconfig::from_yaml(&yaml).unwrap()
    }

    fn kubeconfig_message(result: Result<String, Error>) -> (String, String) {
        match result {
            Err(Error::Kubeconfig { message, fix }) => (message, fix),
            other => panic!("expected a kubeconfig error, got {other:?}"),
        }
    }

    #[test]
    fn contexts_resolve_explicitly_or_by_cluster_arn() {
        let config = kubeconfig("kind-dev");
        let cases: [(&str, Option<&str>, &str); 5] = [
            (STAGING, Some("staging"), "staging"),
            // Not an EKS context: kcfed cannot check it and trusts the user.
            (PROD, Some("kind-dev"), "kind-dev"),
            // Named by the ARN wins over an alias when the current context is neither.
            (PROD, None, PROD),
            (STAGING, None, "staging"),
            (PROD, Some("prod-admin"), "prod-admin"),
        ];
        for (arn, explicit, expected) in cases {
            assert_eq!(
                context_for_cluster(&config, arn, explicit).unwrap(),
                expected,
                "{arn} {explicit:?}"
            );
        }
        assert_eq!(
            context_for_cluster(&kubeconfig("prod-admin"), PROD, None).unwrap(),
            "prod-admin",
            "the current context wins among several for the same cluster"
        );
    }

    #[test]
    fn context_errors_say_what_to_run() {
        let config = kubeconfig("staging");
        let (message, fix) =
            kubeconfig_message(context_for_cluster(&config, PROD, Some("staging")));
        assert_eq!(
            message,
            format!("context \"staging\" points at cluster {STAGING}, not {PROD}")
        );
        assert!(fix.contains("--kube-context"), "{fix}");

        let (message, _) = kubeconfig_message(context_for_cluster(&config, PROD, Some("gone")));
        assert!(
            message.ends_with(&format!(
                "(contexts: {PROD}, prod-admin, staging, kind-dev)"
            )),
            "{message}"
        );

        let (message, fix) = kubeconfig_message(context_for_cluster(&config, OTHER, None));
        assert_eq!(
            message,
            format!("no context in the kubeconfig points at {OTHER}")
        );
        assert!(
            fix.contains("`aws eks update-kubeconfig --name other --region ap-south-1`"),
            "{fix}"
        );

        let (message, fix) = kubeconfig_message(context_for_cluster(
            &Kubeconfig::default(),
            "kind-dev",
            Some("kind-dev"),
        ));
        assert!(message.ends_with("(it has no contexts)"), "{message}");
        assert!(fix.contains("--kube-context"), "{fix}");
    }

    #[test]
    fn several_aliases_without_a_preference_are_ambiguous() {
        let yaml = format!(
            r#"
contexts:
- {{name: a, context: {{cluster: "{PROD}"}}}}
- {{name: b, context: {{cluster: "{PROD}"}}}}
"#
        );
        let config = Kubeconfig::from_yaml(&yaml).unwrap();
        let (message, _) = kubeconfig_message(context_for_cluster(&config, PROD, None));
        assert_eq!(message, format!("several contexts point at {PROD}: a, b"));
    }

    #[test]
    fn current_eks_cluster_follows_the_current_context() {
        assert_eq!(
            current_eks_cluster(&kubeconfig(PROD)).as_deref(),
            Some(PROD)
        );
        assert_eq!(
            current_eks_cluster(&kubeconfig("staging")).as_deref(),
            Some(STAGING)
        );
        assert_eq!(current_eks_cluster(&kubeconfig("kind-dev")), None);
        assert_eq!(current_eks_cluster(&kubeconfig("not-there")), None);
        assert_eq!(current_eks_cluster(&Kubeconfig::default()), None);
    }

    #[test]
    fn kubeconfig_files_load_or_say_how_to_write_one() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("config");
        match load_kubeconfig(Some(&missing)) {
            Err(Error::Kubeconfig { message, fix }) => {
                assert_eq!(message, format!("no kubeconfig at {}", missing.display()));
                assert!(fix.contains("aws eks update-kubeconfig --name CLUSTER --region REGION"));
            }
            other => panic!("expected a kubeconfig error, got {other:?}"),
        }
        std::fs::write(&missing, "contexts: [{name: x, context: {cluster: y}}]\n").unwrap();
        assert_eq!(
            load_kubeconfig(Some(&missing)).unwrap().contexts[0].name,
            "x"
        );
        std::fs::write(&missing, "contexts: {{{\n").unwrap();
        assert!(matches!(
            load_kubeconfig(Some(&missing)),
            Err(Error::Kubeconfig { message, .. }) if message.starts_with("cannot read ")
        ));
    }

    const ROLE: &str = "arn:aws:iam::111122223333:role/kcfed/ws-1/kcfed-prod-cost-analyzer";
    const OLD_ROLE: &str = "arn:aws:iam::111122223333:role/by-hand";
    const STORE: &str = "type: S3\nconfig:\n  bucket: kcfed-bucket\n";

    fn desired(object_store: Option<&str>) -> DesiredObjects {
        DesiredObjects {
            namespace: "kubecost".to_owned(),
            service_accounts: vec![
                (
                    names::COST_ANALYZER_SERVICE_ACCOUNT.to_owned(),
                    ROLE.to_owned(),
                ),
                (
                    names::PROMETHEUS_SERVER_SERVICE_ACCOUNT.to_owned(),
                    ROLE.to_owned(),
                ),
            ],
            object_store: object_store.map(str::to_owned),
        }
    }

    /// Adds what the API server adds to whatever kcfed applied, and a label of someone else's.
    fn as_served(mut metadata: ObjectMeta) -> ObjectMeta {
        metadata.uid = Some("0f1e2d3c".to_owned());
        metadata.resource_version = Some("42".to_owned());
        metadata
            .labels
            .get_or_insert_default()
            .insert("team".to_owned(), "finops".to_owned());
        metadata
    }

    /// The cluster as kcfed leaves it after applying `desired`.
    fn installed(desired: &DesiredObjects) -> ObservedObjects {
        let mut namespace = namespace_object(&desired.namespace);
        namespace.metadata = as_served(namespace.metadata);
        let service_accounts = desired
            .service_accounts
            .iter()
            .map(|(name, role)| {
                let mut account = service_account_object(&desired.namespace, name, role);
                account.metadata = as_served(account.metadata);
                (name.clone(), account)
            })
            .collect();
        let object_store = desired.object_store.as_deref().map(|content| {
            let mut secret = object_store_secret(&desired.namespace, content);
            secret.metadata = as_served(secret.metadata);
            secret
        });
        ObservedObjects {
            namespace: Some(namespace),
            service_accounts,
            object_store,
        }
    }

    fn summary(steps: &[Step]) -> Vec<(ResourceKind, &str, Action)> {
        steps
            .iter()
            .map(|step| (step.kind, step.name.as_str(), step.action))
            .collect()
    }

    #[test]
    fn an_empty_cluster_gets_everything_created_in_order() {
        let steps = plan_steps("prod", &desired(Some(STORE)), &ObservedObjects::default());
        assert_eq!(
            summary(&steps),
            [
                (ResourceKind::Namespace, "kubecost", Action::Create),
                (
                    ResourceKind::ServiceAccount,
                    "kubecost/kubecost-cost-analyzer-amp",
                    Action::Create
                ),
                (
                    ResourceKind::ServiceAccount,
                    "kubecost/kubecost-prometheus-server-amp",
                    Action::Create
                ),
                (
                    ResourceKind::Secret,
                    "kubecost/kubecost-object-store",
                    Action::Create
                ),
            ]
        );
        assert!(
            steps
                .iter()
                .all(|step| step.scope == "prod" && step.details.is_empty())
        );
    }

    #[test]
    fn a_cluster_as_kcfed_left_it_has_nothing_to_do() {
        let wanted = desired(Some(STORE));
        let steps = plan_steps("prod", &wanted, &installed(&wanted));
        assert!(
            steps
                .iter()
                .all(|step| step.action == Action::Exists && step.details.is_empty()),
            "{steps:#?}"
        );
    }

    #[test]
    fn quick_start_plans_no_secret_and_leaves_an_old_one_alone() {
        let with_store = desired(Some(STORE));
        let steps = plan_steps("prod", &desired(None), &installed(&with_store));
        assert_eq!(steps.len(), 3);
        assert!(steps.iter().all(|step| step.kind != ResourceKind::Secret));
    }

    #[test]
    fn drift_is_updated_and_foreign_objects_are_adopted() {
        let wanted = desired(Some(STORE));
        let mut observed = installed(&wanted);
        observed.namespace.as_mut().unwrap().metadata.labels = None;
        let cost_analyzer = observed
            .service_accounts
            .get_mut(names::COST_ANALYZER_SERVICE_ACCOUNT)
            .unwrap();
        cost_analyzer
            .metadata
            .annotations
            .as_mut()
            .unwrap()
            .insert(ROLE_ARN_ANNOTATION.to_owned(), OLD_ROLE.to_owned());
        let prometheus = observed
            .service_accounts
            .get_mut(names::PROMETHEUS_SERVER_SERVICE_ACCOUNT)
            .unwrap();
        prometheus.metadata.annotations = None;
        prometheus.metadata.labels = Some(BTreeMap::from([(
            K8S_MANAGED_BY.to_owned(),
            "Helm".to_owned(),
        )]));
        let secret = observed.object_store.as_mut().unwrap();
        secret.metadata.labels = None;
        secret.data.as_mut().unwrap().insert(
            OBJECT_STORE_SECRET_KEY.to_owned(),
            ByteString(b"type: S3\nconfig:\n  bucket: secret-old-bucket\n".to_vec()),
        );

        let steps = plan_steps("prod", &wanted, &observed);
        let plan: Vec<(Action, Vec<String>)> = steps
            .iter()
            .map(|step| (step.action, step.details.clone()))
            .collect();
        assert_eq!(
            plan,
            [
                (
                    Action::Exists,
                    vec!["not created by kcfed, left unlabelled".to_owned()]
                ),
                (
                    Action::Update,
                    vec![format!(
                        "annotation {ROLE_ARN_ANNOTATION}: {OLD_ROLE} -> {ROLE}"
                    )]
                ),
                (
                    Action::Update,
                    vec![
                        format!("adopted: not created by kcfed ({K8S_MANAGED_BY}: Helm)"),
                        format!("annotation {ROLE_ARN_ANNOTATION}: (none) -> {ROLE}"),
                    ]
                ),
                (
                    Action::Update,
                    vec![
                        "adopted: not created by kcfed".to_owned(),
                        "federated-store.yaml differs".to_owned(),
                    ]
                ),
            ]
        );
        let shown = format!("{steps:?}");
        assert!(!shown.contains("bucket"), "secret contents leaked: {shown}");
    }

    #[test]
    fn objects_kcfed_cannot_fix_are_conflicts() {
        let wanted = desired(Some(STORE));

        let mut terminating = installed(&wanted);
        terminating
            .namespace
            .as_mut()
            .unwrap()
            .metadata
            .deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH));
        let steps = plan_steps("prod", &wanted, &terminating);
        assert_eq!(steps[0].action, Action::Conflict);

        let mut wrong_type = installed(&wanted);
        wrong_type.object_store.as_mut().unwrap().type_ = Some("kubernetes.io/tls".to_owned());
        let steps = plan_steps("prod", &wanted, &wrong_type);
        assert_eq!(steps[3].action, Action::Conflict);
        assert!(steps[3].details[0].starts_with("has type kubernetes.io/tls;"));

        let mut immutable = installed(&desired(Some("type: S3\n")));
        immutable.object_store.as_mut().unwrap().immutable = Some(true);
        let steps = plan_steps("prod", &wanted, &immutable);
        assert_eq!(steps[3].action, Action::Conflict);
        let unchanged = plan_steps("prod", &desired(Some("type: S3\n")), &immutable);
        assert_eq!(
            unchanged[3].action,
            Action::Exists,
            "immutable but as wanted"
        );
    }

    #[test]
    fn applied_objects_carry_only_what_kcfed_owns() {
        let account = serde_json::to_value(service_account_object("kubecost", "sa", ROLE)).unwrap();
        assert_eq!(
            account,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "sa",
                    "namespace": "kubecost",
                    "labels": {"app.kubernetes.io/managed-by": "kcfed"},
                    "annotations": {"eks.amazonaws.com/role-arn": ROLE},
                },
            })
        );
        let secret = serde_json::to_value(object_store_secret("kubecost", "type: S3\n")).unwrap();
        assert_eq!(secret["kind"], "Secret");
        assert_eq!(secret["type"], "Opaque");
        assert_eq!(secret["data"]["federated-store.yaml"], "dHlwZTogUzMK");
        assert_eq!(
            secret["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "kcfed"
        );
        let namespace = serde_json::to_value(namespace_object("kubecost")).unwrap();
        assert_eq!(
            namespace,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": "kubecost", "labels": {"app.kubernetes.io/managed-by": "kcfed"}},
            })
        );
    }

    fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            Status::failure("the server says no", reason)
                .with_code(code)
                .boxed(),
        )
    }

    fn connection_refused() -> kube::Error {
        kube::Error::Service(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )))
    }

    const NO_WAIT: Backoff = Backoff {
        retries: 4,
        first_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// Runs `retry` over calls failing with `failures` in turn, then succeeding; returns the result
    /// and the number of calls made.
    async fn run_retry(failures: Vec<kube::Error>) -> (kube::Result<()>, u32) {
        let calls = AtomicU32::new(0);
        let failures = std::sync::Mutex::new(failures.into_iter());
        let result = retry(NO_WAIT, || {
            calls.fetch_add(1, Ordering::SeqCst);
            let next = failures.lock().unwrap().next();
            async move { next.map_or(Ok(()), Err) }
        })
        .await;
        (result, calls.into_inner())
    }

    #[tokio::test]
    async fn transient_failures_are_retried_a_bounded_number_of_times() {
        let (result, calls) = run_retry(vec![
            api_error(503, "ServiceUnavailable"),
            api_error(429, "TooManyRequests"),
            connection_refused(),
        ])
        .await;
        assert!(result.is_ok());
        assert_eq!(calls, 4);

        let (result, calls) =
            run_retry((0..6).map(|_| api_error(500, "InternalError")).collect()).await;
        assert!(matches!(result, Err(kube::Error::Api(status)) if status.code == 500));
        assert_eq!(calls, 5, "one call and four retries");

        let (result, calls) = run_retry(vec![api_error(409, "Conflict")]).await;
        assert!(matches!(result, Err(kube::Error::Api(status)) if status.is_conflict()));
        assert_eq!(calls, 1, "a conflict is an answer, not a hiccup");
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let delays: Vec<u128> = (0..6)
            .map(|retry| KUBE_BACKOFF.delay(retry).as_millis())
            .collect();
        assert_eq!(delays, [200, 400, 800, 1600, 1600, 1600]);
    }

    #[test]
    fn kube_errors_say_whether_the_cluster_was_reached() {
        let resource = "secret kubecost/kubecost-object-store";
        let cases = [
            (
                api_error(403, "Forbidden"),
                false,
                "the server says no (HTTP 403)",
            ),
            (
                api_error(503, "ServiceUnavailable"),
                true,
                "the server says no (HTTP 503)",
            ),
            (
                connection_refused(),
                true,
                "ServiceError: connection refused",
            ),
        ];
        for (err, expected_unreachable, expected_message) in cases {
            match kube_error("apply", resource, err) {
                Error::Kube {
                    action: "apply",
                    resource: got_resource,
                    message,
                    unreachable,
                    denied,
                } => {
                    assert_eq!(got_resource, resource);
                    assert_eq!(message, expected_message);
                    assert_eq!(unreachable, expected_unreachable, "{message}");
                    assert_eq!(denied, message.contains("HTTP 403"), "{message}");
                }
                other => panic!("expected a kube error, got {other:?}"),
            }
        }
    }
}
