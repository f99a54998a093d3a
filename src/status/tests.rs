use super::*;

const NOW: f64 = 1_800_000_000.0;
const MAX_AGE: Duration = Duration::from_secs(600);

fn facts(metrics_last_seen: Option<f64>) -> ClusterFacts {
    ClusterFacts {
        identity: ClusterIdentity {
            name: "edge".to_owned(),
            cluster_id: "edge".to_owned(),
            arn: "arn:aws:eks:eu-west-1:111122223333:cluster/edge".to_owned(),
            account: "111122223333".to_owned(),
            region: "eu-west-1".to_owned(),
            role: ClusterRole::Agent,
        },
        hints: Hints {
            namespace: "kubecost".to_owned(),
            release: "kubecost".to_owned(),
            kube_context: Some("edge-ctx".to_owned()),
        },
        kube: Ok(KubeFacts {
            release: Some(helm::Listed {
                status: "deployed".to_owned(),
                chart_version: "1.103.4".to_owned(),
            }),
            workloads: ObservedWorkloads {
                workloads: vec![Workload {
                    name: "deployment/kubecost-cost-analyzer".to_owned(),
                    ready: 1,
                    desired: 1,
                }],
                claims: vec![("kubecost-cost-analyzer".to_owned(), "Bound".to_owned())],
            },
        }),
        metrics_last_seen: Ok(metrics_last_seen),
        etl: None,
        heartbeat: None,
    }
}

#[test]
fn a_kubecost_3_cluster_reports_by_its_heartbeat_in_the_bucket() {
    let mut silent = facts(Some(NOW - 30.0));
    silent.heartbeat = Some(Ok(None));
    let status = judge(silent, NOW, MAX_AGE);
    assert!(!status.reporting, "AMP's metrics do not count for it");
    assert_eq!(status.metrics_source, MetricsSource::Heartbeat);
    assert!(
        status.problems[0]
            .problem
            .contains("no heartbeat of the FinOps agent under finops-agent/edge/heartbeat/"),
        "{:?}",
        status.problems
    );
    assert!(
        status.problems[0]
            .fix
            .contains("deployment/kubecost-finopsagent")
    );
    let mut beating = facts(None);
    beating.heartbeat = Some(Ok(Some(NOW - 120.0)));
    let status = judge(beating, NOW, MAX_AGE);
    assert!(
        status.reporting && status.problems.is_empty(),
        "{:?}",
        status.problems
    );
    assert_eq!(row(&status)[7], "2m ago (heartbeat)");
}

#[test]
fn a_cluster_with_fresh_metrics_reports_and_has_no_problems() {
    let status = judge(facts(Some(NOW - 30.0)), NOW, MAX_AGE);
    assert!(status.reporting);
    assert_eq!(status.metrics_age_seconds, Some(30));
    assert_eq!(
        status.metrics_last_seen.as_deref(),
        Some("2027-01-15T07:59:30Z")
    );
    assert!(status.problems.is_empty(), "{:?}", status.problems);
}

#[test]
fn metrics_older_than_the_max_age_are_silence() {
    let status = judge(facts(Some(NOW - 7500.0)), NOW, MAX_AGE);
    assert!(!status.reporting);
    assert_eq!(
        status.problems[0].problem,
        "the newest metrics in AMP are 2h 5m old, more than --max-age 10m"
    );
    assert!(
        status.problems[0]
            .fix
            .contains("kubectl --context edge-ctx --namespace kubecost logs deployment/kubecost-prometheus-server"),
        "{}",
        status.problems[0].fix
    );
    // Exactly the max age still counts.
    assert!(judge(facts(Some(NOW - 600.0)), NOW, MAX_AGE).reporting);
}

#[test]
fn no_sample_at_all_is_named_with_the_cluster_id() {
    let status = judge(facts(None), NOW, MAX_AGE);
    assert!(!status.reporting);
    assert_eq!(status.metrics_last_seen, None);
    assert!(status.problems[0].problem.contains("cluster_id \"edge\""));
}

