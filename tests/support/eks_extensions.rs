//! What EKS has and moto has not, served from memory by the proxy in front of moto
//! ([`super::proxy::Proxy::with_eks_extensions`]): Pod Identity associations (create, list, describe,
//! update, delete, and the tags of an association's ARN) and add-ons (create, list, describe,
//! delete). Requests and answers are EKS's REST-JSON, as botocore and the Rust SDK speak it; errors
//! are an HTTP status, `x-amzn-ErrorType` and `{"message": ...}`.
//!
//! EKS answers for a cluster that exists, so the proxy first asks moto for the cluster
//! (DescribeCluster, with the caller's own headers) and hands its answer to [`EksExtensions::serve`];
//! the account and region come from the cluster's ARN there. State is kept per (account, region,
//! cluster name), so two accounts' clusters of one name stay apart, as on AWS.
//!
//! moto also gives every cluster of a region one OIDC issuer; EKS gives each its own.
//! [`unique_issuer`] makes the cluster answers passing the proxy carry [`cluster_issuer`].
//!
//! S3 bucket policies are applied as AWS applies them to a caller on TLS ([`bucket_policy`]):
//! kcfed reaches AWS only over https, so its buckets' TLS-only policy (a Deny of `s3:*` when
//! `aws:SecureTransport` is `false`) never refuses its own calls; the bench speaks plain http,
//! and moto applies that Deny to every object call, https or not. The proxy keeps each policy
//! as it was put and answers GetBucketPolicy with it, and gives moto the same without its
//! TLS-only statements (a DeleteBucketPolicy when none is left); any other statement reaches
//! moto, which still enforces it. The TLS-only document itself is checked by kcfed's unit tests,
//! and the bucket tests read it back.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

pub mod bucket_policy;
mod routes;

pub use bucket_policy::BucketPolicies;
pub use routes::{Operation, Route, describe_cluster_path, operation, route};

/// An EKS Pod Identity association, as the proxy holds it; serialized as EKS gives it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentityAssociation {
    pub cluster_name: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_role_arn: Option<String>,
    /// `arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID`.
    pub association_arn: String,
    /// `a-` and 17 lowercase letters and digits.
    pub association_id: String,
    pub tags: BTreeMap<String, String>,
    #[serde(serialize_with = "epoch_seconds")]
    pub created_at: SystemTime,
    #[serde(serialize_with = "epoch_seconds")]
    pub modified_at: SystemTime,
    pub disable_session_tags: bool,
    /// Given by EKS to an association with a target role, for that role's trust policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// A session policy narrowing the role's permissions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// An EKS add-on, as the proxy holds it: always `ACTIVE`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Addon {
    pub addon_name: String,
    pub cluster_name: String,
    pub addon_version: String,
    /// `arn:aws:eks:REGION:ACCOUNT:addon/CLUSTER/ADDON/ID`.
    pub addon_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_values: Option<String>,
    pub tags: BTreeMap<String, String>,
    #[serde(serialize_with = "epoch_seconds")]
    pub created_at: SystemTime,
    #[serde(serialize_with = "epoch_seconds")]
    pub modified_at: SystemTime,
}

/// The version an add-on gets when the caller names none (EKS picks the cluster's default).
pub const DEFAULT_ADDON_VERSION: &str = "v1.0.0-eksbuild.1";

/// A cluster of one account and region: what state is kept by.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ClusterKey {
    account: String,
    region: String,
    name: String,
}

impl ClusterKey {
    fn new(account: &str, region: &str, name: &str) -> ClusterKey {
        ClusterKey {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
        }
    }

    /// From `arn:aws:eks:REGION:ACCOUNT:cluster/NAME`, as DescribeCluster gives it.
    fn of_cluster_arn(arn: &str) -> Option<ClusterKey> {
        let fields: Vec<&str> = arn.splitn(6, ':').collect();
        let ["arn", _, "eks", region, account, resource] = fields.as_slice() else {
            return None;
        };
        let name = resource.strip_prefix("cluster/")?;
        Some(ClusterKey::new(account, region, name))
    }
}

