//! A stateful fake of the Kubernetes API server, for the resources kcfed and the Kubecost chart
//! touch.
//!
//! It speaks plain HTTP on 127.0.0.1 and answers the way a real API server does: `Status` bodies
//! with the real reasons and codes, uids, resourceVersions that move only when something changed,
//! and server-side apply that tracks field ownership per manager. kcfed's own kube-rs code runs
//! against it unchanged, through a kubeconfig written by [`Kubeconfig`].
//!
//! helm runs against it too: it serves discovery and the OpenAPI v3 documents helm validates
//! with, reads the protobuf Secrets helm keeps its releases in, and does at once what a cluster's
//! controllers would do in time (workloads ready, a ReplicaSet per Deployment, Services with a
//! cluster IP, claims bound, CRDs established, owned objects collected), so `helm --wait` of
//! both majors returns as it does on a healthy cluster.
//!
//! For an API server that cannot be reached at all, write the kubeconfig and then drop the fake:
//! its port then refuses connections.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future as _;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use hyper::body::{Body as _, Incoming};
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Request, Response};
use k8s_openapi::ByteString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

/// A running fake API server; it stops when dropped.
pub struct FakeKube {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

/// One request as the fake received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub content_type: Option<String>,
}

impl RecordedRequest {
    /// Whether the request asked for a change (POST, PUT, PATCH or DELETE), whatever the answer.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
    }
}

impl FakeKube {
    /// Starts a fake on a free port. Works inside and outside a tokio runtime: the server has its
    /// own thread and runtime, so a test blocked on a child process cannot starve it.
    pub fn start() -> FakeKube {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free local port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking for tokio");
        let addr = listener.local_addr().expect("listener address");
        let state = Arc::new(Mutex::new(State::default()));
        let (shutdown, stopped) = oneshot::channel();
        let server_state = Arc::clone(&state);
        let server = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake kube runtime")
                .block_on(super::http::serve(listener, server_state, handle, stopped));
        });
        FakeKube {
            addr,
            state,
            shutdown: Some(shutdown),
            server: Some(server),
        }
    }

    /// The server URL for a kubeconfig, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stored object, as the API would return it.
    pub fn get(&self, plural: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = Key::new(resource_named(plural), namespace, name);
        self.state().objects.get(&key).cloned()
    }

    /// Every stored object of a kind, across namespaces, sorted by namespace and name.
    pub fn list(&self, plural: &str) -> Vec<Value> {
        let resource = resource_named(plural);
        let state = self.state();
        state
            .objects
            .iter()
            .filter(|(key, _)| key.plural == resource.plural)
            .map(|(_, object)| object.clone())
            .collect()
    }

    /// Preloads an object as if someone had run `kubectl create` (manager `kubectl-create`), so
    /// that kcfed's server-side apply meets a real owner. Returns the stored object.
    /// Panics with the API's message when the real server would refuse it.
    pub fn insert(&self, plural: &str, object: Value) -> Value {
        let resource = resource_named(plural);
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let namespace = namespace.filter(|_| resource.namespaced);
        let created = self.state().create(
            resource,
            namespace.as_deref(),
            object,
            "kubectl-create",
            false,
        );
        match created {
            Ok((_, object)) => object,
            Err(failure) => panic!(
                "fake kube refused to insert a {plural}: {}",
                failure.message
            ),
        }
    }

    /// Removes an object as if someone had deleted it (nothing is recorded as a request).
    pub fn remove(&self, plural: &str, namespace: Option<&str>, name: &str) {
        let key = Key::new(resource_named(plural), namespace, name);
        self.state().objects.remove(&key);
    }

    /// Gives the fake what an EKS cluster with the EBS CSI driver add-on has: the driver and
    /// a default StorageClass that uses it.
    pub fn with_ebs_storage(self) -> FakeKube {
        self.insert(
            "csidrivers",
            json!({"metadata": {"name": "ebs.csi.aws.com"}, "spec": {}}),
        );
        self.insert(
            "storageclasses",
            json!({
                "metadata": {
                    "name": "gp3",
                    "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                },
                "provisioner": "ebs.csi.aws.com",
                "parameters": {"type": "gp3"},
                "volumeBindingMode": "WaitForFirstConsumer",
            }),
        );
        self
    }

    /// How many POST/PUT/PATCH/DELETE requests reached the server, whatever their outcome.
    pub fn write_count(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|r| r.is_write())
            .count()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// While set, every request is answered 503 ServiceUnavailable. kube-rs's default client
    /// retries 503 with backoff for minutes; a client built with `Config::default_retry = false`
    /// fails at once.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.state().unavailable = unavailable;
    }

    /// Pods serve `port` at `at` (a listener of the test's) through the port-forward
    /// subresource, which speaks the API server's WebSocket protocol (`v4.channel.k8s.io`).
    pub fn serve_pod_port(&self, port: u16, at: SocketAddr) {
        self.state().pod_ports.insert(port, at);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.join();
        }
    }
}

/// A kubeconfig with one context per fake cluster. Entries are named the way
/// `aws eks update-kubeconfig` names them (context, cluster and user all take the cluster ARN,
/// or whatever name the caller passes); the user holds a static token instead of the
/// `aws eks get-token` exec plugin.
#[derive(Default)]
pub struct Kubeconfig {
    contexts: Vec<(String, String, String)>,
    current: Option<String>,
}

impl Kubeconfig {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `context`, pointing at `fake` through a cluster and a user both named `cluster`.
    pub fn context(self, context: &str, cluster: &str, fake: &FakeKube) -> Self {
        self.context_at(context, cluster, &fake.url())
    }

    /// Adds `context` like [`Kubeconfig::context`], with the API server at `server` (a proxy in
    /// front of a fake, say).
    pub fn context_at(mut self, context: &str, cluster: &str, server: &str) -> Self {
        self.contexts
            .push((context.to_owned(), cluster.to_owned(), server.to_owned()));
        self
    }

    pub fn current(mut self, context: &str) -> Self {
        self.current = Some(context.to_owned());
        self
    }

    pub fn to_yaml(&self) -> String {
        let clusters: Vec<Value> = self
            .contexts
            .iter()
            .map(|(_, cluster, server)| json!({"name": cluster, "cluster": {"server": server}}))
            .collect();
        let users: Vec<Value> = self
            .contexts
            .iter()
            .map(|(_, cluster, _)| json!({"name": cluster, "user": {"token": "fake-kube-token"}}))
            .collect();
        let contexts: Vec<Value> = self
            .contexts
            .iter()
            .map(|(context, cluster, _)| {
                json!({"name": context, "context": {"cluster": cluster, "user": cluster}})
            })
            .collect();
        let kubeconfig = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": clusters,
            "users": users,
            "contexts": contexts,
            "current-context": self.current.clone().unwrap_or_default(),
        });
        serde_saphyr::to_string(&kubeconfig).expect("a kubeconfig serializes to YAML")
    }

    pub fn write(&self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        std::fs::write(path, self.to_yaml())
            .unwrap_or_else(|e| panic!("write kubeconfig {}: {e}", path.display()));
    }
}

struct Resource {
    /// API group, empty for the core group.
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    /// What the cluster does with an object of this kind once it is written.
    controller: Controller,
}

