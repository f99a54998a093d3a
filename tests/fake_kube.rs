//! The fake API server, driven by the real kube-rs client through a generated kubeconfig, the way
//! kcfed talks to an EKS cluster.

mod support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::config::KubeConfigOptions;
use kube::core::Status;
use serde_json::{Value, json};
use support::fake_kube::{FakeKube, Kubeconfig};

const CLUSTER_ARN: &str = "arn:aws:eks:us-east-1:111122223333:cluster/primary";
const NAMESPACE: &str = "kubecost";

/// A client configuration read from a kubeconfig file, as kcfed reads one.
async fn config_for(fake: &FakeKube) -> kube::Config {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("config");
    Kubeconfig::new()
        .context(CLUSTER_ARN, CLUSTER_ARN, fake)
        .current(CLUSTER_ARN)
        .write(&path);
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig parses");
    let options = KubeConfigOptions {
        context: Some(CLUSTER_ARN.to_owned()),
        ..Default::default()
    };
    kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .expect("kubeconfig loads")
}

async fn client_for(fake: &FakeKube) -> kube::Client {
    kube::Client::try_from(config_for(fake).await).expect("client builds")
}

/// A fake with the namespace kcfed installs into already present.
fn fake_with_namespace() -> FakeKube {
    let fake = FakeKube::start();
    fake.insert("namespaces", json!({"metadata": {"name": NAMESPACE}}));
    fake
}

fn api_status<T: std::fmt::Debug>(result: kube::Result<T>) -> Box<Status> {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn config_map(name: &str, labels: &[(&str, &str)], data: &[(&str, &str)]) -> ConfigMap {
    let strings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(strings(labels)).filter(|l| !l.is_empty()),
            ..Default::default()
        },
        data: Some(strings(data)),
        ..Default::default()
    }
}

fn resource_version(object: &impl kube::Resource) -> u64 {
    let version = object.meta().resource_version.as_deref();
    version.expect("resourceVersion").parse().expect("numeric")
}

/// One HTTP/1.1 exchange without kube-rs, for requests kube-rs refuses to send.
fn raw(fake: &FakeKube, method: &str, path: &str, content_type: &str, body: &str) -> (u16, Value) {
    raw_bytes(fake, method, path, content_type, body.as_bytes())
}

#[tokio::test]
async fn version_and_discovery_answer_like_a_1_33_server() {
    let fake = FakeKube::start();
    let version = client_for(&fake).await.apiserver_version().await.unwrap();
    assert!(version.git_version.starts_with("v1.33."), "{version:?}");

    let (code, resources) = raw(&fake, "GET", "/api/v1", "application/json", "");
    assert_eq!(code, 200);
    let names: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "namespaces",
            "serviceaccounts",
            "secrets",
            "configmaps",
            "services",
            "persistentvolumeclaims",
            "pods"
        ]
    );

    let (code, groups) = raw(&fake, "GET", "/apis", "application/json", "");
    assert_eq!(code, 200);
    let groups: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["preferredVersion"]["groupVersion"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        [
            "apps/v1",
            "rbac.authorization.k8s.io/v1",
            "apiextensions.k8s.io/v1",
            "storage.k8s.io/v1"
        ]
    );
    let (code, apps) = raw(&fake, "GET", "/apis/apps/v1", "application/json", "");
    assert_eq!((code, &apps["groupVersion"]), (200, &json!("apps/v1")));
    let (code, _) = raw(&fake, "GET", "/apis/batch/v1", "application/json", "");
    assert_eq!(code, 404);
}

#[tokio::test]
async fn openapi_v3_tells_clients_that_the_server_validates_fields() {
    let fake = FakeKube::start();
    let (code, root) = raw(&fake, "GET", "/openapi/v3", "", "");
    assert_eq!(code, 200);
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 has a document");
    let (path, _) = url.split_once('?').unwrap();
    let (code, document) = raw(&fake, "GET", path, "", "");
    assert_eq!(code, 200);
    let patch =
        &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(patch["parameters"][0]["name"], "fieldValidation");
    let cluster_scoped = &document["paths"].as_object().unwrap();
    assert!(
        !cluster_scoped
            .keys()
            .any(|p| p.contains("{namespace}/clusterroles"))
    );
}

