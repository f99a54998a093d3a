//! Clusters reached with AWS credentials alone, as eksctl reaches them: no kubeconfig, no aws
//! CLI. Each cluster's API is an HTTPS endpoint with its own CA that admits only EKS tokens it
//! has checked against STS (support::eks_front); a proxy in front of moto makes DescribeCluster
//! name that endpoint and CA, as EKS names its own. The real helm installs the real chart through
//! the same endpoints, with kcfed as its credential plugin.

mod common;
mod support;

use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, output_within, plan_step, stderr, stdout_json};
use support::amp::AmpDataPlane;
use support::eks_front::EksFront;
use support::helm::{helm_binary, skip_without_charts, with_real_chart};
use support::moto::Moto;
use support::proxy::{Exchange, Proxy};

const REGION: &str = "us-west-2";
const CHART_VERSION: &str = "1.103.4";

/// A world whose clusters are reachable only through their EKS endpoints.
struct DirectWorld {
    world: World,
    /// AMP's data plane, which `status` queries.
    plane: AmpDataPlane,
    fronts: Vec<(String, EksFront)>,
    /// HOME for kcfed: empty, and checked to stay so.
    home: tempfile::TempDir,
    /// Where helm keeps its own cache and configuration (the user's choice, not HOME here).
    helm_home: tempfile::TempDir,
}

impl DirectWorld {
    fn new(clusters: &[&str]) -> DirectWorld {
        let mut world = World::new(Moto::shared(), REGION, clusters);
        // Tokens are presigned for the endpoint kcfed is given: the proxy below.
        let account = &world.account;
        let keys = [(
            account.access_key_id.as_str(),
            account.secret_access_key.as_str(),
        )];
        // The fronts start after the proxy (they check tokens against it): their endpoints
        // reach the rewrite through this map.
        let fronts_for_rewrite = Arc::new(Mutex::new(HashMap::<String, String>::new()));
        let endpoints = Arc::clone(&fronts_for_rewrite);
        let plane = AmpDataPlane::start(REGION);
        plane.trust(&account.access_key_id, &account.secret_access_key);
        let workspace_endpoints = plane.workspace_endpoints();
        let proxy = Proxy::rewriting(
            &account.endpoint_url,
            Box::new(move |method: &str, path: &str, body: hyper::body::Bytes| {
                let body = workspace_endpoints(method, path, body);
                let Some(name) = path.strip_prefix("/clusters/") else {
                    return body;
                };
                let endpoint = endpoints.lock().unwrap().get(name).cloned();
                let (Some(endpoint), "GET") = (endpoint, method) else {
                    return body;
                };
                let mut answer: Value =
                    serde_json::from_slice(&body).expect("DescribeCluster JSON");
                answer["cluster"]["endpoint"] = Value::String(endpoint);
                answer["cluster"]["certificateAuthority"]["data"] =
                    Value::String(EksFront::certificate_authority());
                serde_json::to_vec(&answer).expect("JSON").into()
            }),
        );
        let sts = proxy.url();
        let fronts: Vec<(String, EksFront)> = world
            .clusters
            .iter()
            .map(|cluster| {
                let front = EksFront::start(&cluster.name, &cluster.kube.url(), &sts, &keys);
                fronts_for_rewrite
                    .lock()
                    .unwrap()
                    .insert(cluster.name.clone(), front.endpoint());
                (cluster.name.clone(), front)
            })
            .collect();
        world.aws_proxy = Some(proxy);
        DirectWorld {
            world,
            plane,
            fronts,
            home: tempfile::tempdir().expect("temp HOME"),
            helm_home: tempfile::tempdir().expect("temp helm home"),
        }
    }

    fn front(&self, cluster: &str) -> &EksFront {
        &self
            .fronts
            .iter()
            .find(|(name, _)| name == cluster)
            .unwrap()
            .1
    }