impl Resource {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// The controllers the fake stands in for, by kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Controller {
    None,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Service,
    Claim,
    Pod,
    Crd,
}

impl Controller {
    /// Kinds whose status follows a spec carry a `metadata.generation`.
    fn tracks_generation(self) -> bool {
        !matches!(
            self,
            Controller::None | Controller::Service | Controller::Claim
        )
    }
}

const fn resource_of(
    group: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    controller: Controller,
) -> Resource {
    Resource {
        group,
        version: "v1",
        plural,
        kind,
        namespaced,
        controller,
    }
}

const NAMESPACES: &Resource = &resource_of("", "namespaces", "Namespace", false, Controller::None);
const REPLICA_SETS: &Resource = &resource_of(
    "apps",
    "replicasets",
    "ReplicaSet",
    true,
    Controller::ReplicaSet,
);

const RBAC: &str = "rbac.authorization.k8s.io";
const CRDS: &str = "apiextensions.k8s.io";
const STORAGE: &str = "storage.k8s.io";

const RESOURCES: [&Resource; 18] = [
    NAMESPACES,
    &resource_of(
        "",
        "serviceaccounts",
        "ServiceAccount",
        true,
        Controller::None,
    ),
    &resource_of("", "secrets", "Secret", true, Controller::None),
    &resource_of("", "configmaps", "ConfigMap", true, Controller::None),
    &resource_of("", "services", "Service", true, Controller::Service),
    &resource_of(
        "",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        Controller::Claim,
    ),
    &resource_of("", "pods", "Pod", true, Controller::Pod),
    &resource_of(
        "apps",
        "deployments",
        "Deployment",
        true,
        Controller::Deployment,
    ),
    REPLICA_SETS,
    &resource_of(
        "apps",
        "statefulsets",
        "StatefulSet",
        true,
        Controller::StatefulSet,
    ),
    &resource_of(
        "apps",
        "daemonsets",
        "DaemonSet",
        true,
        Controller::DaemonSet,
    ),
    &resource_of(RBAC, "clusterroles", "ClusterRole", false, Controller::None),
    &resource_of(
        RBAC,
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        Controller::None,
    ),
    &resource_of(RBAC, "roles", "Role", true, Controller::None),
    &resource_of(RBAC, "rolebindings", "RoleBinding", true, Controller::None),
    &resource_of(
        CRDS,
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        Controller::Crd,
    ),
    &resource_of(STORAGE, "csidrivers", "CSIDriver", false, Controller::None),
    &resource_of(
        STORAGE,
        "storageclasses",
        "StorageClass",
        false,
        Controller::None,
    ),
];

fn resource(plural: &str) -> Option<&'static Resource> {
    RESOURCES.into_iter().find(|r| r.plural == plural)
}

/// The group versions served, in discovery order: the core group first.
fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut served: Vec<(&str, &str)> = Vec::new();
    for resource in RESOURCES {
        if !served.contains(&(resource.group, resource.version)) {
            served.push((resource.group, resource.version));
        }
    }
    served
}

fn resource_named(plural: &str) -> &'static Resource {
    resource(plural).unwrap_or_else(|| panic!("fake kube does not serve {plural:?}"))
}

/// Storage key; ordered like etcd's keys, so lists come out sorted by namespace then name.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    plural: &'static str,
    namespace: String,
    name: String,
}

impl Key {
    fn new(resource: &Resource, namespace: Option<&str>, name: &str) -> Key {
        Key {
            plural: resource.plural,
            namespace: namespace.unwrap_or_default().to_owned(),
            name: name.to_owned(),
        }
    }
}

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Value>,
    resource_version: u64,
    last_uid: u64,
    requests: Vec<RecordedRequest>,
    unavailable: bool,
    /// Where a pod's port is served, for the port-forward subresource: by port, for every pod.
    pod_ports: HashMap<u16, SocketAddr>,
}

/// What the HTTP layer hands to the state: the recorded part plus what answering needs.
struct Call {
    request: RecordedRequest,
    user_agent: Option<String>,
    body: Vec<u8>,
}

/// What a path under `/api/v1/` or `/apis/GROUP/VERSION/` names: a collection (across
/// namespaces when a namespaced kind has no `namespace`), or one object when `name` is set.
struct Target<'a> {
    resource: &'static Resource,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
}

