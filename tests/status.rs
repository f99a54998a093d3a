//! `kcfed status` end to end: a fleet installed with the real helm 4 and chart, whose metrics reach
//! a real Prometheus standing in for AMP's data plane behind a SigV4-checking stand-in. moto's
//! DescribeWorkspace is made to name that stand-in as the workspace's `prometheusEndpoint`, as AMP
//! names its own; kcfed finds it the way it finds AMP's.

mod common;
mod support;

use std::time::{Duration, SystemTime};

use serde_json::Value;

use common::{RUN_LIMIT, World, assert_exit, output_within, stdout_json};
use support::amp::{AmpDataPlane, amz_date, canonical_request, parse_amz_date, signature};
use support::helm::{helm_binary, skip_without_charts, with_real_chart};
use support::moto::Moto;

const REGION: &str = "us-west-2";
const CHART_VERSION: &str = "1.103.4";
const METRIC: &str = common::NODE_COST_METRIC;

/// A world whose AWS calls go through a proxy that gives every described workspace the data
/// plane's endpoint; the plane accepts the world's key when `trusted`.
fn world_with_data_plane(clusters: &[&str], trusted: bool) -> (World, AmpDataPlane) {
    let mut world = World::new(Moto::shared(), REGION, clusters);
    let plane = world.serve_amp_data_plane(trusted);
    (world, plane)
}

fn install(world: &World, args: &[&str]) -> Value {
    let args = with_real_chart(args, &helm_binary(), CHART_VERSION);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = output_within(world.command(&args), RUN_LIMIT);
    assert_exit(&output, 0);
    stdout_json(&output)
}

fn status(world: &World, extra: &[&str]) -> std::process::Output {
    let helm = helm_binary().display().to_string();
    let mut args = vec!["status", "--helm", &helm];
    args.extend_from_slice(extra);
    output_within(world.command(&args), RUN_LIMIT)
}

fn cluster<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no cluster {name}: {document:#}"))
}

fn validate(document: &Value) {
    common::assert_conforms(document, common::STATUS_SCHEMA);
}

#[test]
fn a_silent_agent_fails_the_status_until_its_metrics_arrive() {
    if skip_without_charts() {
        return;
    }
    let (world, plane) = world_with_data_plane(&["prod", "edge"], true);
    let init = install(&world, &["init", "primary", "--cluster", "prod"]);
    let workspace = init["resources"]["workspace"]["id"]
        .as_str()
        .expect("workspace id")
        .to_owned();
    install(&world, &["join", "cluster", "--cluster", "edge"]);

    // The agent last wrote two hours ago (Prometheus takes old samples only before newer ones);
    // the primary writes now.
    let now = SystemTime::now();
    world.remote_write(&plane, &workspace, "edge", now - Duration::from_secs(7200));
    world.remote_write(&plane, &workspace, "prod", now);

    let output = status(&world, &["--output", "json"]);
    assert_exit(&output, 3);
    let document = stdout_json(&output);
    validate(&document);
    assert_eq!(document["workspace"]["id"], workspace.as_str());
    assert_eq!(document["reporting"], false);
    assert_eq!(document["max_age_seconds"], 600);

    let prod = cluster(&document, "prod");
    assert_eq!(prod["role"], "primary");
    assert_eq!(prod["account"], world.account.account_id.as_str());
    assert_eq!(prod["region"], REGION);
    assert_eq!(prod["reporting"], true, "{prod:#}");
    let age = prod["metrics_age_seconds"].as_u64().expect("an age");
    assert!(age < 120, "{prod:#}");
    assert_eq!(prod["release"]["status"], "deployed");
    assert_eq!(prod["release"]["chart_version"], CHART_VERSION);
    // The fake API server reports helm's workloads ready and its claims bound.
    let workloads = prod["workloads"].as_array().expect("workloads");
    assert!(
        workloads
            .iter()
            .any(|w| w["name"] == "deployment/kubecost-cost-analyzer"),
        "{prod:#}"
    );
    assert!(
        workloads.iter().all(|w| w["ready"] == w["desired"]),
        "{prod:#}"
    );
    let volumes = prod["volumes"].as_array().expect("volumes");
    assert_eq!(volumes.len(), 2, "{prod:#}");
    assert!(volumes.iter().all(|v| v["phase"] == "Bound"), "{prod:#}");
    // A federated fleet: no ETL file yet is named, but does not decide reporting.
    assert_eq!(prod["etl_last_written"], Value::Null);
    let problems: Vec<&str> = prod["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["problem"].as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        ["no federated ETL files under federated/prod/ yet"]
    );

    let edge = cluster(&document, "edge");
    assert_eq!(edge["role"], "agent");
    assert_eq!(edge["reporting"], false, "{edge:#}");
    let age = edge["metrics_age_seconds"].as_u64().expect("an age");
    assert!(
        (7200..7500).contains(&age),
        "the old sample is found: {edge:#}"
    );
    assert!(
        edge["problems"][0]["problem"]
            .as_str()
            .unwrap()
            .starts_with("the newest metrics in AMP are 2h"),
        "{edge:#}"
    );

    // Every query kcfed sent was signed well enough for the stand-in.
    let queries: Vec<_> = plane
        .log()
        .into_iter()
        .filter(|served| served.path.ends_with("/api/v1/query"))
        .collect();
    assert_eq!(
        queries.len(),
        1,
        "one query for the whole fleet: {queries:?}"
    );
    assert!(queries.iter().all(|q| q.status == 200), "{queries:?}");
    assert!(
        queries[0]
            .path
            .starts_with(&format!("/workspaces/{workspace}/"))
    );

    // The agent's metrics arrive: every cluster reports.
    world.remote_write(&plane, &workspace, "edge", SystemTime::now());
    let output = status(&world, &[]);
    assert_exit(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("CLUSTER"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("prod") && l.ends_with("yes")),
        "{text}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("edge") && l.ends_with("yes")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "2 of 2 clusters report to AMP workspace {workspace}"
        )),
        "{text}"
    );

    // One cluster by name; a cluster that is not in the fleet is bad input.
    let only_edge = stdout_json(&status(&world, &["--cluster", "edge", "--output", "json"]));
    assert_eq!(only_edge["clusters"].as_array().unwrap().len(), 1);
    let output = status(&world, &["--cluster", "nowhere"]);
    assert_exit(&output, 2);
}