    /// kcfed with the world's AWS environment, an empty HOME and no KUBECONFIG.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.world.command(args);
        command
            .env_remove("KUBECONFIG")
            .env("HOME", self.home.path())
            .env("HELM_CACHE_HOME", self.helm_home.path().join("cache"))
            .env("HELM_CONFIG_HOME", self.helm_home.path().join("config"))
            .env("HELM_DATA_HOME", self.helm_home.path().join("data"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        output_within(self.command(args), RUN_LIMIT)
    }

    /// The AWS calls that may change something, as the proxy saw them.
    fn mutating_aws_calls(&self) -> Vec<Exchange> {
        self.world
            .aws_proxy
            .as_ref()
            .unwrap()
            .log()
            .into_iter()
            .filter(|call| match call.action.as_deref() {
                Some(action) => !(action.starts_with("Get") || action.starts_with("List")),
                None => !matches!(call.method.as_str(), "GET" | "HEAD"),
            })
            .collect()
    }
}

fn installed_with_real_helm(args: &[&str]) -> Vec<String> {
    with_real_chart(args, &helm_binary(), CHART_VERSION)
}

#[test]
fn init_and_join_reach_clusters_with_aws_credentials_alone() {
    if skip_without_charts() {
        return;
    }
    let direct = DirectWorld::new(&["prod", "edge"]);
    let init = installed_with_real_helm(&["init", "primary", "--cluster", "prod"]);
    let init: Vec<&str> = init.iter().map(String::as_str).collect();
    let output = direct.run(&init);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    let detail = plan_step(&report, "helm-release", Some("prod"))["details"].to_string();
    assert!(detail.contains("directly"), "the plan says how: {detail}");

    let workspace = report["resources"]["workspace"]["id"]
        .as_str()
        .expect("the workspace")
        .to_owned();
    let join = installed_with_real_helm(&["join", "cluster", "--cluster", "edge"]);
    let join: Vec<&str> = join.iter().map(String::as_str).collect();
    let output = direct.run(&join);
    assert_exit(&output, 0);

    // status reads the releases and workloads the same way.
    let account = &direct.world.account;
    for cluster in ["prod", "edge"] {
        let status = direct.plane.remote_write(
            &workspace,
            (&account.access_key_id, &account.secret_access_key),
            REGION,
            "node_total_hourly_cost",
            &[("cluster_id", cluster)],
            std::time::SystemTime::now(),
        );
        assert_eq!(status, 204);
    }
    let helm = helm_binary().display().to_string();
    let output = direct.run(&["status", "--helm", &helm, "--output", "json"]);
    assert_exit(&output, 0);
    let status = stdout_json(&output);
    for cluster in status["clusters"].as_array().unwrap() {
        assert_eq!(cluster["release"]["status"], "deployed", "{cluster:#}");
        assert!(
            !cluster["workloads"].as_array().unwrap().is_empty(),
            "{cluster:#}"
        );
    }

    for name in ["prod", "edge"] {
        let kube = &direct.world.cluster(name).kube;
        // kcfed's objects and helm's release records went through the endpoint.
        assert!(kube.get("namespaces", None, "kubecost").is_some());
        assert!(
            kube.get(
                "serviceaccounts",
                Some("kubecost"),
                "kubecost-cost-analyzer-amp"
            )
            .is_some()
        );
        assert!(
            kube.list("secrets")
                .iter()
                .any(|s| s["metadata"]["labels"]["owner"] == "helm"),
            "helm installed on {name}"
        );
        // Every request carried a token the endpoint checked against STS.
        let log = direct.front(name).log();
        assert!(log.len() > 10, "{name}: {} requests", log.len());
        let refused: Vec<_> = log.iter().filter(|a| a.refusal.is_some()).collect();
        assert!(refused.is_empty(), "{name}: {refused:#?}");
        assert!(
            log.iter().all(|a| a
                .principal
                .as_deref()
                .is_some_and(|p| p.contains(&direct.world.account.account_id))),
            "{name}"
        );
    }
    // cleanup reaches them the same way and removes everything.
    let output = direct.run(&["cleanup", "--all", "--helm", &helm, "--yes"]);
    assert_exit(&output, 0);
    for name in ["prod", "edge"] {
        let kube = &direct.world.cluster(name).kube;
        assert!(kube.get("namespaces", None, "kubecost").is_none(), "{name}");
    }

    // Nothing in HOME: no kubeconfig, no token cache.
    let left: Vec<_> = std::fs::read_dir(direct.home.path()).unwrap().collect();
    assert!(left.is_empty(), "HOME holds {left:?}");
}

#[test]
fn a_cluster_that_refuses_the_caller_stops_the_plan_with_the_access_entry_to_make() {
    let direct = DirectWorld::new(&["prod"]);
    direct
        .front("prod")
        .allow_only(&["arn:aws:iam::000000000000:role/someone-else"]);
    let helm = direct.world.helm_path();
    let output = direct.run(&[
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &helm,
        "--yes",
    ]);
    assert_exit(&output, 1);
    let message = stderr(&output);
    assert!(
        message.contains(&format!(
            "--principal-arn arn:aws:iam::{}:role/kcfed-test",
            direct.world.account.account_id
        )),
        "the principal is named: {message}"
    );
    assert!(
        message.contains("aws eks create-access-entry --cluster-name prod"),
        "{message}"
    );
    assert!(message.contains("AmazonEKSClusterAdminPolicy"), "{message}");
    assert!(message.contains("aws-auth"), "{message}");
    assert_eq!(direct.mutating_aws_calls(), [], "no AWS change");
    assert_eq!(direct.world.cluster("prod").kube.write_count(), 0);
    assert!(
        direct
            .world
            .helm
            .calls()
            .iter()
            .all(|call| call[0] != "upgrade")
    );
}

#[test]
fn an_explicit_kubeconfig_always_wins() {
    let direct = DirectWorld::new(&["prod"]);
    let empty = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(empty.path(), "apiVersion: v1\nkind: Config\n").unwrap();
    let helm = direct.world.helm_path();
    let kubeconfig = empty.path().display().to_string();
    let output = direct.run(&[
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &helm,
        "--kubeconfig",
        &kubeconfig,
        "--dry-run",
    ]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("no context in the kubeconfig points at"));
    assert!(direct.front("prod").log().is_empty());

    let output = direct.run(&[
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &helm,
        "--kubeconfig",
        "/nonexistent/kubeconfig",
        "--dry-run",
    ]);
    assert_exit(&output, 2);
}

#[test]
fn a_bare_name_is_found_through_the_kubeconfigs_eks_contexts() {
    // edge is in another region than the default; its context's ARN says which.
    let world = World::new(Moto::shared(), REGION, &["prod", "edge@eu-west-1"]);
    world.init_workspace_id(&[]);
    let output = world.join(&["edge"], &["--dry-run", "--output", "json"]);
    assert_exit(&output, 0);
    let report = stdout_json(&output);
    assert!(
        report["plan"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["scope"] == "edge"),
        "{report:#}"
    );
    // With --region, the name is looked up there, as given.
    let output = world.join(&["edge"], &["--region", REGION, "--dry-run"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("was not found in region us-west-2"));
}