impl<'a> Target<'a> {
    fn parse(group: &str, version: &str, segments: &[&'a str]) -> Option<Target<'a>> {
        let served = |plural| resource(plural).filter(|r| r.group == group && r.version == version);
        let namespaced = |plural| served(plural).filter(|r| r.namespaced);
        let cluster_scoped = |plural| served(plural).filter(|r| !r.namespaced);
        let (resource, namespace, name) = match *segments {
            ["namespaces", namespace, plural] => (namespaced(plural)?, Some(namespace), None),
            ["namespaces", namespace, plural, name] => {
                (namespaced(plural)?, Some(namespace), Some(name))
            }
            [plural] => (served(plural)?, None, None),
            [plural, name] => (cluster_scoped(plural)?, None, Some(name)),
            _ => return None,
        };
        Some(Target {
            resource,
            namespace,
            name,
        })
    }
}

type Reply = Result<(u16, Value), Failure>;

impl State {
    fn answer(&mut self, call: &Call) -> (u16, Value) {
        self.requests.push(call.request.clone());
        if self.unavailable {
            let failure = Failure::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            );
            return (failure.code, failure.status());
        }
        self.route(call)
            .unwrap_or_else(|failure| (failure.code, failure.status()))
    }

    fn route(&mut self, call: &Call) -> Reply {
        let request = &call.request;
        let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
        match (request.method.as_str(), segments.as_slice()) {
            ("GET", ["version"]) => Ok((200, version())),
            ("GET", ["api"]) => Ok((
                200,
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            )),
            ("GET", ["api", "v1"]) => Ok((200, resource_list("", "v1"))),
            ("GET", ["apis"]) => Ok((200, group_list())),
            ("GET", ["apis", group, version]) if group_versions().contains(&(group, version)) => {
                Ok((200, resource_list(group, version)))
            }
            ("GET", ["openapi", "v3"]) => Ok((200, openapi_root())),
            ("GET", ["openapi", "v3", "api", "v1"]) => Ok((200, openapi_document("", "v1"))),
            ("GET", ["openapi", "v3", "apis", group, version])
                if group_versions().contains(&(group, version)) =>
            {
                Ok((200, openapi_document(group, version)))
            }
            (_, ["api", "v1", rest @ ..]) => {
                let target = Target::parse("", "v1", rest).ok_or_else(Failure::no_route)?;
                self.answer_resource(call, target)
            }
            (_, ["apis", group, version, rest @ ..]) => {
                let target = Target::parse(group, version, rest).ok_or_else(Failure::no_route)?;
                self.answer_resource(call, target)
            }
            _ => Err(Failure::no_route()),
        }
    }

    fn answer_resource(&mut self, call: &Call, target: Target) -> Reply {
        let Target {
            resource,
            namespace,
            name,
        } = target;
        let query = parse_query(call.request.query.as_deref());
        let dry_run = query.get("dryRun").is_some_and(|v| v == "All");
        let manager = field_manager(&query, call.user_agent.as_deref());
        let media_type = call.request.content_type.as_deref().unwrap_or_default();
        let media_type = media_type.split(';').next().unwrap_or_default().trim();
        match (call.request.method.as_str(), name) {
            ("GET", None) if is_watch(&query) => self.watch(resource, namespace, &query),
            ("GET", None) => self.list(resource, namespace, &query),
            ("POST", None) if resource.namespaced == namespace.is_some() => {
                let body = parse_write_body(&call.body, media_type)?;
                self.create(resource, namespace, body, &manager, dry_run)
            }
            ("PUT", Some(name)) => {
                let body = parse_write_body(&call.body, media_type)?;
                let key = Key::new(resource, namespace, name);
                self.replace(resource, key, body, &manager, dry_run)
            }
            ("GET", Some(name)) => {
                let object = self.objects.get(&Key::new(resource, namespace, name));
                let object = object.ok_or_else(|| Failure::not_found(resource, name))?;
                Ok((200, object.clone()))
            }
            ("PATCH", Some(name)) if media_type == "application/apply-patch+yaml" => {
                let body = parse_body(&call.body, true)?;
                let manager = query.get("fieldManager").filter(|m| !m.is_empty());
                let manager = manager.ok_or_else(|| {
                    Failure::bad_request(
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: \
                         is required for apply patch",
                    )
                })?;
                let force = query.get("force").is_some_and(|v| v == "true");
                let key = Key::new(resource, namespace, name);
                self.apply(resource, key, body, manager, force, dry_run)
            }
            // Strategic merge differs from a merge patch only on lists with merge keys, which the
            // kinds served here barely have.
            ("PATCH", Some(name))
                if media_type == "application/merge-patch+json"
                    || media_type == "application/strategic-merge-patch+json" =>
            {
                let body = parse_body(&call.body, false)?;
                let key = Key::new(resource, namespace, name);
                self.merge_patch(resource, key, body, &manager, dry_run)
            }
            ("PATCH", Some(_)) => Err(Failure::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types \
                     include: application/merge-patch+json, \
                     application/strategic-merge-patch+json, application/apply-patch+yaml \
                     (got {media_type:?})"
                ),
            )),
            ("DELETE", Some(name)) => {
                self.delete(resource, Key::new(resource, namespace, name), dry_run)
            }
            (method, _) => Err(Failure::new(
                405,
                "MethodNotAllowed",
                format!(
                    "the server does not allow this method on the requested resource: {method}"
                ),
            )),
        }
    }

    fn list(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        query: &HashMap<String, String>,
    ) -> Reply {
        let labels = parse_selector(query.get("labelSelector"))?;
        let fields = parse_selector(query.get("fieldSelector"))?;
        if let Some(unsupported) = fields
            .iter()
            .map(Requirement::key)
            .find(|key| !matches!(*key, "metadata.name" | "metadata.namespace"))
        {
            let message = format!("field label not supported: {unsupported}");
            return Err(Failure::bad_request(message));
        }
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|(key, _)| key.plural == resource.plural)
            .filter(|(key, _)| namespace.is_none_or(|ns| key.namespace == ns))
            .filter(|(key, object)| {
                let object_fields = json!({
                    "metadata.name": key.name,
                    "metadata.namespace": key.namespace,
                });
                matches_all(&labels, &object["metadata"]["labels"])
                    && matches_all(&fields, &object_fields)
            })
            .map(|(_, object)| {
                // The real server leaves kind and apiVersion to the list itself.
                let mut item = object.clone();
                if let Some(item) = item.as_object_mut() {
                    item.remove("kind");
                    item.remove("apiVersion");
                }
                item
            })
            .collect();
        Ok((
            200,
            json!({
                "kind": format!("{}List", resource.kind),
                "apiVersion": resource.api_version(),
                "metadata": {"resourceVersion": self.resource_version.to_string()},
                "items": items,
            }),
        ))
    }

    /// A watch, as a list of its events. It sends only the initial events a client asks for
    /// (`sendInitialEvents`, as client-go's watch-list does): the objects that exist, then the
    /// bookmark that ends them. Later changes are not streamed, since the fake's objects never
    /// change behind a client's back; the HTTP layer holds an eventless watch open for a while,
    /// as a quiet one would be.
    fn watch(
        &self,
        resource: &Resource,
        namespace: Option<&str>,
        query: &HashMap<String, String>,
    ) -> Reply {
        if query.get("sendInitialEvents").is_none_or(|v| v != "true") {
            return Ok((200, json!([])));
        }
        let (_, list) = self.list(resource, namespace, query)?;
        let mut events: Vec<Value> = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                let mut object = item.clone();
                object["apiVersion"] = resource.api_version().into();
                object["kind"] = resource.kind.into();
                json!({"type": "ADDED", "object": object})
            })
            .collect();
        events.push(json!({"type": "BOOKMARK", "object": {
            "apiVersion": resource.api_version(),
            "kind": resource.kind,
            "metadata": {
                "resourceVersion": self.resource_version.to_string(),
                "annotations": {"k8s.io/initial-events-end": "true"},
            },
        }}));
        Ok((200, Value::Array(events)))
    }

    fn create(
        &mut self,
        resource: &Resource,
        namespace: Option<&str>,
        body: Value,
        manager: &str,
        dry_run: bool,
    ) -> Reply {
        let name = body["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            return Err(Failure::new(
                422,
                "Invalid",
                format!(
                    "{} \"\" is invalid: metadata.name: Required value: name or generateName \
                     is required",
                    resource.kind
                ),
            ));
        }
        if let Some(in_body) = body["metadata"]["namespace"].as_str()
            && resource.namespaced
            && Some(in_body) != namespace
        {
            return Err(Failure::bad_request(
                "the namespace of the provided object does not match the namespace sent on the \
                 request",
            ));
        }
        self.require_namespace(namespace)?;
        let key = Key::new(resource, namespace, &name);
        if self.objects.contains_key(&key) {
            return Err(Failure::already_exists(resource, &name));
        }
        let object = normalize(resource, body)?;
        let creator = Manager::new(manager, "Update", field_paths(&object).0);
        Ok(self.insert_new(key, object, creator, dry_run))
    }

    /// Server-side apply: the applied fields win, fields another manager set survive, and fields
    /// this manager applied before but no longer applies are removed unless someone else owns
    /// them. Changing a value another manager owns is a conflict unless `force` is set, which
    /// moves the ownership over.
    fn apply(
        &mut self,
        resource: &Resource,
        key: Key,
        body: Value,
        manager: &str,
        force: bool,
        dry_run: bool,
    ) -> Reply {
        if body["apiVersion"] != resource.api_version().as_str() || body["kind"] != resource.kind {
            return Err(Failure::bad_request(format!(
                "apply of {} expects apiVersion {} and kind {}",
                resource.plural,
                resource.api_version(),
                resource.kind
            )));
        }
        check_name(&body, &key.name)?;
        let applied = normalize(resource, body)?;
        let (fields, _) = field_paths(&applied);
        let Some(existing) = self.objects.get(&key).cloned() else {
            self.require_namespace(resource.namespaced.then_some(key.namespace.as_str()))?;
            let applier = Manager::new(manager, "Apply", fields);
            return Ok(self.insert_new(key, applied, applier, dry_run));
        };

        let mut managers = read_managers(&existing);
        let conflicts: Vec<(String, FieldPath)> = managers
            .iter()
            .filter(|m| m.name != manager)
            .flat_map(|m| {
                m.fields
                    .intersection(&fields)
                    .map(move |p| (m.name.clone(), p.clone()))
            })
            .filter(|(_, path)| value_at(&existing, path) != value_at(&applied, path))
            .collect();
        if !conflicts.is_empty() && !force {
            return Err(Failure::apply_conflicts(&conflicts));
        }
        for other in managers.iter_mut().filter(|m| m.name != manager) {
            other
                .fields
                .retain(|p| !conflicts.iter().any(|(_, c)| c == p));
        }

        let mine = position_of(&mut managers, manager, "Apply");
        let others: BTreeSet<&FieldPath> = managers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != mine)
            .flat_map(|(_, m)| &m.fields)
            .collect();
        let mut object = existing.clone();
        for dropped in managers[mine].fields.difference(&fields) {
            if !others.contains(dropped) {
                remove_path(&mut object, dropped);
            }
        }
        merge_into(&mut object, applied);
        managers[mine].fields = fields;
        self.update(key, &existing, object, managers, mine, dry_run)
    }

    /// JSON merge patch (RFC 7386); the patching manager takes over the fields it changed.
    fn merge_patch(
        &mut self,
        resource: &Resource,
        key: Key,
        patch: Value,
        manager: &str,
        dry_run: bool,
    ) -> Reply {
        let existing = self.objects.get(&key).cloned();
        let existing = existing.ok_or_else(|| Failure::not_found(resource, &key.name))?;
        check_name(&patch, &key.name)?;
        let expected = &patch["metadata"]["resourceVersion"];
        if !expected.is_null() && *expected != existing["metadata"]["resourceVersion"] {
            return Err(Failure::modified(resource, &key.name));
        }
        let patch = normalize(resource, patch)?;
        let (set, cleared) = field_paths(&patch);
        let changed: BTreeSet<FieldPath> = set
            .into_iter()
            .filter(|p| value_at(&existing, p) != value_at(&patch, p))
            .collect();
        let mut object = existing.clone();
        merge_into(&mut object, patch);

        let mut managers = read_managers(&existing);
        for m in &mut managers {
            m.fields
                .retain(|p| !changed.contains(p) && !cleared.iter().any(|c| p.starts_with(c)));
        }
        let mine = position_of(&mut managers, manager, "Update");
        managers[mine].fields.extend(changed);
        self.update(key, &existing, object, managers, mine, dry_run)
    }

    /// PUT: the body replaces the object. Without a resourceVersion the update is
    /// unconditional, as the real server allows for these kinds; fields the body no longer has
    /// leave their managers, and the updater takes over the ones it changed.
    fn replace(
        &mut self,
        resource: &Resource,
        key: Key,
        body: Value,
        manager: &str,
        dry_run: bool,
    ) -> Reply {
        let existing = self.objects.get(&key).cloned();
        let existing = existing.ok_or_else(|| Failure::not_found(resource, &key.name))?;
        check_name(&body, &key.name)?;
        let expected = &body["metadata"]["resourceVersion"];
        if expected.as_str().is_some_and(|v| !v.is_empty())
            && *expected != existing["metadata"]["resourceVersion"]
        {
            return Err(Failure::modified(resource, &key.name));
        }
        let mut object = normalize(resource, body)?;
        if let Some(status) = existing.get("status") {
            object["status"] = status.clone();
        }
        let (fields, _) = field_paths(&object);
        let mut managers = read_managers(&existing);
        for m in &mut managers {
            m.fields
                .retain(|p| fields.contains(p) && value_at(&existing, p) == value_at(&object, p));
        }
        let changed: BTreeSet<FieldPath> = fields
            .into_iter()
            .filter(|p| value_at(&existing, p) != value_at(&object, p))
            .collect();
        let mine = position_of(&mut managers, manager, "Update");
        managers[mine].fields.extend(changed);
        managers.retain(|m| !m.fields.is_empty());
        let mine = position_of(&mut managers, manager, "Update");
        self.update(key, &existing, object, managers, mine, dry_run)
    }

    fn delete(&mut self, resource: &Resource, key: Key, dry_run: bool) -> Reply {
        let object = self.objects.get(&key).cloned();
        let mut object = object.ok_or_else(|| Failure::not_found(resource, &key.name))?;
        if !dry_run {
            self.objects.remove(&key);
            self.resource_version += 1;
            // The garbage collector, at once: what the object owned goes with it.
            let uid = object["metadata"]["uid"].clone();
            self.objects.retain(|_, owned| {
                let owners = owned["metadata"]["ownerReferences"].as_array();
                !owners.is_some_and(|owners| owners.iter().any(|o| o["uid"] == uid))
            });
        }
        if resource.plural != NAMESPACES.plural {
            let uid = &object["metadata"]["uid"];
            let details = json!({"name": key.name, "kind": resource.plural, "uid": uid});
            let status = json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            });
            return Ok((200, status));
        }
        // The real server answers with the namespace now Terminating and empties it in the
        // background; the fake empties it at once.
        if !dry_run {
            self.objects
                .retain(|k, _| !(resource_named(k.plural).namespaced && k.namespace == key.name));
        }
        metadata_mut(&mut object).insert("deletionTimestamp".into(), now());
        object["status"] = json!({"phase": "Terminating"});
        Ok((200, object))
    }

    /// Stores an updated object, unless nothing changed: the real server then keeps the
    /// resourceVersion, which is how a re-run shows up as a no-op.
    fn update(
        &mut self,
        key: Key,
        existing: &Value,
        mut object: Value,
        mut managers: Vec<Manager>,
        actor: usize,
        dry_run: bool,
    ) -> Reply {
        for field in ["uid", "creationTimestamp", "resourceVersion", "generation"] {
            let kept = existing["metadata"][field].clone();
            if !kept.is_null() {
                metadata_mut(&mut object).insert(field.into(), kept);
            }
        }
        if object["spec"] != existing["spec"]
            && let Some(generation) = existing["metadata"]["generation"].as_u64()
        {
            metadata_mut(&mut object).insert("generation".into(), (generation + 1).into());
        }
        write_managers(&mut object, &managers);
        set_identity(&key, &mut object);
        if object == *existing {
            return Ok((200, object));
        }
        managers[actor].time = now();
        write_managers(&mut object, &managers);
        Ok((200, self.store(key, object, dry_run)))
    }

    /// Stores a new object: a uid, a creation time and its creator's fields.
    fn insert_new(
        &mut self,
        key: Key,
        mut object: Value,
        creator: Manager,
        dry_run: bool,
    ) -> (u16, Value) {
        self.last_uid += 1;
        let uid = format!("6b1f3c2e-0000-4000-8000-{:012x}", self.last_uid);
        let metadata = metadata_mut(&mut object);
        metadata.insert("uid".into(), uid.into());
        metadata.insert("creationTimestamp".into(), now());
        if resource_named(key.plural).controller.tracks_generation() {
            metadata.insert("generation".into(), 1.into());
        }
        write_managers(&mut object, &[creator]);
        (201, self.store(key, object, dry_run))
    }

    /// Gives the object its identity, its status as its controller would report it and a new
    /// resourceVersion, and keeps it (unless dry run) with what its controller makes of it.
    fn store(&mut self, key: Key, mut object: Value, dry_run: bool) -> Value {
        set_identity(&key, &mut object);
        let made = settle(resource_named(key.plural).controller, &mut object);
        if !dry_run {
            self.resource_version += 1;
            let version = self.resource_version.to_string();
            metadata_mut(&mut object).insert("resourceVersion".into(), version.into());
            self.objects.insert(key, object.clone());
            for owned in made {
                self.store_owned(owned);
            }
        }
        object
    }

    /// Keeps an object a controller made, unless it is there already.
    fn store_owned(&mut self, owned: Value) {
        let namespace = owned["metadata"]["namespace"].as_str();
        let name = owned["metadata"]["name"].as_str().unwrap_or_default();
        let key = Key::new(REPLICA_SETS, namespace, name);
        if self.objects.contains_key(&key) {
            return;
        }
        let controller = Manager::new("kube-controller-manager", "Update", field_paths(&owned).0);
        self.insert_new(key, owned, controller, false);
    }

    fn require_namespace(&self, namespace: Option<&str>) -> Result<(), Failure> {
        match namespace {
            Some(ns) if !self.objects.contains_key(&Key::new(NAMESPACES, None, ns)) => {
                Err(Failure::not_found(NAMESPACES, ns))
            }
            _ => Ok(()),
        }
    }
}

