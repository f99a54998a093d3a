//! Tests of the test bench itself: moto, the EKS operations the proxy serves in front of it and
//! the bucket policies it applies (bucket_policies), the fixture chart and the recording helm.

mod common;
mod support;

#[path = "bench/bucket_policies.rs"]
mod bucket_policies;

use std::fs;
use std::process::{Command, Output};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use common::{World, block_on};
use serde_json::json;
use support::eks_extensions::DEFAULT_ADDON_VERSION;
use support::helm::{RecordingHelm, recording_helm, template_values, values_echo_chart};
use support::moto::{AwsAccount, Moto, RecordedCall};
use support::proxy::{Fault, Faults, Proxy, Refusal};

const REGION: &str = "us-east-1";

#[tokio::test]
async fn accounts_on_the_shared_moto_are_isolated() {
    let moto = Moto::shared();
    let (first, second) = (moto.new_account(), moto.new_account());
    assert_ne!(first.account_id, second.account_id);
    assert_eq!(first.account_id.len(), 12);

    let first_config = first.sdk_config(REGION).await;
    let identity = aws_sdk_sts::Client::new(&first_config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.account(), Some(first.account_id.as_str()));
    let first_s3 = aws_sdk_s3::Client::new(&first_config);
    let bucket = format!("kcfed-bench-{}", first.account_id);
    first_s3
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let first_iam = aws_sdk_iam::Client::new(&first_config);
    first_iam
        .create_role()
        .role_name("kcfed-bench")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();

    let second_config = second.sdk_config(REGION).await;
    let buckets = aws_sdk_s3::Client::new(&second_config)
        .list_buckets()
        .send()
        .await
        .unwrap();
    assert!(buckets.buckets().is_empty(), "{buckets:?}");
    // A bucket of another account is forbidden, as on AWS, not served.
    let head = aws_sdk_s3::Client::new(&second_config)
        .head_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(head.raw_response().map(|r| r.status().as_u16()), Some(403));
    let role = aws_sdk_iam::Client::new(&second_config)
        .get_role()
        .role_name("kcfed-bench")
        .send()
        .await;
    assert!(
        role.unwrap_err()
            .into_service_error()
            .is_no_such_entity_exception()
    );
}

#[tokio::test]
async fn a_recording_moto_tells_mutating_calls() {
    let moto = Moto::start_recording();
    let config = moto.new_account().sdk_config(REGION).await;
    let s3 = aws_sdk_s3::Client::new(&config);
    s3.create_bucket()
        .bucket("kcfed-bench")
        .send()
        .await
        .unwrap();
    s3.list_buckets().send().await.unwrap();
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_role()
        .role_name("kcfed-bench")
        .assume_role_policy_document("{}")
        .send()
        .await
        .unwrap();
    iam.get_role()
        .role_name("kcfed-bench")
        .send()
        .await
        .unwrap();

    let call = |service: &str, action: Option<&str>, method: &str, path: &str| RecordedCall {
        service: service.into(),
        action: action.map(Into::into),
        method: method.into(),
        path: path.into(),
        access_key_id: None,
    };
    // Which key signed them is another test's concern.
    let unsigned = |calls: Vec<RecordedCall>| -> Vec<RecordedCall> {
        calls
            .into_iter()
            .map(|call| RecordedCall {
                access_key_id: None,
                ..call
            })
            .collect()
    };
    assert_eq!(
        unsigned(moto.recorded_calls()),
        [
            call("sts", Some("AssumeRole"), "POST", "/"),
            call("s3", None, "PUT", "/kcfed-bench/"),
            call("s3", None, "GET", "/?x-id=ListBuckets"),
            call("iam", Some("CreateRole"), "POST", "/"),
            call("iam", Some("GetRole"), "POST", "/"),
        ]
    );
    assert_eq!(
        unsigned(moto.mutating_calls()),
        [
            call("s3", None, "PUT", "/kcfed-bench/"),
            call("iam", Some("CreateRole"), "POST", "/")
        ]
    );
}

#[test]
fn later_values_files_win() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.yaml");
    let second = dir.path().join("second.yaml");
    fs::write(&first, "kept: 1\nshared: first\nnested: {a: 1, b: 1}\n").unwrap();
    fs::write(&second, "shared: second\nnested: {b: 2}\n").unwrap();

    let values = template_values(
        &values_echo_chart(),
        &[
            "-f".into(),
            first.display().to_string(),
            "-f".into(),
            second.display().to_string(),
        ],
    );
    assert_eq!(
        values,
        json!({ "kept": 1, "shared": "second", "nested": { "a": 1, "b": 2 } })
    );
}