/// The cluster and association id of `arn:aws:eks:REGION:ACCOUNT:podidentityassociation/CLUSTER/ID`.
fn association_of_arn(arn: &str) -> Option<(ClusterKey, String)> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", _, "eks", region, account, resource] = fields.as_slice() else {
        return None;
    };
    let (cluster, id) = resource
        .strip_prefix("podidentityassociation/")?
        .split_once('/')?;
    Some((ClusterKey::new(account, region, cluster), id.to_owned()))
}

/// The account of an IAM role's ARN (`arn:aws:iam::ACCOUNT:role/NAME`).
fn role_account(arn: &str) -> Option<&str> {
    let fields: Vec<&str> = arn.splitn(6, ':').collect();
    match fields.as_slice() {
        ["arn", _, "iam", "", account, role] if role.starts_with("role/") => Some(account),
        _ => None,
    }
}

/// The issuer EKS would give the cluster of `cluster_arn`: `https://oidc.eks.REGION.amazonaws.com/id/`
/// and 32 uppercase hex digits, here from the ARN's hash, so each cluster has its own.
pub fn cluster_issuer(cluster_arn: &str) -> String {
    let region = cluster_arn.split(':').nth(3).unwrap_or_default();
    let hash = Sha256::digest(cluster_arn.as_bytes());
    let id: String = hash[..16]
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();
    format!("https://oidc.eks.{region}.amazonaws.com/id/{id}")
}

/// An EKS answer holding a `cluster` (CreateCluster, DescribeCluster, DeleteCluster) with its
/// OIDC issuer replaced by [`cluster_issuer`]; any other answer unchanged.
pub fn unique_issuer(body: Bytes) -> Bytes {
    let Ok(mut answer) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let cluster = &mut answer["cluster"];
    let (Some(arn), Some(_)) = (
        cluster["arn"].as_str().map(str::to_owned),
        cluster["identity"]["oidc"]["issuer"].as_str(),
    ) else {
        return body;
    };
    cluster["identity"]["oidc"]["issuer"] = Value::String(cluster_issuer(&arn));
    serde_json::to_vec(&answer).map_or(body, Bytes::from)
}

/// An answer of the extensions: 200 with `body`, or an EKS error (`error_type` set, `body`
/// `{"message": ...}`).
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            error_type: None,
            body,
        }
    }

    fn error(status: u16, error_type: &'static str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            error_type: Some(error_type),
            body: json!({ "message": message.into() }),
        }
    }

    fn not_found(message: impl Into<String>) -> Reply {
        Reply::error(404, "ResourceNotFoundException", message)
    }

    fn invalid(message: impl Into<String>) -> Reply {
        Reply::error(400, "InvalidParameterException", message)
    }
}

/// The associations and add-ons of every cluster the proxy served, and the bucket policies put
/// through it. Shared by the proxies that stand in turn in front of one world's moto, so state
/// survives a proxy being replaced.
#[derive(Default)]
pub struct EksExtensions {
    state: Mutex<State>,
    bucket_policies: BucketPolicies,
}

#[derive(Default)]
struct State {
    clusters: HashMap<ClusterKey, ClusterState>,
    /// Orders associations for pagination: a page token is the sequence of its first entry.
    next_sequence: u64,
}

#[derive(Default)]
struct ClusterState {
    associations: Vec<Stored>,
    addons: BTreeMap<String, Addon>,
}

struct Stored {
    association: PodIdentityAssociation,
    sequence: u64,
    /// A retry with the same token gets the association it made, as on EKS.
    client_request_token: Option<String>,
}

impl EksExtensions {
    pub fn new() -> Arc<EksExtensions> {
        Arc::default()
    }

