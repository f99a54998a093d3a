//! The Kubernetes objects kcfed owns in a cluster: the namespace, the service accounts (with
//! their IRSA annotation in IRSA fleets) and the object-store secret. Planned from GETs alone, written with
//! server-side apply under kcfed's field manager, deleted by cleanup when kcfed's label says it
//! made them.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::kube::api::{delete_named, get_opt, kube_error, list_in, server_side_apply};
use crate::names::tags::{K8S_MANAGED_BY, MANAGED_BY_VALUE};
use crate::names::{self, OBJECT_STORE_SECRET, OBJECT_STORE_SECRET_KEY};
use crate::plan::{Action, ResourceKind, Step};

/// The IRSA annotation: EKS's pod identity webhook gives the pods of the service account this role.
pub const ROLE_ARN_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// The only secret type that holds arbitrary keys; a secret's type cannot change once created.
const OPAQUE_SECRET_TYPE: &str = "Opaque";

/// What kcfed wants in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredObjects {
    pub namespace: String,
    /// Service account name and, in IRSA fleets, the IAM role ARN its pods assume (a Pod
    /// Identity fleet's service accounts carry none: the SDKs' credential chains try web
    /// identity before the container credentials Pod Identity gives).
    pub service_accounts: Vec<(String, Option<String>)>,
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

fn service_account_object(namespace: &str, name: &str, role_arn: Option<&str>) -> ServiceAccount {
    let mut metadata = owned_metadata(name, Some(namespace));
    metadata.annotations = role_arn
        .map(|role_arn| BTreeMap::from([(ROLE_ARN_ANNOTATION.to_owned(), role_arn.to_owned())]));
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
            namespace,
            name,
            role_arn.as_deref(),
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

/// Those of the service accounts `names` that exist in `namespace` and that kcfed made (a GET
/// each; none without names).
pub async fn made_service_accounts(
    client: &Client,
    namespace: &str,
    names: &[&str],
) -> Result<Vec<String>, Error> {
    let service_accounts = Api::<ServiceAccount>::namespaced(client.clone(), namespace);
    let found = futures::future::try_join_all(names.iter().map(|name| {
        let resource = format!("service account {}", namespaced_name(namespace, name));
        let service_accounts = &service_accounts;
        async move { get_opt(service_accounts, name, &resource).await }
    }))
    .await?;
    Ok(found
        .into_iter()
        .flatten()
        .filter(|account| made_by_kcfed(&account.metadata))
        .filter_map(|account| account.metadata.name)
        .collect())
}

/// A delete of the service account `name` in `namespace`, as cleanup plans it.
pub fn service_account_ref(namespace: &str, name: &str) -> (String, KubeRef) {
    (
        namespaced_name(namespace, name),
        KubeRef::ServiceAccount {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
    )
}

/// Whether the secret `name` exists in `namespace` (a GET; the user's, never written by kcfed).
pub async fn secret_exists(client: &Client, namespace: &str, name: &str) -> Result<bool, Error> {
    let secrets = Api::<Secret>::namespaced(client.clone(), namespace);
    let resource = format!("secret {}", namespaced_name(namespace, name));
    Ok(get_opt(&secrets, name, &resource).await?.is_some())
}

/// One object kcfed writes: what a create or update of it applies.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeObject {
    Namespace(Namespace),
    ServiceAccount(ServiceAccount),
    Secret(Secret),
}

/// One object kcfed deletes.
#[derive(Debug, Clone, PartialEq)]
pub enum KubeRef {
    Namespace(String),
    ServiceAccount { namespace: String, name: String },
    Secret { namespace: String, name: String },
}

/// The steps that make the cluster hold `desired`: namespace, service accounts, then the
/// secret, each with the object to apply when it changes.
pub fn plan(
    scope: &str,
    desired: &DesiredObjects,
    observed: &ObservedObjects,
) -> Vec<(Step, Option<KubeObject>)> {
    let namespace = &desired.namespace;
    let namespace_step = namespace_step(scope, namespace, observed.namespace.as_ref());
    // Only a namespace kcfed creates carries its label; an existing one is never updated.
    let create_namespace = (namespace_step.action == Action::Create)
        .then(|| KubeObject::Namespace(namespace_object(namespace)));
    let mut steps = vec![(namespace_step, create_namespace)];
    for (name, role_arn) in &desired.service_accounts {
        let step = Step::new(
            scope,
            ResourceKind::ServiceAccount,
            namespaced_name(namespace, name),
            Action::Create,
        );
        let wanted = service_account_object(namespace, name, role_arn.as_deref());
        let step = match observed.service_accounts.get(name) {
            None => step,
            Some(found) => {
                let mut differences = metadata_differences(&wanted.metadata, &found.metadata);
                // Applying without the annotation removes the one kcfed set.
                if role_arn.is_none()
                    && let Some(old) = annotation(&found.metadata, ROLE_ARN_ANNOTATION)
                {
                    differences.push(format!(
                        "annotation {ROLE_ARN_ANNOTATION}: {old} -> (none: Pod Identity)"
                    ));
                }
                update_or_exists(step, differences)
            }
        };
        steps.push(with_object(step, KubeObject::ServiceAccount(wanted)));
    }
    if let Some(content) = &desired.object_store {
        let step = Step::new(
            scope,
            ResourceKind::Secret,
            namespaced_name(namespace, OBJECT_STORE_SECRET),
            Action::Create,
        );
        let wanted = object_store_secret(namespace, content);
        let step = match &observed.object_store {
            None => step,
            Some(found) => secret_step(step, &wanted, found),
        };
        steps.push(with_object(step, KubeObject::Secret(wanted)));
    }
    steps
}

/// The object goes with a step that creates or updates it.
fn with_object(step: Step, object: KubeObject) -> (Step, Option<KubeObject>) {
    let object = step.action.changes_something().then_some(object);
    (step, object)
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
        let current = annotation(found, key);
        if current != Some(value.as_str()) {
            differences.push(change("annotation", key, current, value));
        }
    }
    differences
}