/// Sets what the server decides whatever the request said: kind, apiVersion, name, namespace
/// and the defaults the real server fills in.
fn set_identity(key: &Key, object: &mut Value) {
    let resource = resource_named(key.plural);
    object["apiVersion"] = resource.api_version().into();
    object["kind"] = resource.kind.into();
    let metadata = metadata_mut(object);
    metadata.insert("name".into(), key.name.clone().into());
    if resource.namespaced {
        metadata.insert("namespace".into(), key.namespace.clone().into());
    }
    match resource.kind {
        "Namespace" => {
            let labels = metadata.entry("labels").or_insert_with(|| json!({}));
            labels["kubernetes.io/metadata.name"] = key.name.clone().into();
            if object["spec"].is_null() {
                object["spec"] = json!({"finalizers": ["kubernetes"]});
            }
            if object["status"].is_null() {
                object["status"] = json!({"phase": "Active"});
            }
        }
        "Secret" if object["type"].is_null() => object["type"] = "Opaque".into(),
        _ => {}
    }
    set_defaults(resource.controller, object);
}

/// The defaults the real server fills in that clients read back: helm 3's readiness checks
/// dereference replicas and rolling-update settings without looking.
fn set_defaults(controller: Controller, object: &mut Value) {
    let spec = &mut object["spec"];
    let mut default = |field: &str, value: Value| {
        if spec[field].is_null() {
            spec[field] = value;
        }
    };
    match controller {
        Controller::Deployment => {
            default("replicas", 1.into());
            default("strategy", json!({"type": "RollingUpdate"}));
            if spec["strategy"]["type"] == "RollingUpdate"
                && spec["strategy"]["rollingUpdate"].is_null()
            {
                spec["strategy"]["rollingUpdate"] =
                    json!({"maxUnavailable": "25%", "maxSurge": "25%"});
            }
        }
        Controller::StatefulSet => {
            default("replicas", 1.into());
            default("updateStrategy", json!({"type": "RollingUpdate"}));
            if spec["updateStrategy"]["type"] == "RollingUpdate"
                && spec["updateStrategy"]["rollingUpdate"].is_null()
            {
                spec["updateStrategy"]["rollingUpdate"] = json!({"partition": 0});
            }
        }
        Controller::DaemonSet => {
            default("updateStrategy", json!({"type": "RollingUpdate"}));
            if spec["updateStrategy"]["type"] == "RollingUpdate"
                && spec["updateStrategy"]["rollingUpdate"].is_null()
            {
                spec["updateStrategy"]["rollingUpdate"] =
                    json!({"maxUnavailable": 1, "maxSurge": 0});
            }
        }
        Controller::ReplicaSet => default("replicas", 1.into()),
        Controller::Service => {
            default("type", "ClusterIP".into());
            if spec["type"] != "ExternalName" && spec["clusterIP"].is_null() {
                let ip = cluster_ip(&object["metadata"]);
                object["spec"]["clusterIP"] = ip.clone().into();
                object["spec"]["clusterIPs"] = json!([ip]);
            }
        }
        Controller::None | Controller::Claim | Controller::Pod | Controller::Crd => {}
    }
}