/// Runs the recording helm with the arguments of a command line without quoting.
fn run(helm: &RecordingHelm, args: &str) -> Output {
    Command::new(&helm.path)
        .args(args.split(' '))
        .output()
        .unwrap()
}

#[test]
fn the_recording_helm_records_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let helm = recording_helm(dir.path());
    let first = dir.path().join("first.yaml");
    let second = dir.path().join("second.yaml");
    fs::write(&first, "shared: first\nkept: 1\n").unwrap();
    fs::write(&second, "shared: second\n").unwrap();

    let upgrade = format!(
        "upgrade --install kubecost oci://public.ecr.aws/kubecost/cost-analyzer --version 1.103.4 \
         --namespace kubecost --kube-context ctx --kubeconfig /nonexistent -f {} -f {} --wait --timeout 600s",
        first.display(),
        second.display()
    );
    let output = run(&helm, &upgrade);
    assert!(output.status.success(), "{output:?}");
    fs::remove_file(&first).unwrap();
    fs::remove_file(&second).unwrap();
    let uninstall = "uninstall kubecost --namespace kubecost --kube-context ctx --wait";
    assert!(run(&helm, uninstall).status.success());
    let version = run(&helm, "version --short");
    assert!(
        String::from_utf8_lossy(&version.stdout).starts_with("v4."),
        "{version:?}"
    );

    let calls: Vec<String> = helm.calls().iter().map(|call| call.join(" ")).collect();
    assert_eq!(calls, [upgrade.as_str(), uninstall, "version --short"]);
    assert_eq!(
        helm.merged_values(),
        [json!({ "shared": "second", "kept": 1 })]
    );
    assert_eq!(
        helm.copied_values_files(0),
        ["shared: first\nkept: 1\n", "shared: second\n"]
    );
}

#[test]
fn the_recording_helm_fails_as_helm_does() {
    let dir = tempfile::tempdir().unwrap();
    let helm = recording_helm(dir.path());
    let broken = dir.path().join("broken.yaml");
    fs::write(&broken, "shared: [unclosed\n").unwrap();

    let upgrade = format!(
        "upgrade --install kubecost oci://example/chart -f {}",
        broken.display()
    );
    assert!(!run(&helm, &upgrade).status.success());
    assert_eq!(helm.calls().len(), 1);
    assert!(helm.merged_values().is_empty());
}

/// Asserts that an SDK call's `result` is the typed EKS error `is_kind` tells (a method of the
/// operation's error: `is_resource_not_found_exception`), as the SDK reads EKS's own.
macro_rules! assert_eks_error {
    ($result:expr, $is_kind:ident) => {{
        let err = $result.expect_err(stringify!($is_kind));
        assert!(
            err.as_service_error().is_some_and(|e| e.$is_kind()),
            "{err:?}"
        );
    }};
}

/// An EKS client for `account` whose calls go through `proxy`; a lost reply is retried at once.
async fn eks_through(proxy: &Proxy, account: &AwsAccount, region: &str) -> aws_sdk_eks::Client {
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1));
    let config = account
        .sdk_config(region)
        .await
        .to_builder()
        .endpoint_url(proxy.url())
        .retry_config(retry)
        .build();
    aws_sdk_eks::Client::new(&config)
}

/// An EKS cluster in moto itself, as World::add_cluster_in makes one.
async fn create_cluster(account: &AwsAccount, name: &str, region: &str) {
    aws_sdk_eks::Client::new(&account.sdk_config(region).await)
        .create_cluster()
        .name(name)
        .role_arn(format!("arn:aws:iam::{}:role/eks", account.account_id))
        .resources_vpc_config(aws_sdk_eks::types::VpcConfigRequest::builder().build())
        .send()
        .await
        .expect("create the EKS cluster in moto");
}