    /// A panic in one test must not turn every later request into a second one.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The bucket policies put through the proxy, each as its caller gave it.
    pub fn bucket_policies(&self) -> &BucketPolicies {
        &self.bucket_policies
    }

    /// The associations of cluster `cluster` of `account` in `region`, oldest first.
    pub fn pod_identity_associations(
        &self,
        account: &str,
        region: &str,
        cluster: &str,
    ) -> Vec<PodIdentityAssociation> {
        let key = ClusterKey::new(account, region, cluster);
        self.state().clusters.get(&key).map_or_else(Vec::new, |c| {
            c.associations
                .iter()
                .map(|stored| stored.association.clone())
                .collect()
        })
    }

    /// The add-ons of a cluster, by name.
    pub fn addons(&self, account: &str, region: &str, cluster: &str) -> Vec<Addon> {
        let key = ClusterKey::new(account, region, cluster);
        self.state()
            .clusters
            .get(&key)
            .map_or_else(Vec::new, |c| c.addons.values().cloned().collect())
    }

    /// Installs `addon` at [`DEFAULT_ADDON_VERSION`] on a cluster, as if someone had done it
    /// outside kcfed (the cluster need not exist in moto); an installed one is kept as it is.
    pub fn install_addon(&self, account: &str, region: &str, cluster: &str, addon: &str) -> Addon {
        let key = ClusterKey::new(account, region, cluster);
        let mut state = self.state();
        let addons = &mut state.clusters.entry(key.clone()).or_default().addons;
        addons
            .entry(addon.to_owned())
            .or_insert_with(|| new_addon(&key, addon, &Map::new()))
            .clone()
    }

    /// Removes an add-on from a cluster; whether it was there.
    pub fn remove_addon(&self, account: &str, region: &str, cluster: &str, addon: &str) -> bool {
        let key = ClusterKey::new(account, region, cluster);
        let mut state = self.state();
        let removed = state
            .clusters
            .get_mut(&key)
            .and_then(|c| c.addons.remove(addon));
        removed.is_some()
    }

    /// Answers `route` with request `body`; `described` is moto's DescribeCluster answer for
    /// the route's cluster, `None` when moto has no such cluster.
    pub fn serve(&self, route: &Route, described: Option<&[u8]>, body: &[u8]) -> Reply {
        let request = match body {
            [] => Map::new(),
            body => match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(request)) => request,
                _ => return Reply::error(400, "SerializationException", "malformed JSON body"),
            },
        };
        let mut state = self.state();
        let state = &mut *state;
        let Some(name) = route.cluster() else {
            return serve_tags(state, route, &request);
        };
        let described = described.and_then(|answer| serde_json::from_slice::<Value>(answer).ok());
        let Some(key) = described
            .as_ref()
            .and_then(|answer| answer["cluster"]["arn"].as_str())
            .and_then(ClusterKey::of_cluster_arn)
        else {
            return Reply::not_found(format!("No cluster found for name: {name}."));
        };
        // Only a created association keeps its number; the gaps are harmless.
        let sequence = state.next_sequence;
        state.next_sequence += 1;
        let cluster = state.clusters.entry(key.clone()).or_default();
        let item = route.item.as_deref().unwrap_or_default();
        let reply = match route.operation {
            Operation::CreatePodIdentityAssociation => {
                create_association(cluster, &key, &request, sequence)
            }
            Operation::ListPodIdentityAssociations => list_associations(cluster, route),
            Operation::DescribePodIdentityAssociation => find_association(cluster, &key, item)
                .map(|stored| json!({ "association": association_json(&stored.association) })),
            Operation::UpdatePodIdentityAssociation => {
                update_association(cluster, &key, item, &request)
            }
            Operation::DeletePodIdentityAssociation => delete_association(cluster, &key, item),
            Operation::CreateAddon => create_addon(cluster, &key, &request),
            Operation::ListAddons => {
                Ok(json!({ "addons": cluster.addons.keys().collect::<Vec<_>>() }))
            }
            Operation::DescribeAddon => cluster
                .addons
                .get(item)
                .map(|addon| json!({ "addon": addon_json(addon, "ACTIVE") }))
                .ok_or_else(|| addon_not_found(&key, item)),
            Operation::DeleteAddon => cluster
                .addons
                .remove(item)
                .map(|addon| json!({ "addon": addon_json(&addon, "DELETING") }))
                .ok_or_else(|| addon_not_found(&key, item)),
            Operation::TagResource | Operation::UntagResource | Operation::ListTagsForResource => {
                unreachable!("the tag routes name no cluster")
            }
        };
        reply.map_or_else(|error| error, Reply::ok)
    }
}