#[test]
fn unready_workloads_pending_claims_and_failed_releases_are_problems_with_fixes() {
    let mut facts = facts(Some(NOW));
    let kube = facts.kube.as_mut().unwrap();
    kube.release.as_mut().unwrap().status = "failed".to_owned();
    kube.workloads.workloads[0].ready = 0;
    kube.workloads.claims[0].1 = "Pending".to_owned();
    let status = judge(facts, NOW, MAX_AGE);
    // Metrics still arrive: the cluster reports, with its problems listed.
    assert!(status.reporting);
    let problems: Vec<&str> = status.problems.iter().map(|p| p.problem.as_str()).collect();
    assert_eq!(
        problems,
        [
            "helm release kubecost is failed",
            "deployment/kubecost-cost-analyzer has 0 of 1 pods ready",
            "volume claim kubecost-cost-analyzer is Pending",
        ]
    );
    assert!(
        status.problems[0].fix.contains(
            "kcfed join cluster --cluster arn:aws:eks:eu-west-1:111122223333:cluster/edge"
        )
    );
    assert!(
        status.problems[2]
            .fix
            .contains("describe pvc kubecost-cost-analyzer")
    );
}

#[test]
fn an_unreadable_cluster_comes_first_and_leaves_its_release_unknown() {
    let mut facts = facts(Some(NOW));
    facts.kube = Err(Problem {
        problem: "Kubernetes list of deployments failed".to_owned(),
        fix: "check the context".to_owned(),
    });
    let status = judge(facts, NOW, MAX_AGE);
    assert!(status.reporting);
    assert!(status.release.is_none() && status.workloads.is_none());
    assert_eq!(status.problems[0].fix, "check the context");
    assert_eq!(row(&status)[4], "?");
}

#[test]
fn federated_fleets_show_the_newest_etl_file() {
    let mut with_file = facts(Some(NOW));
    with_file.etl = Some(Ok(Some(NOW - 3600.0)));
    let status = judge(with_file, NOW, MAX_AGE);
    assert_eq!(
        status.etl_last_written,
        Some(Some("2027-01-15T07:00:00Z".to_owned()))
    );
    assert!(status.problems.is_empty());

    let mut without = facts(Some(NOW));
    without.etl = Some(Ok(None));
    let status = judge(without, NOW, MAX_AGE);
    assert_eq!(status.etl_last_written, Some(None));
    assert_eq!(
        status.problems[0].problem,
        "no federated ETL files under federated/edge/ yet"
    );
    assert!(status.reporting, "ETL files do not decide reporting");
}

#[test]
fn durations_read_like_a_person_writes_them() {
    assert_eq!(human_duration(45), "45s");
    assert_eq!(human_duration(600), "10m");
    assert_eq!(human_duration(3600), "1h");
    assert_eq!(human_duration(7500), "2h 5m");
    assert_eq!(human_duration(86400 * 2 + 3600 * 4), "2d 4h");
}

#[test]
fn metrics_amp_could_not_give_are_unknown_with_the_reason() {
    let mut unread = facts(None);
    unread.metrics_last_seen = Err(Problem {
        problem: "aps:QueryMetrics refused".to_owned(),
        fix: "grant it".to_owned(),
    });
    let status = judge(unread, NOW, MAX_AGE);
    assert!(!status.reporting);
    assert!(status.metrics_unknown);
    assert_eq!(status.problems[0].problem, "aps:QueryMetrics refused");
    assert!(
        !status
            .problems
            .iter()
            .any(|p| p.problem.contains("no node_total_hourly_cost")),
        "{:?}",
        status.problems
    );
    assert_eq!(row(&status)[7], "?");
}

#[test]
fn the_text_is_one_aligned_table_then_the_fixes() {
    let fleet = FleetRef {
        id: "ws-1".to_owned(),
        region: "us-west-2".to_owned(),
        account: "111122223333".to_owned(),
    };
    let document = FleetStatus {
        schema: STATUS_SCHEMA,
        workspace: Some(fleet.clone()),
        fleet,
        checked_at: rfc3339(NOW),
        max_age_seconds: 600,
        reporting: false,
        clusters: vec![
            judge(facts(Some(NOW - 30.0)), NOW, MAX_AGE),
            judge(facts(None), NOW, MAX_AGE),
        ],
        error: None,
    };
    let text = document.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("CLUSTER  ACCOUNT       REGION     ROLE   RELEASE"),
        "{text}"
    );
    assert!(lines[1].ends_with("30s ago  -    yes"), "{text}");
    assert!(lines[2].ends_with("none     -    no"), "{text}");
    assert!(
        text.contains("\nedge:\n  AMP has no node_total_hourly_cost sample"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "1 of 2 clusters report to AMP workspace ws-1 in us-west-2 (metrics at most 10m old)."
        ),
        "{text}"
    );
}