/// The association ids a listing of cluster `bench` gives, pages of `page_size` followed to
/// the end, and how many pages it took.
async fn listed(
    eks: &aws_sdk_eks::Client,
    namespace: Option<&str>,
    service_account: Option<&str>,
    page_size: Option<i32>,
) -> (Vec<String>, usize) {
    let (mut ids, mut pages, mut token) = (Vec::new(), 0, None);
    loop {
        let page = eks
            .list_pod_identity_associations()
            .cluster_name("bench")
            .set_namespace(namespace.map(str::to_owned))
            .set_service_account(service_account.map(str::to_owned))
            .set_max_results(page_size)
            .set_next_token(token.take())
            .send()
            .await
            .expect("ListPodIdentityAssociations");
        pages += 1;
        let page_ids = page
            .associations()
            .iter()
            .filter_map(|a| a.association_id());
        ids.extend(page_ids.map(str::to_owned));
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return (ids, pages),
        }
    }
}

/// The served calls of a proxy's log: operation and status, in order.
fn served(proxy: &Proxy) -> Vec<(String, Option<u16>)> {
    proxy
        .log()
        .into_iter()
        .filter(|e| e.service.as_deref() == Some("eks"))
        .map(|e| (e.action.unwrap_or_default(), e.status))
        .collect()
}

fn calls(expected: &[(&str, u16)]) -> Vec<(String, Option<u16>)> {
    expected
        .iter()
        .map(|(action, status)| ((*action).to_owned(), Some(*status)))
        .collect()
}