fn text<'a>(request: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    request.get(field).and_then(Value::as_str)
}

fn tags_of(request: &Map<String, Value>) -> BTreeMap<String, String> {
    request
        .get("tags")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// EKS refuses a `roleArn` of another account than the cluster's (the caller cannot pass it);
/// a `targetRoleArn` may be of any account (`key` `None`).
fn check_role(key: Option<&ClusterKey>, field: &str, role_arn: &str) -> Result<(), Reply> {
    match (role_account(role_arn), key) {
        (Some(account), Some(key)) if account != key.account => Err(Reply::invalid(format!(
            "The role {role_arn} is in account {account}, not in the cluster's account {}: \
             {field} must be a role of the cluster's account.",
            key.account
        ))),
        (Some(_), _) => Ok(()),
        (None, _) => Err(Reply::invalid(format!(
            "{field} {role_arn} is not an IAM role ARN."
        ))),
    }
}

fn create_association(
    cluster: &mut ClusterState,
    key: &ClusterKey,
    request: &Map<String, Value>,
    sequence: u64,
) -> Result<Value, Reply> {
    let token = text(request, "clientRequestToken");
    if let Some(stored) = cluster
        .associations
        .iter()
        .find(|stored| token.is_some() && stored.client_request_token.as_deref() == token)
    {
        return Ok(json!({ "association": association_json(&stored.association) }));
    }
    let required = |field: &str| {
        text(request, field).ok_or_else(|| Reply::invalid(format!("{field} is required.")))
    };
    let (namespace, service_account) = (required("namespace")?, required("serviceAccount")?);
    let role_arn = required("roleArn")?;
    check_role(Some(key), "roleArn", role_arn)?;
    let target_role_arn = text(request, "targetRoleArn");
    if let Some(target) = target_role_arn {
        check_role(None, "targetRoleArn", target)?;
    }
    if let Some(existing) = cluster.associations.iter().find(|stored| {
        stored.association.namespace == namespace
            && stored.association.service_account == service_account
    }) {
        return Err(Reply::error(
            409,
            "ResourceInUseException",
            format!(
                "Association already exists: {} for service account {service_account} in \
                 namespace {namespace}.",
                existing.association.association_id
            ),
        ));
    }
    let id = format!("a-{}", random_alphanumeric(17));
    let now = SystemTime::now();
    let association = PodIdentityAssociation {
        cluster_name: key.name.clone(),
        namespace: namespace.to_owned(),
        service_account: service_account.to_owned(),
        role_arn: role_arn.to_owned(),
        target_role_arn: target_role_arn.map(str::to_owned),
        association_arn: format!(
            "arn:aws:eks:{}:{}:podidentityassociation/{}/{id}",
            key.region, key.account, key.name
        ),
        association_id: id,
        tags: tags_of(request),
        created_at: now,
        modified_at: now,
        disable_session_tags: request
            .get("disableSessionTags")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        external_id: target_role_arn.map(|_| random_uuid()),
        policy: text(request, "policy").map(str::to_owned),
    };
    let answer = json!({ "association": association_json(&association) });
    cluster.associations.push(Stored {
        association,
        sequence,
        client_request_token: token.map(str::to_owned),
    });
    Ok(answer)
}

fn list_associations(cluster: &ClusterState, route: &Route) -> Result<Value, Reply> {
    let max_results = match route.query("maxResults").next() {
        None => 100,
        Some(text) => match text.parse::<usize>() {
            Ok(n @ 1..=100) => n,
            _ => {
                return Err(Reply::invalid(format!(
                    "maxResults {text} is not between 1 and 100."
                )));
            }
        },
    };
    let from = match route.query("nextToken").next() {
        None => 0,
        Some(token) => token
            .parse::<u64>()
            .map_err(|_| Reply::invalid(format!("The nextToken {token} is not valid.")))?,
    };
    let namespace = route.query("namespace").next();
    let service_account = route.query("serviceAccount").next();
    let mut matching = cluster.associations.iter().filter(|stored| {
        stored.sequence >= from
            && namespace.is_none_or(|n| stored.association.namespace == n)
            && service_account.is_none_or(|s| stored.association.service_account == s)
    });
    let page: Vec<Value> = matching
        .by_ref()
        .take(max_results)
        .map(|stored| {
            let a = &stored.association;
            json!({
                "clusterName": a.cluster_name,
                "namespace": a.namespace,
                "serviceAccount": a.service_account,
                "associationArn": a.association_arn,
                "associationId": a.association_id,
            })
        })
        .collect();
    let mut answer = json!({ "associations": page });
    if let Some(next) = matching.next() {
        answer["nextToken"] = Value::String(next.sequence.to_string());
    }
    Ok(answer)
}

fn association_not_found(key: &ClusterKey, id: &str) -> Reply {
    Reply::not_found(format!(
        "No Pod Identity association found for id: {id} in cluster {}.",
        key.name
    ))
}

fn find_association<'a>(
    cluster: &'a ClusterState,
    key: &ClusterKey,
    id: &str,
) -> Result<&'a Stored, Reply> {
    cluster
        .associations
        .iter()
        .find(|stored| stored.association.association_id == id)
        .ok_or_else(|| association_not_found(key, id))
}