/// A stable address in the service range, from the Service's namespace and name.
fn cluster_ip(metadata: &Value) -> String {
    let digest = short_hash(&json!([metadata["namespace"], metadata["name"]]));
    format!("10.100.{}.{}", (digest >> 8) % 256, digest % 254 + 1)
}

/// A short stable hash of a JSON value (stands in for the pod-template-hash and revisions).
fn short_hash(value: &Value) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    value.to_string().hash(&mut hasher);
    hasher.finish() & 0xff_ffff_ffff
}

/// Sets the status a healthy cluster's controller reports for the object's current spec, and
/// returns what that controller makes of it (a Deployment's ReplicaSet).
fn settle(controller: Controller, object: &mut Value) -> Vec<Value> {
    let generation = object["metadata"]["generation"].clone();
    let replicas = object["spec"]["replicas"].as_u64().unwrap_or(1);
    let condition = |kind: &str, reason: &str| json!({"type": kind, "status": "True", "reason": reason, "lastTransitionTime": now()});
    let mut made = Vec::new();
    object["status"] = match controller {
        Controller::None => return made,
        Controller::Deployment => {
            made.push(replica_set_of(object));
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    condition("Available", "MinimumReplicasAvailable"),
                    condition("Progressing", "NewReplicaSetAvailable"),
                ],
            })
        }
        Controller::ReplicaSet => json!({
            "observedGeneration": generation,
            "replicas": replicas,
            "fullyLabeledReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
        }),
        Controller::StatefulSet => {
            let revision = format!(
                "{}-{:x}",
                object["metadata"]["name"].as_str().unwrap_or_default(),
                short_hash(&object["spec"]["template"])
            );
            json!({
                "observedGeneration": generation,
                "replicas": replicas,
                "readyReplicas": replicas,
                "currentReplicas": replicas,
                "updatedReplicas": replicas,
                "availableReplicas": replicas,
                "currentRevision": revision,
                "updateRevision": revision,
            })
        }
        // One node, so one pod per DaemonSet.
        Controller::DaemonSet => json!({
            "observedGeneration": generation,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberReady": 1,
            "numberAvailable": 1,
            "numberMisscheduled": 0,
        }),
        Controller::Service => json!({"loadBalancer": {}}),
        Controller::Claim => {
            let requested = object["spec"]["resources"]["requests"].clone();
            json!({
                "phase": "Bound",
                "accessModes": object["spec"]["accessModes"],
                "capacity": requested,
            })
        }
        Controller::Pod => json!({
            "phase": "Running",
            "conditions": [condition("Ready", ""), condition("ContainersReady", "")],
        }),
        Controller::Crd => json!({
            "acceptedNames": object["spec"]["names"],
            "storedVersions": object["spec"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["storage"] == true)
                .map(|v| v["name"].clone())
                .collect::<Vec<_>>(),
            "conditions": [
                condition("NamesAccepted", "NoConflicts"),
                condition("Established", "InitialNamesAccepted"),
            ],
        }),
    };
    made
}