#[tokio::test]
async fn the_proxy_serves_pod_identity_associations_as_eks_does() {
    let moto = Moto::shared();
    let (account, other) = (moto.new_account(), moto.new_account());
    create_cluster(&account, "bench", REGION).await;
    let proxy = Proxy::with_eks_extensions(moto.endpoint_url());
    let eks = eks_through(&proxy, &account, REGION).await;
    let role = |name: &str| format!("arn:aws:iam::{}:role/{name}", account.account_id);
    let foreign_role = format!("arn:aws:iam::{}:role/target", other.account_id);
    let create = |namespace: &str, service_account: &str, role_arn: &str| {
        eks.create_pod_identity_association()
            .cluster_name("bench")
            .namespace(namespace)
            .service_account(service_account)
            .role_arn(role_arn)
    };

    let first = create("kubecost", "cost-analyzer", &role("cost"))
        .tags("team", "finops")
        .send()
        .await
        .expect("CreatePodIdentityAssociation");
    let first = first.association().expect("the association");
    let first_id = first.association_id().expect("an id").to_owned();
    let suffix = first_id.strip_prefix("a-").expect("an id starts with a-");
    assert!(
        suffix.len() == 17
            && suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{first_id}"
    );
    let first_arn = format!(
        "arn:aws:eks:{REGION}:{}:podidentityassociation/bench/{first_id}",
        account.account_id
    );
    assert_eq!(first.association_arn(), Some(first_arn.as_str()));
    assert_eq!(first.cluster_name(), Some("bench"));
    assert_eq!(first.namespace(), Some("kubecost"));
    assert_eq!(first.service_account(), Some("cost-analyzer"));
    assert_eq!(first.role_arn(), Some(role("cost").as_str()));
    assert_eq!(first.disable_session_tags(), Some(false));
    assert_eq!((first.target_role_arn(), first.external_id()), (None, None));
    assert_eq!(
        first
            .tags()
            .and_then(|tags| tags.get("team"))
            .map(String::as_str),
        Some("finops")
    );
    assert!(first.created_at().is_some() && first.created_at() == first.modified_at());

    let agent = create("kubecost", "agent", &role("agent"))
        .send()
        .await
        .unwrap();
    let agent_id = agent
        .association()
        .and_then(|a| a.association_id())
        .unwrap();
    // The role of another account is reached through a role of the cluster's account.
    let hop = create("monitoring", "cost-analyzer", &role("hop"))
        .target_role_arn(&foreign_role)
        .disable_session_tags(true)
        .send()
        .await
        .unwrap();
    let hop = hop.association().unwrap();
    let hop_id = hop.association_id().unwrap();
    assert_eq!(hop.target_role_arn(), Some(foreign_role.as_str()));
    assert!(
        hop.external_id().is_some_and(|id| id.len() == 36),
        "{hop:?}"
    );
    assert_eq!(hop.disable_session_tags(), Some(true));

    let duplicate = create("kubecost", "cost-analyzer", &role("again"));
    assert_eks_error!(duplicate.send().await, is_resource_in_use_exception);
    let foreign = create("other", "sa", &foreign_role).send().await;
    assert_eks_error!(foreign, is_invalid_parameter_exception);
    let absent = create("kubecost", "cost-analyzer", &role("cost")).cluster_name("absent");
    assert_eks_error!(absent.send().await, is_resource_not_found_exception);

    let all = vec![first_id.clone(), agent_id.to_owned(), hop_id.to_owned()];
    assert_eq!(listed(&eks, None, None, None).await, (all.clone(), 1));
    assert_eq!(listed(&eks, None, None, Some(1)).await, (all, 3));
    let in_kubecost = vec![first_id.clone(), agent_id.to_owned()];
    assert_eq!(
        listed(&eks, Some("kubecost"), None, None).await,
        (in_kubecost, 1)
    );
    let cost_analyzers = vec![first_id.clone(), hop_id.to_owned()];
    let by_account = listed(&eks, None, Some("cost-analyzer"), Some(1)).await;
    assert_eq!(by_account, (cost_analyzers, 2));
    let both = listed(&eks, Some("kubecost"), Some("agent"), None).await;
    assert_eq!(both, (vec![agent_id.to_owned()], 1));

    let described = eks
        .describe_pod_identity_association()
        .cluster_name("bench")
        .association_id(&first_id)
        .send()
        .await
        .unwrap();
    assert_eq!(described.association(), Some(first));
    let unknown = eks
        .describe_pod_identity_association()
        .cluster_name("bench")
        .association_id("a-00000000000000000");
    assert_eks_error!(unknown.send().await, is_resource_not_found_exception);

    let update = || {
        eks.update_pod_identity_association()
            .cluster_name("bench")
            .association_id(&first_id)
    };
    let updated = update().role_arn(role("cost-v2")).send().await.unwrap();
    let updated = updated.association().unwrap();
    assert_eq!(updated.role_arn(), Some(role("cost-v2").as_str()));
    assert_eq!(updated.created_at(), first.created_at());
    assert!(updated.modified_at() >= first.modified_at());
    let refused = update().role_arn(&foreign_role).send().await;
    assert_eks_error!(refused, is_invalid_parameter_exception);

    eks.tag_resource()
        .resource_arn(&first_arn)
        .tags("env", "bench")
        .send()
        .await
        .unwrap();
    eks.untag_resource()
        .resource_arn(&first_arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    let tags = eks
        .list_tags_for_resource()
        .resource_arn(&first_arn)
        .send()
        .await
        .unwrap();
    let tags: Vec<(&str, &str)> = tags
        .tags()
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    assert_eq!(tags, [("env", "bench")]);

    let deleted = eks
        .delete_pod_identity_association()
        .cluster_name("bench")
        .association_id(agent_id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.association().and_then(|a| a.association_id()),
        Some(agent_id)
    );
    let remaining = vec![first_id.clone(), hop_id.to_owned()];
    assert_eq!(listed(&eks, None, None, None).await, (remaining.clone(), 1));

    // What a test reads back is what the API gives.
    let extensions = proxy
        .eks_extensions()
        .expect("the proxy serves the extensions");
    let held = extensions.pod_identity_associations(&account.account_id, REGION, "bench");
    let held_ids: Vec<&str> = held.iter().map(|a| a.association_id.as_str()).collect();
    assert_eq!(held_ids, remaining);
    assert_eq!(held[0].role_arn, role("cost-v2"));
    assert_eq!(
        held[1].target_role_arn.as_deref(),
        Some(foreign_role.as_str())
    );

    // Another account's cluster of the same name has associations of its own.
    create_cluster(&other, "bench", REGION).await;
    let other_eks = eks_through(&proxy, &other, REGION).await;
    assert_eq!(listed(&other_eks, None, None, None).await, (Vec::new(), 1));
    other_eks
        .create_pod_identity_association()
        .cluster_name("bench")
        .namespace("kubecost")
        .service_account("cost-analyzer")
        .role_arn(&foreign_role)
        .send()
        .await
        .expect("the same service account in the other account's cluster");
    let other_held = extensions.pod_identity_associations(&other.account_id, REGION, "bench");
    assert_eq!(other_held.len(), 1);
    assert_eq!(listed(&eks, None, None, None).await.0, remaining);

    let page = |pages: usize| vec![("ListPodIdentityAssociations", 200); pages];
    let expected = [
        &[("CreatePodIdentityAssociation", 200); 3][..],
        &[
            ("CreatePodIdentityAssociation", 409),
            ("CreatePodIdentityAssociation", 400),
            ("CreatePodIdentityAssociation", 404),
        ],
        &page(1 + 3 + 1 + 2 + 1),
        &[
            ("DescribePodIdentityAssociation", 200),
            ("DescribePodIdentityAssociation", 404),
            ("UpdatePodIdentityAssociation", 200),
            ("UpdatePodIdentityAssociation", 400),
            ("TagResource", 200),
            ("UntagResource", 200),
            ("ListTagsForResource", 200),
            ("DeletePodIdentityAssociation", 200),
            ("ListPodIdentityAssociations", 200),
            ("ListPodIdentityAssociations", 200),
            ("CreatePodIdentityAssociation", 200),
            ("ListPodIdentityAssociations", 200),
        ],
    ]
    .concat();
    assert_eq!(served(&proxy), calls(&expected));
    let log = proxy.log();
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("POST", "/clusters/bench/pod-identity-associations")
    );
    // Creates, updates, tags and the delete change something; the rest only read.
    assert_eq!(
        log.iter().filter(|e| e.is_mutating()).count(),
        6 + 2 + 2 + 1 + 1
    );
}