fn update_association(
    cluster: &mut ClusterState,
    key: &ClusterKey,
    id: &str,
    request: &Map<String, Value>,
) -> Result<Value, Reply> {
    let role_arn = text(request, "roleArn");
    if let Some(role_arn) = role_arn {
        check_role(Some(key), "roleArn", role_arn)?;
    }
    // An empty targetRoleArn takes the target role away.
    let target_role_arn = text(request, "targetRoleArn");
    if let Some(target) = target_role_arn.filter(|target| !target.is_empty()) {
        check_role(None, "targetRoleArn", target)?;
    }
    let stored = cluster
        .associations
        .iter_mut()
        .find(|stored| stored.association.association_id == id)
        .ok_or_else(|| association_not_found(key, id))?;
    let association = &mut stored.association;
    if let Some(role_arn) = role_arn {
        association.role_arn = role_arn.to_owned();
    }
    match target_role_arn {
        Some("") => {
            association.target_role_arn = None;
            association.external_id = None;
        }
        Some(target) => {
            association.target_role_arn = Some(target.to_owned());
            association.external_id.get_or_insert_with(random_uuid);
        }
        None => {}
    }
    if let Some(disable) = request.get("disableSessionTags").and_then(Value::as_bool) {
        association.disable_session_tags = disable;
    }
    if let Some(policy) = text(request, "policy") {
        association.policy = Some(policy.to_owned()).filter(|policy| !policy.is_empty());
    }
    association.modified_at = SystemTime::now();
    Ok(json!({ "association": association_json(association) }))
}

fn delete_association(
    cluster: &mut ClusterState,
    key: &ClusterKey,
    id: &str,
) -> Result<Value, Reply> {
    let place = cluster
        .associations
        .iter()
        .position(|stored| stored.association.association_id == id)
        .ok_or_else(|| association_not_found(key, id))?;
    let stored = cluster.associations.remove(place);
    Ok(json!({ "association": association_json(&stored.association) }))
}