/// Whether an existing service account changes between IRSA's annotation and none: its
/// cluster moves between IRSA and Pod Identity.
pub fn changes_mode(desired: &DesiredObjects, observed: &ObservedObjects) -> bool {
    desired.service_accounts.iter().any(|(name, role)| {
        observed.service_accounts.get(name).is_some_and(|found| {
            annotation(&found.metadata, ROLE_ARN_ANNOTATION).is_some() != role.is_some()
        })
    })
}

fn annotation<'a>(metadata: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    metadata.annotations.as_ref()?.get(key).map(String::as_str)
}

fn change(what: &str, key: &str, current: Option<&str>, wanted: &str) -> String {
    format!("{what} {key}: {} -> {wanted}", current.unwrap_or("(none)"))
}

/// Writes one object with a server-side apply.
pub async fn apply(client: &Client, object: &KubeObject) -> Result<(), Error> {
    match object {
        KubeObject::Namespace(namespace) => {
            let name = namespace.metadata.name.as_deref().unwrap_or_default();
            server_side_apply(
                &Api::<Namespace>::all(client.clone()),
                name,
                namespace,
                &format!("namespace {name}"),
            )
            .await
        }
        KubeObject::ServiceAccount(account) => {
            let (namespace, name) = namespace_and_name(&account.metadata);
            server_side_apply(
                &Api::<ServiceAccount>::namespaced(client.clone(), namespace),
                name,
                account,
                &format!("service account {}", namespaced_name(namespace, name)),
            )
            .await
        }
        KubeObject::Secret(secret) => {
            let (namespace, name) = namespace_and_name(&secret.metadata);
            server_side_apply(
                &Api::<Secret>::namespaced(client.clone(), namespace),
                name,
                secret,
                &format!("secret {}", namespaced_name(namespace, name)),
            )
            .await
        }
    }
}

fn namespace_and_name(metadata: &ObjectMeta) -> (&str, &str) {
    (
        metadata.namespace.as_deref().unwrap_or_default(),
        metadata.name.as_deref().unwrap_or_default(),
    )
}

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
            .map(|kind| (kind.service_account().to_owned(), None))
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

/// Deletes what kcfed made and keeps the rest: objects without kcfed's label were not made by
/// it, and a namespace that holds anything else stays.
pub fn plan_cleanup(
    scope: &str,
    namespace: &str,
    installed: &InstalledObjects,
) -> Vec<(Step, Option<KubeRef>)> {
    let decide = |kind, name: String, metadata: &ObjectMeta, object: KubeRef| {
        if made_by_kcfed(metadata) {
            (Step::new(scope, kind, name, Action::Delete), Some(object))
        } else {
            let step = Step::new(scope, kind, name, Action::Keep).with_detail("not made by kcfed");
            (step, None)
        }
    };
    let observed = &installed.observed;
    let mut steps = Vec::new();
    if let Some(secret) = &observed.object_store {
        steps.push(decide(
            ResourceKind::Secret,
            namespaced_name(namespace, OBJECT_STORE_SECRET),
            &secret.metadata,
            KubeRef::Secret {
                namespace: namespace.to_owned(),
                name: OBJECT_STORE_SECRET.to_owned(),
            },
        ));
    }
    for (name, account) in &observed.service_accounts {
        steps.push(decide(
            ResourceKind::ServiceAccount,
            namespaced_name(namespace, name),
            &account.metadata,
            KubeRef::ServiceAccount {
                namespace: namespace.to_owned(),
                name: name.clone(),
            },
        ));
    }
    if let Some(found) = &observed.namespace {
        let step = decide(
            ResourceKind::Namespace,
            namespace.to_owned(),
            &found.metadata,
            KubeRef::Namespace(namespace.to_owned()),
        );
        steps.push(
            if step.0.action == Action::Delete && !installed.others.is_empty() {
                let keep = Step::new(scope, ResourceKind::Namespace, namespace, Action::Keep)
                    .with_detail(format!("still holds {}", installed.others.join(", ")));
                (keep, None)
            } else {
                step
            },
        );
    }
    steps
}

/// Deletes one object; already gone is fine.
/// Deletes the namespace this run made for a cluster that then failed on a quota; the objects
/// that live in it come later and were never made.
pub async fn undo(client: &Client, object: &KubeObject) -> Result<bool, Error> {
    let KubeObject::Namespace(namespace) = object else {
        return Ok(false);
    };
    let name = namespace.metadata.name.clone().unwrap_or_default();
    delete(client, &KubeRef::Namespace(name)).await?;
    Ok(true)
}

pub async fn delete(client: &Client, object: &KubeRef) -> Result<(), Error> {
    let (result, resource) = match object {
        KubeRef::Namespace(name) => (
            delete_named(Api::<Namespace>::all(client.clone()), name).await,
            format!("namespace {name}"),
        ),
        KubeRef::ServiceAccount { namespace, name } => (
            delete_named(
                Api::<ServiceAccount>::namespaced(client.clone(), namespace),
                name,
            )
            .await,
            format!("service account {}", namespaced_name(namespace, name)),
        ),
        KubeRef::Secret { namespace, name } => (
            delete_named(Api::<Secret>::namespaced(client.clone(), namespace), name).await,
            format!("secret {}", namespaced_name(namespace, name)),
        ),
    };
    match result {
        Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
        other => other.map_err(|err| kube_error("delete", &resource, err)),
    }
}

#[cfg(test)]
mod tests;