/// A body as client-go's typed clients send it: the k8s protobuf envelope around a Secret.
fn protobuf_secret(name: &str, labels: &[(&str, &str)], data: &[(&str, &[u8])]) -> Vec<u8> {
    fn field(number: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![number << 3 | 2];
        let mut length = content.len();
        while length >= 0x80 {
            out.push(u8::try_from(length & 0x7f).unwrap() | 0x80);
            length >>= 7;
        }
        out.push(u8::try_from(length).unwrap());
        out.extend_from_slice(content);
        out
    }
    let entry = |key: &str, value: &[u8]| [field(1, key.as_bytes()), field(2, value)].concat();
    let mut metadata = [field(1, name.as_bytes()), field(3, NAMESPACE.as_bytes())].concat();
    for (key, value) in labels {
        metadata.extend(field(11, &entry(key, value.as_bytes())));
    }
    let mut secret = field(1, &metadata);
    for (key, value) in data {
        secret.extend(field(2, &entry(key, value)));
    }
    secret.extend(field(3, b"helm.sh/release.v1"));
    let type_meta = [field(1, b"v1"), field(2, b"Secret")].concat();
    [
        b"k8s\0".as_slice(),
        &field(1, &type_meta),
        &field(2, &secret),
    ]
    .concat()
}

/// [`raw`] with a body of bytes, not text.
fn raw_bytes(
    fake: &FakeKube,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Value) {
    let address = fake.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).expect("connect to the fake");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: fake\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("send");
    stream.write_all(body).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    let code = response[9..12].parse().expect("status code");
    let (_, body) = response.split_once("\r\n\r\n").expect("headers end");
    (code, serde_json::from_str(body).expect("JSON body"))
}

#[tokio::test]
async fn protobuf_secrets_are_stored_and_replaced_as_helm_writes_its_releases() {
    let fake = FakeKube::start();
    fake.insert("namespaces", json!({"metadata": {"name": NAMESPACE}}));
    let protobuf = "application/vnd.kubernetes.protobuf";
    let name = "sh.helm.release.v1.kubecost.v1";
    let pending = protobuf_secret(
        name,
        &[("owner", "helm"), ("status", "pending-install")],
        &[("release", b"H4sI")],
    );
    let collection = format!("/api/v1/namespaces/{NAMESPACE}/secrets");
    let (code, created) = raw_bytes(&fake, "POST", &collection, protobuf, &pending);
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["metadata"]["labels"]["status"], "pending-install");
    assert_eq!(created["data"]["release"], "SDRzSQ==");
    assert_eq!(created["type"], "helm.sh/release.v1");

    let deployed = protobuf_secret(
        name,
        &[("owner", "helm"), ("status", "deployed")],
        &[("release", b"H4sJ")],
    );
    let (code, replaced) = raw_bytes(
        &fake,
        "PUT",
        &format!("{collection}/{name}"),
        protobuf,
        &deployed,
    );
    assert_eq!(code, 200, "{replaced}");
    assert_eq!(replaced["metadata"]["uid"], created["metadata"]["uid"]);
    assert_ne!(
        replaced["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    let stored = fake.get("secrets", Some(NAMESPACE), name).unwrap();
    assert_eq!(stored["metadata"]["labels"]["status"], "deployed");
    assert_eq!(stored["data"]["release"], "SDRzSg==");

    let (code, status) = raw_bytes(&fake, "POST", &collection, protobuf, b"not protobuf");
    assert_eq!(
        (code, &status["reason"]),
        (415, &json!("UnsupportedMediaType"))
    );
}

#[tokio::test]
async fn workloads_report_ready_as_a_healthy_cluster_would_and_their_owned_objects_go_with_them() {
    let fake = FakeKube::start();
    fake.insert("namespaces", json!({"metadata": {"name": NAMESPACE}}));
    let labels = json!({"app": "cost-analyzer"});
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "cost-analyzer", "namespace": NAMESPACE},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    });
    let path = format!("/apis/apps/v1/namespaces/{NAMESPACE}/deployments");
    let (code, created) = raw(
        &fake,
        "POST",
        &path,
        "application/json",
        &deployment.to_string(),
    );
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["replicas"], 1);
    assert_eq!(created["metadata"]["generation"], 1);
    assert_eq!(created["status"]["observedGeneration"], 1);
    assert_eq!(created["status"]["readyReplicas"], 1);
    let replica_sets = fake.list("replicasets");
    assert_eq!(replica_sets.len(), 1);
    let owner = &replica_sets[0]["metadata"]["ownerReferences"][0];
    assert_eq!(
        (&owner["uid"], &owner["controller"]),
        (&created["metadata"]["uid"], &json!(true))
    );
    assert_eq!(replica_sets[0]["status"]["readyReplicas"], 1);
    let hash = &replica_sets[0]["metadata"]["labels"]["pod-template-hash"];
    assert_eq!(
        &replica_sets[0]["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash
    );

    let claim = json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": NAMESPACE},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "32Gi"}}},
    });
    let (_, claim) = raw(
        &fake,
        "POST",
        &format!("/api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims"),
        "application/json",
        &claim.to_string(),
    );
    assert_eq!(claim["status"]["phase"], "Bound");
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ui", "namespace": NAMESPACE}, "spec": {"ports": [{"port": 9090}]}});
    let (_, service) = raw(
        &fake,
        "POST",
        &format!("/api/v1/namespaces/{NAMESPACE}/services"),
        "application/json",
        &service.to_string(),
    );
    assert!(
        service["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.100."),
        "{service}"
    );

    let (code, _) = raw(&fake, "DELETE", &format!("{path}/cost-analyzer"), "", "");
    assert_eq!(code, 200);
    assert!(
        fake.list("replicasets").is_empty(),
        "the ReplicaSet outlived its Deployment"
    );
}