/// The tag operations on an association's ARN; EKS answers them with the errors of its tagging
/// API (`NotFoundException`), not of Pod Identity.
fn serve_tags(state: &mut State, route: &Route, request: &Map<String, Value>) -> Reply {
    let arn = route.item.as_deref().unwrap_or_default();
    let stored = association_of_arn(arn).and_then(|(key, id)| {
        let cluster = state.clusters.get_mut(&key)?;
        cluster
            .associations
            .iter_mut()
            .find(|stored| stored.association.association_id == id)
    });
    let Some(stored) = stored else {
        return Reply::error(
            404,
            "NotFoundException",
            format!("Resource not found: {arn}"),
        );
    };
    let tags = &mut stored.association.tags;
    match route.operation {
        Operation::TagResource => {
            tags.extend(tags_of(request));
            Reply::ok(json!({}))
        }
        Operation::UntagResource => {
            for key in route.query("tagKeys") {
                tags.remove(key);
            }
            Reply::ok(json!({}))
        }
        _ => Reply::ok(json!({ "tags": tags })),
    }
}

fn create_addon(
    cluster: &mut ClusterState,
    key: &ClusterKey,
    request: &Map<String, Value>,
) -> Result<Value, Reply> {
    let name =
        text(request, "addonName").ok_or_else(|| Reply::invalid("addonName is required."))?;
    if cluster.addons.contains_key(name) {
        return Err(Reply::error(
            409,
            "ResourceInUseException",
            format!("Addon already exists: {name}"),
        ));
    }
    let addon = new_addon(key, name, request);
    let answer = json!({ "addon": addon_json(&addon, "ACTIVE") });
    cluster.addons.insert(name.to_owned(), addon);
    Ok(answer)
}

fn new_addon(key: &ClusterKey, name: &str, request: &Map<String, Value>) -> Addon {
    let now = SystemTime::now();
    Addon {
        addon_name: name.to_owned(),
        cluster_name: key.name.clone(),
        addon_version: text(request, "addonVersion")
            .unwrap_or(DEFAULT_ADDON_VERSION)
            .to_owned(),
        addon_arn: format!(
            "arn:aws:eks:{}:{}:addon/{}/{name}/{}",
            key.region,
            key.account,
            key.name,
            random_uuid()
        ),
        service_account_role_arn: text(request, "serviceAccountRoleArn").map(str::to_owned),
        configuration_values: text(request, "configurationValues").map(str::to_owned),
        tags: tags_of(request),
        created_at: now,
        modified_at: now,
    }
}

fn addon_not_found(key: &ClusterKey, addon: &str) -> Reply {
    Reply::not_found(format!("No addon: {addon} found in cluster: {}", key.name))
}

/// Epoch seconds, as REST-JSON gives EKS's timestamps.
fn epoch_seconds<S: Serializer>(at: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    serializer.serialize_f64(since.as_secs_f64())
}

fn association_json(association: &PodIdentityAssociation) -> Value {
    serde_json::to_value(association).expect("an association serializes")
}

/// An add-on as EKS describes it, in `status`.
fn addon_json(addon: &Addon, status: &str) -> Value {
    let mut value = serde_json::to_value(addon).expect("an add-on serializes");
    value["status"] = json!(status);
    value["health"] = json!({ "issues": [] });
    value
}

/// 64 bits that differ from call to call and from process to process (ids need not be secret).
fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64);
    let seed =
        nanos ^ (u64::from(std::process::id()) << 32) ^ CALLS.fetch_add(1, Ordering::Relaxed);
    // The SplitMix64 finaliser.
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn random_alphanumeric(length: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..length)
        .map(|_| char::from(ALPHABET[(random_u64() % ALPHABET.len() as u64) as usize]))
        .collect()
}

/// A version-4 UUID's shape, as EKS gives external ids and add-on ARN suffixes.
fn random_uuid() -> String {
    let (high, low) = (random_u64(), random_u64());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}