#[tokio::test]
async fn the_proxy_serves_addons_absent_until_installed() {
    let moto = Moto::shared();
    let account = moto.new_account();
    create_cluster(&account, "bench", REGION).await;
    let proxy = Proxy::with_eks_extensions(moto.endpoint_url());
    let eks = eks_through(&proxy, &account, REGION).await;
    let describe = |cluster: &str, addon: &str| {
        eks.describe_addon()
            .cluster_name(cluster)
            .addon_name(addon)
            .send()
    };

    assert_eks_error!(
        describe("bench", "eks-pod-identity-agent").await,
        is_resource_not_found_exception
    );
    let created = eks
        .create_addon()
        .cluster_name("bench")
        .addon_name("eks-pod-identity-agent")
        .send()
        .await
        .expect("CreateAddon");
    let addon = created.addon().expect("the add-on");
    assert_eq!(addon.addon_version(), Some(DEFAULT_ADDON_VERSION));
    let arn_prefix = format!(
        "arn:aws:eks:{REGION}:{}:addon/bench/eks-pod-identity-agent/",
        account.account_id
    );
    assert!(
        addon
            .addon_arn()
            .is_some_and(|arn| arn.starts_with(&arn_prefix)),
        "{addon:?}"
    );
    let present = describe("bench", "eks-pod-identity-agent").await.unwrap();
    let present = present.addon().unwrap();
    assert_eq!(
        present.status(),
        Some(&aws_sdk_eks::types::AddonStatus::Active)
    );
    assert_eq!(present.addon_arn(), addon.addon_arn());
    let again = eks
        .create_addon()
        .cluster_name("bench")
        .addon_name("eks-pod-identity-agent");
    assert_eks_error!(again.send().await, is_resource_in_use_exception);
    let names = eks
        .list_addons()
        .cluster_name("bench")
        .send()
        .await
        .unwrap();
    assert_eq!(names.addons(), ["eks-pod-identity-agent"]);
    eks.delete_addon()
        .cluster_name("bench")
        .addon_name("eks-pod-identity-agent")
        .send()
        .await
        .expect("DeleteAddon");
    assert_eks_error!(
        describe("bench", "eks-pod-identity-agent").await,
        is_resource_not_found_exception
    );
    // An unknown cluster is not found either.
    assert_eks_error!(
        describe("absent", "eks-pod-identity-agent").await,
        is_resource_not_found_exception
    );

    // Set up and taken away without the API.
    let extensions = proxy.eks_extensions().unwrap();
    extensions.install_addon(&account.account_id, REGION, "bench", "vpc-cni");
    let installed = describe("bench", "vpc-cni").await.unwrap();
    assert_eq!(
        installed.addon().and_then(|a| a.addon_name()),
        Some("vpc-cni")
    );
    assert!(extensions.remove_addon(&account.account_id, REGION, "bench", "vpc-cni"));
    assert_eks_error!(
        describe("bench", "vpc-cni").await,
        is_resource_not_found_exception
    );

    assert_eq!(
        served(&proxy),
        calls(&[
            ("DescribeAddon", 404),
            ("CreateAddon", 200),
            ("DescribeAddon", 200),
            ("CreateAddon", 409),
            ("ListAddons", 200),
            ("DeleteAddon", 200),
            ("DescribeAddon", 404),
            ("DescribeAddon", 404),
            ("DescribeAddon", 200),
            ("DescribeAddon", 404),
        ])
    );
}