#[tokio::test]
async fn a_watch_list_sends_the_objects_then_the_bookmark_that_ends_them() {
    let fake = FakeKube::start();
    fake.insert("namespaces", json!({"metadata": {"name": NAMESPACE}}));
    fake.insert(
        "configmaps",
        json!({"metadata": {"name": "a", "namespace": NAMESPACE}}),
    );
    let address = fake.url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).expect("connect to the fake");
    let query =
        "watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1";
    let request = format!(
        "GET /api/v1/namespaces/{NAMESPACE}/configmaps?{query} HTTP/1.1\r\nHost: fake\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("receive");
    let events: Vec<Value> = response
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 2, "{response}");
    assert_eq!(events[0]["type"], "ADDED");
    assert_eq!(events[0]["object"]["metadata"]["name"], "a");
    assert_eq!(events[0]["object"]["kind"], "ConfigMap");
    assert_eq!(events[1]["type"], "BOOKMARK");
    assert_eq!(
        events[1]["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn missing_objects_are_none_for_get_opt_and_not_found_for_get() {
    let fake = FakeKube::start();
    let namespaces: Api<Namespace> = Api::all(client_for(&fake).await);

    assert!(namespaces.get_opt("absent").await.unwrap().is_none());
    let status = api_status(namespaces.get("absent").await);
    assert!(status.is_not_found());
    assert_eq!(status.code, 404);
    assert_eq!(status.message, "namespaces \"absent\" not found");
}

#[tokio::test]
async fn create_stores_the_object_and_refuses_a_duplicate() {
    let fake = fake_with_namespace();
    let client = client_for(&fake).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    let wanted = config_map("settings", &[], &[("a", "1")]);

    let created = config_maps
        .create(&PostParams::default(), &wanted)
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some());
    assert!(created.metadata.creation_timestamp.is_some());
    assert_eq!(created.metadata.namespace.as_deref(), Some(NAMESPACE));
    assert_eq!(
        Some(created),
        config_maps.get_opt("settings").await.unwrap()
    );

    let status = api_status(config_maps.create(&PostParams::default(), &wanted).await);
    // As in client-go, AlreadyExists is a 409 but not a "conflict".
    assert!(status.is_already_exists() && !status.is_conflict());
    assert_eq!(status.code, 409);

    let elsewhere: Api<ConfigMap> = Api::namespaced(client, "absent");
    let status = api_status(elsewhere.create(&PostParams::default(), &wanted).await);
    assert!(status.is_not_found());
    assert_eq!(status.message, "namespaces \"absent\" not found");
}