/// The ReplicaSet the Deployment controller keeps for a Deployment's current pod template: named
/// and labelled by the template's hash, controlled by the Deployment.
fn replica_set_of(deployment: &Value) -> Value {
    let metadata = &deployment["metadata"];
    let hash = format!("{:x}", short_hash(&deployment["spec"]["template"]));
    let mut template = deployment["spec"]["template"].clone();
    template["metadata"]["labels"]["pod-template-hash"] = hash.clone().into();
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = hash.clone().into();
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": format!("{}-{hash}", metadata["name"].as_str().unwrap_or_default()),
            "namespace": metadata["namespace"],
            "labels": template["metadata"]["labels"],
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": metadata["name"],
                "uid": metadata["uid"],
                "controller": true,
                "blockOwnerDeletion": true,
            }],
        },
        "spec": {
            "replicas": deployment["spec"]["replicas"],
            "selector": selector,
            "template": template,
        },
    })
}

/// Drops what clients may not set and turns a Secret's `stringData` into base64 `data`, as the
/// real server does on every write.
fn normalize(resource: &Resource, mut object: Value) -> Result<Value, Failure> {
    let fields = object
        .as_object_mut()
        .expect("bodies are checked to be objects");
    fields.remove("status");
    let string_data = fields.remove("stringData");
    if let Some(Value::Object(metadata)) = fields.get_mut("metadata") {
        for server_set in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
        ] {
            metadata.remove(server_set);
        }
    }
    if let (Some(Value::Object(plain)), "Secret") = (string_data, resource.kind) {
        let data = fields.entry("data").or_insert_with(|| json!({}));
        if !data.is_object() {
            *data = json!({});
        }
        for (key, value) in plain {
            let text = value.as_str().ok_or_else(|| {
                Failure::bad_request(format!("stringData.{key} must be a string"))
            })?;
            let encoded = serde_json::to_value(ByteString(text.as_bytes().to_vec()))
                .expect("bytes encode as base64");
            data[key] = encoded;
        }
    }
    Ok(object)
}

fn check_name(body: &Value, name: &str) -> Result<(), Failure> {
    match body["metadata"]["name"].as_str() {
        Some(in_body) if in_body != name => Err(Failure::bad_request(format!(
            "the name of the object ({in_body}) does not match the name on the URL ({name})"
        ))),
        _ => Ok(()),
    }
}

/// RFC 7386: maps merge key by key, null removes, anything else replaces. Applied
/// configurations merge the same way, lists being atomic for the kinds served here.
fn merge_into(target: &mut Value, patch: Value) {
    let Value::Object(patch) = patch else {
        *target = patch;
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(&key);
        } else {
            merge_into(target.entry(key).or_insert(Value::Null), value);
        }
    }
}

/// A field as server-side apply tracks it, e.g. `["metadata", "labels", "app"]`.
type FieldPath = Vec<String>;

/// The fields a body sets and the ones it clears with null. Scalars, lists and empty maps are
/// leaves; identity fields belong to no one.
fn field_paths(body: &Value) -> (BTreeSet<FieldPath>, BTreeSet<FieldPath>) {
    fn walk(
        value: &Value,
        path: &mut FieldPath,
        set: &mut BTreeSet<FieldPath>,
        cleared: &mut BTreeSet<FieldPath>,
    ) {
        match value {
            Value::Object(map) if !map.is_empty() || path.is_empty() => {
                for (key, child) in map {
                    let identity = match path.as_slice() {
                        [] => matches!(key.as_str(), "apiVersion" | "kind"),
                        [m] => m == "metadata" && matches!(key.as_str(), "name" | "namespace"),
                        _ => false,
                    };
                    if !identity {
                        path.push(key.clone());
                        walk(child, path, set, cleared);
                        path.pop();
                    }
                }
            }
            Value::Null => {
                cleared.insert(path.clone());
            }
            _ => {
                set.insert(path.clone());
            }
        }
    }
    let (mut set, mut cleared) = (BTreeSet::new(), BTreeSet::new());
    walk(body, &mut Vec::new(), &mut set, &mut cleared);
    (set, cleared)
}

fn value_at<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

fn remove_path(value: &mut Value, path: &[String]) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(map) = value.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        map.remove(first);
    } else if let Some(child) = map.get_mut(first) {
        remove_path(child, rest);
        // Apply leaves no `labels: {}` behind once it removed the last label it owned.
        if child.as_object().is_some_and(Map::is_empty) {
            map.remove(first);
        }
    }
}

/// One `metadata.managedFields` entry.
struct Manager {
    name: String,
    operation: String,
    time: Value,
    fields: BTreeSet<FieldPath>,
}

impl Manager {
    fn new(name: &str, operation: &str, fields: BTreeSet<FieldPath>) -> Manager {
        Manager {
            name: name.to_owned(),
            operation: operation.to_owned(),
            time: now(),
            fields,
        }
    }
}

fn read_managers(object: &Value) -> Vec<Manager> {
    fn decode(fields: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
        for (key, child) in fields.as_object().into_iter().flatten() {
            let Some(name) = key.strip_prefix("f:") else {
                continue;
            };
            path.push(name.to_owned());
            if child.as_object().is_some_and(Map::is_empty) {
                out.insert(path.clone());
            } else {
                decode(child, path, out);
            }
            path.pop();
        }
    }
    let entries = object["metadata"]["managedFields"].as_array();
    entries
        .into_iter()
        .flatten()
        .map(|entry| {
            let mut fields = BTreeSet::new();
            decode(&entry["fieldsV1"], &mut Vec::new(), &mut fields);
            Manager {
                name: entry["manager"].as_str().unwrap_or_default().to_owned(),
                operation: entry["operation"].as_str().unwrap_or_default().to_owned(),
                time: entry["time"].clone(),
                fields,
            }
        })
        .collect()
}

fn write_managers(object: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| {
            let mut fields = json!({});
            for path in &m.fields {
                let leaf = path.iter().fold(&mut fields, |node, key| {
                    node.as_object_mut()
                        .expect("field sets nest objects")
                        .entry(format!("f:{key}"))
                        .or_insert_with(|| json!({}))
                });
                *leaf = json!({});
            }
            json!({
                "manager": m.name,
                "operation": m.operation,
                "apiVersion": "v1",
                "time": m.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": fields,
            })
        })
        .collect();
    metadata_mut(object).insert("managedFields".into(), entries.into());
}