#[test]
fn the_stand_in_refuses_what_amp_refuses() {
    let (world, plane) = world_with_data_plane(&[], true);
    let key = (
        world.account.access_key_id.as_str(),
        world.account.secret_access_key.as_str(),
    );
    let labels = [("cluster_id", "prod")];
    let now = SystemTime::now();
    assert_eq!(
        plane.remote_write("ws-1", key, "eu-west-1", METRIC, &labels, now),
        403,
        "signed for another region"
    );
    assert_eq!(
        plane.remote_write(
            "ws-1",
            (key.0, "not-the-secret"),
            REGION,
            METRIC,
            &labels,
            now
        ),
        403,
        "signed with another secret"
    );
    assert_eq!(
        plane.remote_write("ws-1", ("AKIDUNKNOWN", key.1), REGION, METRIC, &labels, now),
        403,
        "signed by an unknown key"
    );
    assert_eq!(
        plane.remote_write("ws-1", key, REGION, METRIC, &labels, now),
        204
    );
    let form = vec![(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded".to_owned(),
    )];
    assert_eq!(
        plane.post("/workspaces/ws-1/api/v1/query", form, b"query=up".to_vec()),
        403,
        "not signed at all"
    );
    let refusals: Vec<String> = plane.log().into_iter().filter_map(|s| s.refusal).collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert!(refusals[3].contains("not signed"), "{refusals:?}");
    assert!(
        refusals[0].contains("not the workspace's us-west-2"),
        "{refusals:?}"
    );
    assert!(refusals[1].contains("does not match"), "{refusals:?}");
    assert!(refusals[2].contains("unknown access key"), "{refusals:?}");
}