#[tokio::test]
async fn server_side_apply_creates_then_merges_with_what_others_set() {
    let fake = fake_with_namespace();
    let client = client_for(&fake).await;
    let config_maps: Api<ConfigMap> = Api::namespaced(client, NAMESPACE);
    let kcfed = PatchParams::apply("kcfed");

    let first = config_map("settings", &[("app", "kubecost")], &[("a", "1")]);
    let created = config_maps
        .patch("settings", &kcfed, &Patch::Apply(&first))
        .await
        .unwrap();
    let managed = &created.metadata.managed_fields.as_ref().unwrap()[0];
    assert_eq!(managed.manager.as_deref(), Some("kcfed"));
    assert_eq!(managed.operation.as_deref(), Some("Apply"));

    // Someone else labels and annotates the object.
    let ops = PatchParams {
        field_manager: Some("ops".to_owned()),
        ..Default::default()
    };
    let theirs =
        json!({"metadata": {"labels": {"team": "platform"}, "annotations": {"note": "x"}}});
    config_maps
        .patch("settings", &ops, &Patch::Merge(&theirs))
        .await
        .unwrap();

    // kcfed's next apply drops `a`, which only it owned, and keeps what ops set.
    let mut second = config_map("settings", &[("app", "kubecost")], &[("b", "2")]);
    second.metadata.annotations = Some([("kcfed/version".to_owned(), "1".to_owned())].into());
    let updated = config_maps
        .patch("settings", &kcfed, &Patch::Apply(&second))
        .await
        .unwrap();
    let labels = updated.metadata.labels.clone().unwrap();
    assert_eq!(labels["app"], "kubecost");
    assert_eq!(labels["team"], "platform");
    let annotations = updated.metadata.annotations.clone().unwrap();
    assert_eq!(
        annotations.keys().collect::<Vec<_>>(),
        ["kcfed/version", "note"]
    );
    assert_eq!(
        updated.data,
        Some([("b".to_owned(), "2".to_owned())].into())
    );
    assert!(resource_version(&updated) > resource_version(&created));

    // Applying the same configuration again changes nothing, resourceVersion included.
    let again = config_maps
        .patch("settings", &kcfed, &Patch::Apply(&second))
        .await
        .unwrap();
    assert_eq!(again, updated);
}

#[tokio::test]
async fn apply_conflicts_with_another_owner_unless_forced() {
    let fake = fake_with_namespace();
    fake.insert(
        "configmaps",
        json!({"metadata": {"name": "settings", "namespace": NAMESPACE}, "data": {"mode": "manual"}}),
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(client_for(&fake).await, NAMESPACE);

    // The same value is shared ownership, not a conflict.
    let same = config_map("settings", &[], &[("mode", "manual")]);
    let kcfed = PatchParams::apply("kcfed");
    config_maps
        .patch("settings", &kcfed, &Patch::Apply(&same))
        .await
        .unwrap();

    let different = config_map("settings", &[], &[("mode", "federated")]);
    let status = api_status(
        config_maps
            .patch("settings", &kcfed, &Patch::Apply(&different))
            .await,
    );
    assert!(status.is_conflict());
    assert!(
        status.message.contains("conflict with \"kubectl-create\""),
        "{}",
        status.message
    );
    assert!(status.message.contains(".data.mode"), "{}", status.message);

    let forced = config_maps
        .patch("settings", &kcfed.force(), &Patch::Apply(&different))
        .await
        .unwrap();
    assert_eq!(forced.data.unwrap()["mode"], "federated");
    let owners: Vec<_> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|m| m.manager)
        .collect();
    assert_eq!(owners, [Some("kcfed".to_owned())]);
}

#[tokio::test]
async fn merge_patch_merges_maps_and_needs_an_existing_object() {
    let fake = fake_with_namespace();
    let namespaces: Api<Namespace> = Api::all(client_for(&fake).await);
    let params = PatchParams::default();

    let status = api_status(
        namespaces
            .patch("absent", &params, &Patch::Merge(json!({})))
            .await,
    );
    assert!(status.is_not_found());

    let labels = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
    namespaces
        .patch(NAMESPACE, &params, &Patch::Merge(&labels))
        .await
        .unwrap();
    let remove_b = json!({"metadata": {"labels": {"b": null}}});
    let patched = namespaces
        .patch(NAMESPACE, &params, &Patch::Merge(&remove_b))
        .await
        .unwrap();
    let labels = patched.metadata.labels.unwrap();
    assert_eq!(
        labels.keys().collect::<Vec<_>>(),
        ["a", "kubernetes.io/metadata.name"]
    );
    assert_eq!(patched.status.unwrap().phase.as_deref(), Some("Active"));
}

