use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;

fn plan_steps(scope: &str, desired: &DesiredObjects, observed: &ObservedObjects) -> Vec<Step> {
    plan(scope, desired, observed)
        .into_iter()
        .map(|(step, _)| step)
        .collect()
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
                Some(ROLE.to_owned()),
            ),
            (
                names::PROMETHEUS_SERVER_SERVICE_ACCOUNT.to_owned(),
                Some(ROLE.to_owned()),
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
            let mut account = service_account_object(&desired.namespace, name, role.as_deref());
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

/// A step that writes carries the object it writes; one with nothing to do carries none.
#[test]
fn each_write_carries_its_object_and_nothing_else_does() {
    let wanted = desired(Some(STORE));
    let objects: Vec<Option<KubeObject>> = plan("prod", &wanted, &ObservedObjects::default())
        .into_iter()
        .map(|(_, object)| object)
        .collect();
    assert_eq!(
        objects,
        [
            Some(KubeObject::Namespace(namespace_object("kubecost"))),
            Some(KubeObject::ServiceAccount(service_account_object(
                "kubecost",
                names::COST_ANALYZER_SERVICE_ACCOUNT,
                Some(ROLE)
            ))),
            Some(KubeObject::ServiceAccount(service_account_object(
                "kubecost",
                names::PROMETHEUS_SERVER_SERVICE_ACCOUNT,
                Some(ROLE)
            ))),
            Some(KubeObject::Secret(object_store_secret("kubecost", STORE))),
        ]
    );
    let unchanged = plan("prod", &wanted, &installed(&wanted));
    assert!(unchanged.iter().all(|(_, object)| object.is_none()));
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
    let account =
        serde_json::to_value(service_account_object("kubecost", "sa", Some(ROLE))).unwrap();
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

/// Moving a cluster to Pod Identity: its service accounts are applied without the IRSA
/// annotation, which removes the one kcfed set; the plan says so.
#[test]
fn pod_identity_service_accounts_lose_the_irsa_annotation() {
    let irsa = desired(Some(STORE));
    let observed = installed(&irsa);
    let mut pod_identity = irsa.clone();
    for (_, role) in &mut pod_identity.service_accounts {
        *role = None;
    }
    let planned = plan("prod", &pod_identity, &observed);
    let accounts: Vec<_> = planned
        .iter()
        .filter(|(step, _)| step.kind == ResourceKind::ServiceAccount)
        .collect();
    assert_eq!(accounts.len(), 2);
    for (step, object) in accounts {
        assert_eq!(step.action, Action::Update, "{step:?}");
        assert!(
            step.details
                .iter()
                .any(|d| d.contains("(none: Pod Identity)")),
            "{step:?}"
        );
        let Some(KubeObject::ServiceAccount(account)) = object else {
            panic!("the update carries its service account")
        };
        assert_eq!(account.metadata.annotations, None);
    }
    // Once applied, nothing is left to change.
    let moved = installed(&pod_identity);
    assert!(
        plan("prod", &pod_identity, &moved)
            .iter()
            .all(|(step, _)| step.action == Action::Exists)
    );
}