#[test]
fn a_refused_query_fails_the_status_with_the_permission_to_grant() {
    // The stand-in knows no key of this account, as AMP refuses a caller without access.
    let (world, plane) = world_with_data_plane(&["prod"], false);
    world.init_workspace_id(&[]);
    let output = status(&world, &[]);
    assert_exit(&output, 1);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("aps:QueryMetrics"), "{stderr}");
    // What could be read is still shown: the cluster's row, its metrics unknown, and why.
    let text = String::from_utf8_lossy(&output.stdout);
    let row = text
        .lines()
        .find(|line| line.starts_with("prod "))
        .unwrap_or_else(|| panic!("a row for prod: {text}"));
    let column = text.find("METRICS").expect("a METRICS column");
    assert_eq!(row[column..].split_whitespace().next(), Some("?"), "{text}");
    assert!(text.contains("aps:QueryMetrics"), "{text}");
    let json = status(&world, &["--output", "json"]);
    assert_exit(&json, 1);
    let document = stdout_json(&json);
    validate(&document);
    assert!(
        document["error"]
            .as_str()
            .unwrap()
            .contains("aps:QueryMetrics"),
        "{document:#}"
    );
    assert_eq!(document["clusters"][0]["reporting"], false);
    let served = plane.log();
    assert!(
        !served.is_empty() && served.iter().all(|s| s.status == 403),
        "{served:?}"
    );
}

/// The stand-in's own SigV4 against the example of the AWS documentation ("GET Object", which
/// signs its payload hash into a header; the algorithm is the same).
#[test]
fn the_stand_in_signature_matches_the_published_example() {
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers = [
        ("host", "examplebucket.s3.amazonaws.com"),
        ("range", "bytes=0-9"),
        ("x-amz-content-sha256", empty),
        ("x-amz-date", "20130524T000000Z"),
    ]
    .map(|(n, v)| (n.to_owned(), v.to_owned()));
    let canonical = canonical_request(
        "GET",
        "/test.txt",
        None,
        &headers,
        "host;range;x-amz-content-sha256;x-amz-date",
        empty,
    );
    assert_eq!(
        signature(
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "20130524T000000Z",
            "20130524/us-east-1/s3/aws4_request",
            &canonical
        ),
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
    assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
    assert_eq!(
        parse_amz_date("20130524T000000Z"),
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600))
    );
}

/// A Kubecost 3 fleet (the real 3.2.1 chart) has no AMP workspace and reports by its FinOps
/// agents' heartbeats in the bucket: a cluster whose agent has written none is silent, and
/// reports once its heartbeat is there. Status finds the fleet by its bucket and asks no AMP.
#[test]
fn a_kubecost_3_cluster_reports_by_its_heartbeat_in_the_bucket() {
    if skip_without_charts() {
        return;
    }
    let mut world = World::new(Moto::shared(), REGION, &["prod", "edge"]);
    // Bucket policies as AWS applies them to kcfed on TLS: status reads the bucket.
    world.serve_eks_extensions();
    let install = |args: &[&str]| {
        let args = with_real_chart(args, &helm_binary(), "3.2.1");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        stdout_json(&output)
    };
    let init = install(&["init", "primary", "--cluster", "prod", "--identity", "irsa"]);
    install(&["join", "cluster", "--cluster", "edge"]);
    assert!(init["resources"].get("workspace").is_none(), "{init:#}");
    let bucket = init["resources"]["bucket"]["bucket"]
        .as_str()
        .expect("the fleet's bucket")
        .to_owned();
    world.write_heartbeat(&bucket, "prod");

    let output = status(&world, &["--output", "json"]);
    assert_exit(&output, 3);
    let document = stdout_json(&output);
    validate(&document);
    assert!(document.get("workspace").is_none(), "{document:#}");
    assert_eq!(document["fleet"]["id"], init["resources"]["fleet_id"]);
    let prod = cluster(&document, "prod");
    assert_eq!(prod["metrics_source"], "heartbeat", "{prod:#}");
    assert_eq!(prod["reporting"], true, "{prod:#}");
    assert_eq!(prod["release"]["chart_version"], "3.2.1");
    let edge = cluster(&document, "edge");
    assert_eq!(edge["reporting"], false, "{edge:#}");
    let problem = edge["problems"][0]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("no heartbeat of the FinOps agent under finops-agent/edge/heartbeat/"),
        "{edge:#}"
    );

    world.write_heartbeat(&bucket, "edge");
    let output = status(&world, &[]);
    assert_exit(&output, 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("(heartbeat)"), "{text}");
    assert!(
        text.contains(
            "2 of 2 clusters report to the fleet's bucket by their FinOps agent's heartbeat"
        ),
        "{text}"
    );
}