#[tokio::test]
async fn refusals_and_faults_reach_the_served_operations() {
    let moto = Moto::shared();
    let account = moto.new_account();
    create_cluster(&account, "bench", REGION).await;
    let proxy = Proxy::with_eks_extensions(moto.endpoint_url());
    let eks = eks_through(&proxy, &account, REGION).await;
    let create = || {
        eks.create_pod_identity_association()
            .cluster_name("bench")
            .namespace("kubecost")
            .service_account("cost-analyzer")
            .role_arn(format!("arn:aws:iam::{}:role/cost", account.account_id))
            .send()
    };
    let held = || {
        let extensions = proxy.eks_extensions().unwrap();
        extensions.pod_identity_associations(&account.account_id, REGION, "bench")
    };

    proxy.set_faults(Faults {
        refuse: Some(Refusal {
            action: "CreatePodIdentityAssociation",
            status: 400,
            code: "ResourceLimitExceededException",
            message: "Pod Identity associations per cluster exceeded".to_owned(),
        }),
        ..Faults::none()
    });
    assert_eks_error!(create().await, is_resource_limit_exceeded_exception);
    assert!(held().is_empty());

    // The first attempt's reply is lost after the association was made; the SDK's retry
    // carries the same clientRequestToken and gets that association back, as from EKS.
    let first_only = (0..)
        .map(|seed| Faults {
            seed,
            rate: 0.5,
            kinds: vec![Fault::LostReply],
            ..Faults::none()
        })
        .find(|faults| faults.fault_for(0).is_some() && faults.fault_for(1).is_none())
        .expect("a seed that loses only the first reply");
    proxy.set_faults(first_only);
    let created = create().await.expect("the retry gets the association");
    let held = held();
    assert_eq!(held.len(), 1);
    assert_eq!(
        created.association().and_then(|a| a.association_id()),
        Some(held[0].association_id.as_str())
    );
    let log = proxy.log();
    let faults: Vec<_> = log.iter().map(|e| (e.fault, e.status)).collect();
    assert_eq!(
        faults,
        [
            (None, Some(400)),
            (Some(Fault::LostReply), None),
            (None, Some(200))
        ]
    );
    assert!(
        log.iter()
            .all(|e| e.action.as_deref() == Some("CreatePodIdentityAssociation"))
    );
}

/// World::serve_eks_extensions keeps its state behind proxy_all's proxy, and the clusters'
/// issuers, one per region in moto, become one per cluster for kcfed as for the world's tests.
#[test]
fn a_world_keeps_its_eks_extensions_and_gives_each_cluster_its_issuer() {
    let mut world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    assert_eq!(world.cluster("prod").issuer, world.cluster("edge").issuer);
    let extensions = world.serve_eks_extensions();
    let account = world.account.account_id.clone();
    extensions.install_addon(&account, REGION, "prod", "eks-pod-identity-agent");
    world.proxy_all(&Faults::none());
    let proxy = world
        .aws_proxy
        .as_ref()
        .expect("proxy_all puts a proxy in front of moto");
    assert_eq!(
        world
            .eks_extensions()
            .addons(&account, REGION, "prod")
            .len(),
        1
    );

    block_on(async {
        let eks = eks_through(proxy, &world.account, REGION).await;
        eks.describe_addon()
            .cluster_name("prod")
            .addon_name("eks-pod-identity-agent")
            .send()
            .await
            .expect("the add-on installed before proxy_all");
        for cluster in &world.clusters {
            let described = eks
                .describe_cluster()
                .name(&cluster.name)
                .send()
                .await
                .unwrap();
            let issuer = described
                .cluster()
                .and_then(|c| c.identity())
                .and_then(|i| i.oidc())
                .and_then(|o| o.issuer());
            assert_eq!(issuer, Some(cluster.issuer.as_str()));
        }
    });
    let (prod, edge) = (&world.cluster("prod").issuer, &world.cluster("edge").issuer);
    assert_ne!(prod, edge);
    let id = prod
        .strip_prefix(&format!("https://oidc.eks.{REGION}.amazonaws.com/id/"))
        .expect("an EKS issuer");
    assert!(
        id.len() == 32
            && id
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()),
        "{prod}"
    );
}