#[tokio::test]
async fn secret_string_data_is_stored_as_base64_data() {
    let fake = fake_with_namespace();
    let secrets: Api<Secret> = Api::namespaced(client_for(&fake).await, NAMESPACE);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some("object-store".to_owned()),
            ..Default::default()
        },
        string_data: Some([("token".to_owned(), "s3cret".to_owned())].into()),
        ..Default::default()
    };

    let applied = secrets
        .patch(
            "object-store",
            &PatchParams::apply("kcfed"),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
    assert_eq!(applied.data.unwrap()["token"].0, b"s3cret");
    assert_eq!(applied.string_data, None);
    assert_eq!(applied.type_.as_deref(), Some("Opaque"));

    let stored = fake
        .get("secrets", Some(NAMESPACE), "object-store")
        .unwrap();
    assert_eq!(stored["data"], json!({"token": "czNjcmV0"}));
}

#[tokio::test]
async fn list_filters_with_label_selectors() {
    let fake = fake_with_namespace();
    fake.insert("namespaces", json!({"metadata": {"name": "other"}}));
    let client = client_for(&fake).await;
    let here: Api<ConfigMap> = Api::namespaced(client.clone(), NAMESPACE);
    for (name, labels) in [
        ("a", &[("app", "kubecost"), ("tier", "db")][..]),
        ("b", &[("app", "kubecost")][..]),
        ("c", &[("app", "other")][..]),
    ] {
        let object = config_map(name, labels, &[]);
        here.create(&PostParams::default(), &object).await.unwrap();
    }
    let there: Api<ConfigMap> = Api::namespaced(client.clone(), "other");
    let d = config_map("d", &[("app", "kubecost")], &[]);
    there.create(&PostParams::default(), &d).await.unwrap();

    let everywhere: Api<ConfigMap> = Api::all(client);
    let names = async |api: &Api<ConfigMap>, selector: &str| -> Vec<String> {
        let list = api
            .list(&ListParams::default().labels(selector))
            .await
            .unwrap();
        assert!(list.metadata.resource_version.is_some());
        list.items
            .into_iter()
            .map(|o| o.metadata.name.unwrap())
            .collect()
    };
    assert_eq!(names(&here, "app=kubecost").await, ["a", "b"]);
    assert_eq!(names(&everywhere, "app==kubecost").await, ["a", "b", "d"]);
    assert_eq!(names(&here, "app=kubecost,tier!=db").await, ["b"]);
    assert_eq!(names(&here, "tier!=db").await, ["b", "c"]);
    assert_eq!(names(&here, "tier").await, ["a"]);
    assert_eq!(names(&here, "!tier").await, ["b", "c"]);
    assert_eq!(names(&here, "").await, ["a", "b", "c"]);

    let by_name = ListParams::default().fields("metadata.name=d");
    let found = everywhere.list(&by_name).await.unwrap();
    assert_eq!(found.items.len(), 1);
}

#[tokio::test]
async fn delete_answers_success_then_not_found() {
    let fake = fake_with_namespace();
    let config_maps: Api<ConfigMap> = Api::namespaced(client_for(&fake).await, NAMESPACE);
    config_maps
        .create(&PostParams::default(), &config_map("settings", &[], &[]))
        .await
        .unwrap();

    let deleted = config_maps
        .delete("settings", &DeleteParams::default())
        .await
        .unwrap();
    assert!(deleted.right().unwrap().is_success());
    assert!(config_maps.get_opt("settings").await.unwrap().is_none());
    let status = api_status(
        config_maps
            .delete("settings", &DeleteParams::default())
            .await,
    );
    assert!(status.is_not_found());
}

#[tokio::test]
async fn deleting_a_namespace_removes_what_it_contains() {
    let fake = fake_with_namespace();
    fake.insert("namespaces", json!({"metadata": {"name": "other"}}));
    for namespace in [NAMESPACE, "other"] {
        fake.insert(
            "configmaps",
            json!({"metadata": {"name": "settings", "namespace": namespace}}),
        );
    }
    let namespaces: Api<Namespace> = Api::all(client_for(&fake).await);

    let deleted = namespaces
        .delete(NAMESPACE, &DeleteParams::default())
        .await
        .unwrap();
    let terminating = deleted.left().unwrap();
    assert_eq!(
        terminating.status.unwrap().phase.as_deref(),
        Some("Terminating")
    );
    assert!(namespaces.get_opt(NAMESPACE).await.unwrap().is_none());
    let left: Vec<Value> = fake.list("configmaps");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["metadata"]["namespace"], "other");
}