/// Index of the (manager, operation) entry, added empty when missing.
fn position_of(managers: &mut Vec<Manager>, name: &str, operation: &str) -> usize {
    if let Some(i) = managers
        .iter()
        .position(|m| m.name == name && m.operation == operation)
    {
        return i;
    }
    managers.push(Manager::new(name, operation, BTreeSet::new()));
    managers.len() - 1
}

/// The manager of a non-apply write: `fieldManager`, else the client's name from its
/// User-Agent, as the real server derives it.
fn field_manager(query: &HashMap<String, String>, user_agent: Option<&str>) -> String {
    match query.get("fieldManager") {
        Some(manager) if !manager.is_empty() => manager.clone(),
        _ => {
            let agent = user_agent.and_then(|ua| ua.split('/').next());
            agent
                .filter(|a| !a.is_empty())
                .unwrap_or("unknown")
                .to_owned()
        }
    }
}

fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    object["metadata"]
        .as_object_mut()
        .expect("made an object above")
}

fn now() -> Value {
    serde_json::to_value(Time(Timestamp::now())).expect("timestamps serialize")
}

enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

impl Requirement {
    fn key(&self) -> &str {
        match self {
            Self::Equals(key, _)
            | Self::NotEquals(key, _)
            | Self::Exists(key)
            | Self::NotExists(key) => key,
        }
    }

    /// `!=` also matches objects without the key, as in Kubernetes.
    fn matches(&self, values: &Value) -> bool {
        let value = |key: &str| values.get(key).and_then(Value::as_str);
        match self {
            Self::Equals(key, expected) => value(key) == Some(expected),
            Self::NotEquals(key, unwanted) => value(key) != Some(unwanted),
            Self::Exists(key) => value(key).is_some(),
            Self::NotExists(key) => value(key).is_none(),
        }
    }
}

/// Equality-based selectors (`k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated); set-based
/// ones (`k in (a,b)`) are refused rather than misread.
fn parse_selector(selector: Option<&String>) -> Result<Vec<Requirement>, Failure> {
    let terms = selector.map(|s| s.split(',')).into_iter().flatten();
    terms
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .map(|term| {
            let requirement = if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().to_owned())
            } else if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotEquals(key.trim().to_owned(), value.trim().to_owned())
            } else if let Some((key, value)) = term.split_once("==").or(term.split_once('=')) {
                Requirement::Equals(key.trim().to_owned(), value.trim().to_owned())
            } else {
                Requirement::Exists(term.to_owned())
            };
            let valid = |s: &str| {
                !s.is_empty()
                    && s.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            };
            if valid(requirement.key()) {
                Ok(requirement)
            } else {
                Err(Failure::bad_request(format!(
                    "unable to parse requirement: {term:?} (the fake supports only equality \
                     selectors)"
                )))
            }
        })
        .collect()
}

fn matches_all(requirements: &[Requirement], values: &Value) -> bool {
    requirements.iter().all(|r| r.matches(values))
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    let pairs = query.unwrap_or_default().split('&');
    pairs
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let mut bytes = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let byte = text.as_bytes()[i];
        let escaped = text
            .get(i + 1..i + 3)
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (byte, escaped) {
            (b'%', Some(decoded)) => {
                bytes.push(decoded);
                i += 2;
            }
            (b'+', _) => bytes.push(b' '),
            _ => bytes.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A create or replace body: JSON, or the protobuf typed clients send.
fn parse_write_body(body: &[u8], media_type: &str) -> Result<Value, Failure> {
    if media_type == "application/vnd.kubernetes.protobuf" {
        return super::kube_protobuf::decode(body).map_err(|message| {
            Failure::new(
                415,
                "UnsupportedMediaType",
                format!("protobuf body: {message}"),
            )
        });
    }
    parse_body(body, false)
}

fn is_watch(query: &HashMap<String, String>) -> bool {
    query.get("watch").is_some_and(|w| w == "true" || w == "1")
}

/// How long a watch stays open without events: its `timeoutSeconds`, at most a few seconds so a
/// client that re-watches does so often and a test never waits on it.
fn watch_hold(query: &HashMap<String, String>) -> std::time::Duration {
    let asked = query.get("timeoutSeconds").and_then(|t| t.parse().ok());
    std::time::Duration::from_secs(asked.unwrap_or(5).min(5))
}

/// Parses a request body as a JSON object; apply bodies may also be YAML.
fn parse_body(body: &[u8], yaml: bool) -> Result<Value, Failure> {
    let parsed = serde_json::from_slice::<Value>(body).map_err(|e| e.to_string());
    let parsed = match parsed {
        Err(_) if yaml => std::str::from_utf8(body)
            .map_err(|e| e.to_string())
            .and_then(|text| serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())),
        other => other,
    };
    match parsed {
        Ok(object @ Value::Object(_)) => Ok(object),
        Ok(other) => Err(Failure::bad_request(format!(
            "the request body must be an object, not {other}"
        ))),
        Err(e) => Err(Failure::bad_request(format!(
            "error decoding the request body: {e}"
        ))),
    }
}

/// A failed answer, sent as a `Status` object.
struct Failure {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
}

impl Failure {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(400, "BadRequest", message)
    }

    fn no_route() -> Failure {
        let failure = Failure::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        Failure {
            details: Some(json!({})),
            ..failure
        }
    }

    fn not_found(resource: &Resource, name: &str) -> Failure {
        Failure {
            details: Some(json!({"name": name, "kind": resource.plural})),
            ..Failure::new(
                404,
                "NotFound",
                format!("{} \"{name}\" not found", resource.plural),
            )
        }
    }

    fn modified(resource: &Resource, name: &str) -> Failure {
        Failure::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; \
                 please apply your changes to the latest version and try again",
                resource.plural
            ),
        )
    }

    fn already_exists(resource: &Resource, name: &str) -> Failure {
        let message = format!("{} \"{name}\" already exists", resource.plural);
        Failure {
            details: Some(json!({"name": name, "kind": resource.plural})),
            ..Failure::new(409, "AlreadyExists", message)
        }
    }

    fn apply_conflicts(conflicts: &[(String, FieldPath)]) -> Failure {
        let described: Vec<(String, String)> = conflicts
            .iter()
            .map(|(manager, path)| {
                (
                    format!("conflict with \"{manager}\""),
                    format!(".{}", path.join(".")),
                )
            })
            .collect();
        let summary: Vec<String> = described
            .iter()
            .map(|(who, field)| format!("{who}: {field}"))
            .collect();
        let causes: Vec<Value> = described
            .iter()
            .map(|(who, field)| json!({"reason": "FieldManagerConflict", "message": who, "field": field}))
            .collect();
        let message = format!(
            "Apply failed with {} conflict{}: {}",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" },
            summary.join("; ")
        );
        Failure {
            details: Some(json!({"causes": causes})),
            ..Failure::new(409, "Conflict", message)
        }
    }

    fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.5-eks-3025e55",
        "gitCommit": "6f9b57bba1e0c1cf0f6a1ad28edba4d8ebc0a7a5",
        "gitTreeState": "clean",
        "buildDate": "2025-09-19T09:45:16Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn served_in(group: &str, version: &str) -> impl Iterator<Item = &'static Resource> {
    RESOURCES
        .into_iter()
        .filter(move |r| r.group == group && r.version == version)
}