#[tokio::test]
async fn write_count_counts_mutating_requests_that_reached_the_server() {
    let fake = FakeKube::start();
    let namespaces: Api<Namespace> = Api::all(client_for(&fake).await);
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(NAMESPACE.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    };
    let kcfed = PatchParams::apply("kcfed");

    namespaces.get_opt(NAMESPACE).await.unwrap();
    namespaces.list(&ListParams::default()).await.unwrap();
    assert_eq!(fake.write_count(), 0);

    namespaces
        .patch(NAMESPACE, &kcfed, &Patch::Apply(&namespace))
        .await
        .unwrap();
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_err();
    namespaces
        .delete(NAMESPACE, &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(fake.write_count(), 3);

    let apply = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(apply.path, "/api/v1/namespaces/kubecost");
    assert_eq!(
        apply.content_type.as_deref(),
        Some("application/apply-patch+yaml")
    );
    assert!(apply.query.unwrap().contains("fieldManager=kcfed"));
}

#[tokio::test]
async fn an_unavailable_server_answers_503() {
    let fake = fake_with_namespace();
    let mut config = config_for(&fake).await;
    // kube-rs would otherwise retry a 503 for minutes.
    config.default_retry = false;
    let namespaces: Api<Namespace> = Api::all(kube::Client::try_from(config).unwrap());

    fake.set_unavailable(true);
    let status = api_status(namespaces.get_opt(NAMESPACE).await);
    assert_eq!(status.code, 503);
    assert_eq!(status.reason, "ServiceUnavailable");

    fake.set_unavailable(false);
    assert!(namespaces.get_opt(NAMESPACE).await.unwrap().is_some());
}

#[tokio::test]
async fn one_kubeconfig_reaches_several_clusters_by_context() {
    let (east, west) = (FakeKube::start(), FakeKube::start());
    east.insert("namespaces", json!({"metadata": {"name": "east-only"}}));
    let west_arn = "arn:aws:eks:us-west-2:111122223333:cluster/secondary";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    Kubeconfig::new()
        .context(CLUSTER_ARN, CLUSTER_ARN, &east)
        .context("west", west_arn, &west)
        .current("west")
        .write(&path);

    let client = async |context: Option<&str>| {
        let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
        let options = KubeConfigOptions {
            context: context.map(str::to_owned),
            ..Default::default()
        };
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .unwrap();
        Api::<Namespace>::all(kube::Client::try_from(config).unwrap())
    };
    assert!(
        client(Some(CLUSTER_ARN))
            .await
            .get_opt("east-only")
            .await
            .unwrap()
            .is_some()
    );
    // The current context is the default.
    assert!(
        client(None)
            .await
            .get_opt("east-only")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn malformed_and_unknown_requests_get_status_errors() {
    let fake = fake_with_namespace();
    let apply = "application/apply-patch+yaml";
    let body = r#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kubecost"}}"#;

    let (code, status) = raw(&fake, "PATCH", "/api/v1/namespaces/kubecost", apply, body);
    assert_eq!(
        (code, &status["reason"]),
        (400, &json!("BadRequest")),
        "{status}"
    );

    let (code, status) = raw(&fake, "POST", "/api/v1/namespaces", "application/json", "{");
    assert_eq!(
        (code, &status["reason"]),
        (400, &json!("BadRequest")),
        "{status}"
    );

    let json_patch = "application/json-patch+json";
    let (code, _) = raw(
        &fake,
        "PATCH",
        "/api/v1/namespaces/kubecost",
        json_patch,
        "[]",
    );
    assert_eq!(code, 415);

    let (code, status) = raw(&fake, "GET", "/api/v1/namespaces/kubecost/jobs", "", "");
    assert_eq!((code, &status["kind"]), (404, &json!("Status")));
    let (code, status) = raw(&fake, "GET", "/apis/batch/v1/jobs", "", "");
    assert_eq!((code, &status["reason"]), (404, &json!("NotFound")));
}

#[test]
fn starts_outside_a_runtime_and_stops_on_drop() {
    let fake = FakeKube::start();
    let (code, version) = raw(&fake, "GET", "/version", "", "");
    assert_eq!((code, version["major"].as_str()), (200, Some("1")));

    let address = fake.url().trim_start_matches("http://").to_owned();
    drop(fake);
    assert!(TcpStream::connect(address).is_err());
}