/// Discovery of one group version (`/api/v1`, `/apis/GROUP/VERSION`).
fn resource_list(group: &str, version: &str) -> Value {
    let resources: Vec<Value> = served_in(group, version)
        .map(|r| {
            json!({
                "name": r.plural,
                "singularName": r.kind.to_lowercase(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            })
        })
        .collect();
    let group_version = served_in(group, version).next().map(Resource::api_version);
    json!({"kind": "APIResourceList", "groupVersion": group_version, "resources": resources})
}

/// Discovery of the named groups (`/apis`), in the legacy form clients fall back to.
fn group_list() -> Value {
    let groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, version)| {
            let preferred =
                json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [preferred], "preferredVersion": preferred})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn openapi_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: where each group version's document is.
fn openapi_root() -> Value {
    let paths: Map<String, Value> = group_versions()
        .into_iter()
        .map(|(group, version)| {
            let path = openapi_path(group, version);
            let url = format!("/openapi/v3/{path}?hash=fake");
            (path, json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// One group version's OpenAPI v3 document, reduced to what clients look up in it: each kind's
/// PATCH operation and its `fieldValidation` parameter, which tells helm that the server
/// validates fields itself (helm then sends `fieldValidation=Strict` instead of downloading the
/// whole schema).
fn openapi_document(group: &str, version: &str) -> Value {
    let paths: Map<String, Value> = served_in(group, version)
        .map(|r| {
            let scope = if r.namespaced { "namespaces/{namespace}/" } else { "" };
            let path = format!("/{}/{scope}{}/{{name}}", openapi_path(group, version), r.plural);
            let operation = json!({
                "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
                "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}],
                "responses": {},
            });
            (path, json!({"patch": operation}))
        })
        .collect();
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.5"},
        "paths": paths,
    })
}

/// An answer's bytes, sent at once, and for a watch how long the response then stays open.
/// Other answers have a known length, so hyper sends each in one write (a body sent in pieces
/// meets delayed ACKs and costs every request about 40 ms).
struct ReplyBody {
    data: Option<bytes::Bytes>,
    hold: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl ReplyBody {
    fn new(data: String, hold: Option<std::time::Duration>) -> ReplyBody {
        ReplyBody {
            data: Some(data.into()).filter(|d: &bytes::Bytes| !d.is_empty()),
            hold: hold.map(|hold| Box::pin(tokio::time::sleep(hold))),
        }
    }
}

impl hyper::body::Body for ReplyBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<bytes::Bytes>, Self::Error>>> {
        if let Some(data) = self.data.take() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
        }
        match &mut self.hold {
            Some(hold) => hold.as_mut().poll(cx).map(|()| None),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none() && self.hold.is_none()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match (&self.data, &self.hold) {
            (data, None) => {
                hyper::body::SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            _ => hyper::body::SizeHint::default(),
        }
    }
}

async fn handle(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<ReplyBody>, hyper::Error> {
    if request.uri().path().ends_with("/portforward")
        && request.headers().contains_key(hyper::header::UPGRADE)
    {
        return Ok(port_forward(&state, request));
    }
    let (parts, mut body) = request.into_parts();
    let mut bytes = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Some(data) = frame?.data_ref() {
            bytes.extend_from_slice(data);
        }
    }
    let header = |name| {
        let value = parts.headers.get(name)?;
        value.to_str().ok().map(str::to_owned)
    };
    let call = Call {
        request: RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            content_type: header(CONTENT_TYPE),
        },
        user_agent: header(USER_AGENT),
        body: bytes,
    };
    let query = parse_query(call.request.query.as_deref());
    let (code, reply) = lock(&state).answer(&call);
    let body = match reply {
        // A watch's events, one JSON document per line, then a quiet while before it ends.
        Value::Array(events) if code == 200 && is_watch(&query) => {
            let lines: String = events.iter().map(|event| format!("{event}\n")).collect();
            ReplyBody::new(lines, Some(watch_hold(&query)))
        }
        reply => ReplyBody::new(reply.to_string(), None),
    };
    let response = Response::builder()
        .status(code)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .expect("a status code and a JSON body make a valid response");
    Ok(response)
}

/// Upgrades a port-forward request to the API server's WebSocket protocol and carries one
/// port's data (channel 0; its error channel 1 stays quiet) to and from where the pods serve it.
fn port_forward(state: &Arc<Mutex<State>>, request: Request<Incoming>) -> Response<ReplyBody> {
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    let query = parse_query(request.uri().query());
    let port: u16 = query
        .get("ports")
        .and_then(|ports| ports.parse().ok())
        .unwrap_or_default();
    let target = lock(state).pod_ports.get(&port).copied();
    lock(state).requests.push(RecordedRequest {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        content_type: None,
    });
    let accept = request
        .headers()
        .get("sec-websocket-key")
        .map(|key| derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(request).await else {
            return;
        };
        let socket = tokio_tungstenite::WebSocketStream::from_raw_socket(
            hyper_util::rt::TokioIo::new(upgraded),
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            None,
        )
        .await;
        carry_port(socket, port, target).await;
    });
    Response::builder()
        .status(101)
        .header(hyper::header::UPGRADE, "websocket")
        .header(hyper::header::CONNECTION, "Upgrade")
        .header("sec-websocket-accept", accept)
        .header("sec-websocket-protocol", "v4.channel.k8s.io")
        .body(ReplyBody::new(String::new(), None))
        .expect("a valid upgrade response")
}

async fn carry_port<S>(
    socket: tokio_tungstenite::WebSocketStream<S>,
    port: u16,
    target: Option<SocketAddr>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures::{SinkExt as _, StreamExt as _};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_tungstenite::tungstenite::Message;
    let (mut to_client, mut from_client) = socket.split();
    let [low, high] = port.to_le_bytes();
    // Each channel opens with its port, as the API server's first frames do.
    for channel in [0, 1] {
        if to_client
            .send(Message::Binary(vec![channel, low, high].into()))
            .await
            .is_err()
        {
            return;
        }
    }
    let Some(Ok(pod)) = (match target {
        Some(target) => Some(tokio::net::TcpStream::connect(target).await),
        None => None,
    }) else {
        let _ = to_client.close().await;
        return;
    };
    let (mut pod_reader, mut pod_writer) = pod.into_split();
    let to_pod = async move {
        while let Some(Ok(message)) = from_client.next().await {
            let data = match message {
                Message::Binary(data) if data.first() == Some(&0) => data,
                Message::Close(_) => break,
                _ => continue,
            };
            if pod_writer.write_all(&data[1..]).await.is_err() {
                break;
            }
        }
        let _ = pod_writer.shutdown().await;
    };
    let from_pod = async move {
        let mut buffer = [0_u8; 8192];
        while let Ok(read) = pod_reader.read(&mut buffer).await {
            if read == 0 {
                break;
            }
            let mut frame = vec![0_u8];
            frame.extend_from_slice(&buffer[..read]);
            if to_client.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
        let _ = to_client.close().await;
    };
    tokio::join!(to_pod, from_pod);
}

/// A panic in one test must not turn every later request into a second one.
fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
