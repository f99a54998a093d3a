//! Renders every file kcfed hands to Helm, Kubernetes and IAM from the templates in `templates/`,
//! embedded in the binary. Undefined variables are errors, and every result is parsed back (YAML or
//! JSON) before use, so a broken template never reaches AWS or Helm.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::chart::ChartLine;
use crate::chart::ClusterRole;
use crate::error::Error;
use crate::names::{self, WorkspaceEndpoints};

const TEMPLATES: &[(&str, &str)] = &[
    (
        "values-eks-cost-monitoring.yaml",
        include_str!("../templates/values-eks-cost-monitoring.yaml"),
    ),
    (
        "values-eks-cost-monitoring-2.x.yaml",
        include_str!("../templates/values-eks-cost-monitoring-2.x.yaml"),
    ),
    (
        "values-primary-aggregator.yaml.j2",
        include_str!("../templates/values-primary-aggregator.yaml.j2"),
    ),
    (
        "values-agent-2.x.yaml.j2",
        include_str!("../templates/values-agent-2.x.yaml.j2"),
    ),
    (
        "values-amp.yaml.j2",
        include_str!("../templates/values-amp.yaml.j2"),
    ),
    (
        "values-primary-federator.yaml.j2",
        include_str!("../templates/values-primary-federator.yaml.j2"),
    ),
    (
        "values-agent-federated.yaml.j2",
        include_str!("../templates/values-agent-federated.yaml.j2"),
    ),
    (
        "values-overrides.yaml.j2",
        include_str!("../templates/values-overrides.yaml.j2"),
    ),
    (
        "values-eks-3.x.yaml",
        include_str!("../templates/values-eks-3.x.yaml"),
    ),
    (
        "values-primary-3.x.yaml.j2",
        include_str!("../templates/values-primary-3.x.yaml.j2"),
    ),
    (
        "values-agent-3.x.yaml.j2",
        include_str!("../templates/values-agent-3.x.yaml.j2"),
    ),
    (
        "values-overrides-3.x.yaml.j2",
        include_str!("../templates/values-overrides-3.x.yaml.j2"),
    ),
    (
        "federated-store.yaml.j2",
        include_str!("../templates/federated-store.yaml.j2"),
    ),
    (
        "policy-federated-store.json.j2",
        include_str!("../templates/policy-federated-store.json.j2"),
    ),
    (
        "policy-amp-query.json.j2",
        include_str!("../templates/policy-amp-query.json.j2"),
    ),
    (
        "policy-amp-remote-write.json.j2",
        include_str!("../templates/policy-amp-remote-write.json.j2"),
    ),
    (
        "trust-service-account.json.j2",
        include_str!("../templates/trust-service-account.json.j2"),
    ),
    (
        "trust-pod-identity.json.j2",
        include_str!("../templates/trust-pod-identity.json.j2"),
    ),
    (
        "trust-fleet-target.json.j2",
        include_str!("../templates/trust-fleet-target.json.j2"),
    ),
    (
        "policy-assume-fleet-role.json.j2",
        include_str!("../templates/policy-assume-fleet-role.json.j2"),
    ),
    (
        "bucket-policy-tls-only.json.j2",
        include_str!("../templates/bucket-policy-tls-only.json.j2"),
    ),
];

/// Where a fleet's federated ETL files live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreLocation {
    pub bucket: String,
    pub region: String,
    pub endpoint: String,
}

impl StoreLocation {
    pub fn new(bucket: &str, region: &str) -> Self {
        Self {
            bucket: bucket.to_owned(),
            region: region.to_owned(),
            endpoint: names::s3_endpoint(region),
        }
    }

    pub fn arn(&self) -> String {
        names::bucket_arn(&self.region, &self.bucket)
    }
}

/// Everything the values files of one cluster's release depend on.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseContext {
    pub role: ClusterRole,
    /// The cluster's id in the fleet: its `cluster_id`, and its name in Kubecost's UI.
    pub cluster_id: String,
    pub account_id: String,
    /// `None` for a fleet without an AMP workspace, whose lines reach no AMP.
    pub workspace: Option<WorkspaceEndpoints>,
    /// `None` in quick-start mode: metrics go to AMP only.
    pub store: Option<StoreLocation>,
    pub cost_analyzer_service_account: &'static str,
    pub prometheus_server_service_account: &'static str,
    pub object_store_secret: &'static str,
    /// The StorageClass of every volume the chart makes; `None` leaves the cluster's default.
    pub storage_class: Option<String>,
    /// Which chart line the values are for.
    pub chart_line: ChartLine,
    /// The user's cloud integration secret, which turns on the Cloud Costs view.
    pub cloud_integration_secret: Option<String>,
}

impl ReleaseContext {
    pub fn new(
        role: ClusterRole,
        cluster_id: &str,
        account_id: &str,
        workspace: Option<WorkspaceEndpoints>,
        store: Option<StoreLocation>,
        chart_line: ChartLine,
    ) -> Self {
        Self {
            chart_line,
            cloud_integration_secret: None,
            role,
            cluster_id: cluster_id.to_owned(),
            account_id: account_id.to_owned(),
            workspace,
            store,
            cost_analyzer_service_account: names::COST_ANALYZER_SERVICE_ACCOUNT,
            prometheus_server_service_account: names::PROMETHEUS_SERVER_SERVICE_ACCOUNT,
            object_store_secret: names::OBJECT_STORE_SECRET,
            storage_class: None,
        }
    }

    /// The same release with Cloud Costs from `secret`.
    pub fn with_cloud_integration_secret(self, secret: Option<String>) -> Self {
        Self {
            cloud_integration_secret: secret,
            ..self
        }
    }

    /// The same release with its volumes in `storage_class`.
    pub fn with_storage_class(self, storage_class: Option<String>) -> Self {
        Self {
            storage_class,
            ..self
        }
    }
}

/// One rendered values file; Helm applies them in the order given, later files winning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValuesFile {
    pub name: String,
    pub content: String,
}

pub struct Renderer {
    env: Environment<'static>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // YAML and JSON, not HTML: values are escaped with `tojson` where they are inserted.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .expect("embedded templates are checked by the test suite");
        }
        Self { env }
    }

    fn render(&self, template: &str, ctx: Value) -> Result<String, Error> {
        let render_error = |err: minijinja::Error| Error::Render {
            template: template.to_owned(),
            message: match err.line() {
                Some(line) => format!("line {line}: {err}"),
                None => err.to_string(),
            },
        };
        self.env
            .get_template(template)
            .and_then(|t| t.render(ctx))
            .map(|text| text + "\n")
            .map_err(render_error)
    }

    fn render_yaml(&self, template: &str, ctx: Value) -> Result<String, Error> {
        let text = self.render(template, ctx)?;
        parse_yaml(&text).map_err(|message| Error::Render {
            template: template.to_owned(),
            message: format!("rendered YAML does not parse: {message}"),
        })?;
        Ok(text)
    }

    fn render_json(&self, template: &str, ctx: Value) -> Result<serde_json::Value, Error> {
        let text = self.render(template, ctx)?;
        serde_json::from_str(&text).map_err(|err| Error::Render {
            template: template.to_owned(),
            message: format!("rendered JSON does not parse: {err}"),
        })
    }

    /// The values files of one release, in the order Helm must apply them: the EKS defaults of
    /// the chart line, the AMP settings, the cluster's part in the fleet (1.x: federated fleets
    /// only; 2.x: agents always, the primary in federated fleets), then the overrides.
    pub fn helm_values(&self, ctx: &ReleaseContext) -> Result<Vec<ValuesFile>, Error> {
        let value = Value::from(Serde(ctx));
        ctx.chart_line
            .values_templates(ctx.role, ctx.store.is_some())
            .into_iter()
            .map(|(template, name)| {
                Ok(ValuesFile {
                    name: name.to_owned(),
                    content: self.render_yaml(template, value.clone())?,
                })
            })
            .collect()
    }

    /// The `federated-store.yaml` the object-store secret carries.
    pub fn object_store_config(&self, store: &StoreLocation) -> Result<String, Error> {
        self.render_yaml(
            "federated-store.yaml.j2",
            minijinja::context! { store => Serde(store), object_store_secret => names::OBJECT_STORE_SECRET },
        )
    }

    pub fn federated_store_policy(
        &self,
        store: &StoreLocation,
    ) -> Result<serde_json::Value, Error> {
        self.render_json(
            "policy-federated-store.json.j2",
            minijinja::context! { bucket_arn => store.arn() },
        )
    }

    /// A Pod Identity role's trust: EKS Pod Identity, for one service account of the account's
    /// clusters.
    pub fn pod_identity_trust_policy(
        &self,
        account: &str,
        service_account: &str,
    ) -> Result<serde_json::Value, Error> {
        self.render_json(
            "trust-pod-identity.json.j2",
            minijinja::context! { account, service_account },
        )
    }

    /// The trust of a fleet role other accounts' clusters reach: the shared role of the same
    /// service account in any account (`other_accounts_role`, a pattern on kcfed's path), which
    /// EKS assumes first and then this one as the association's target role.
    pub fn fleet_target_trust_policy(
        &self,
        other_accounts_role: &str,
    ) -> Result<serde_json::Value, Error> {
        self.render_json(
            "trust-fleet-target.json.j2",
            minijinja::context! { other_accounts_role },
        )
    }

    /// What a Pod Identity role in another account may do: assume the fleet's role.
    pub fn assume_fleet_role_policy(&self, fleet_role: &str) -> Result<serde_json::Value, Error> {
        self.render_json(
            "policy-assume-fleet-role.json.j2",
            minijinja::context! { fleet_role },
        )
    }

    pub fn amp_query_policy(&self, workspace_arn: &str) -> Result<serde_json::Value, Error> {
        self.render_json(
            "policy-amp-query.json.j2",
            minijinja::context! { workspace_arn },
        )
    }

    pub fn amp_remote_write_policy(&self, workspace_arn: &str) -> Result<serde_json::Value, Error> {
        self.render_json(
            "policy-amp-remote-write.json.j2",
            minijinja::context! { workspace_arn },
        )
    }

    /// Trust for one service account of one cluster: the cluster's OIDC provider, pinned by
    /// subject and audience.
    pub fn service_account_trust_policy(
        &self,
        provider_arn: &str,
        issuer_url: &str,
        subject: &str,
    ) -> Result<serde_json::Value, Error> {
        self.render_json(
            "trust-service-account.json.j2",
            minijinja::context! {
                provider_arn,
                provider_host => names::oidc_provider_host(issuer_url),
                subject,
            },
        )
    }

    pub fn tls_only_bucket_policy(
        &self,
        store: &StoreLocation,
    ) -> Result<serde_json::Value, Error> {
        self.render_json(
            "bucket-policy-tls-only.json.j2",
            minijinja::context! { bucket_arn => store.arn() },
        )
    }
}

/// The values Helm ends up with from these files: maps merge key by key, later files win, and
/// a null removes a key, as `helm get values` reports them.
/// The user's own values files (`--values`), read and checked to be YAML maps, in the order
/// given; each keeps its file name behind its position.
pub fn user_values(paths: &[std::path::PathBuf]) -> Result<Vec<ValuesFile>, Error> {
    paths
        .iter()
        .enumerate()
        .map(|(index, path)| {
            let invalid = |reason: String| Error::InvalidInput {
                what: "values file",
                value: path.display().to_string(),
                reason,
            };
            let content = std::fs::read_to_string(path)
                .map_err(|err| invalid(format!("cannot read it: {err}")))?;
            match parse_yaml(&content) {
                Ok(serde_json::Value::Object(_)) => {}
                Ok(serde_json::Value::Null) => {}
                Ok(_) => return Err(invalid("its top level is not a map of values".to_owned())),
                Err(err) => return Err(invalid(format!("not YAML: {err}"))),
            }
            let name = path
                .file_name()
                .map_or_else(|| "values.yaml".into(), |n| n.to_string_lossy());
            Ok(ValuesFile {
                name: format!("user-{}-{name}", index + 1),
                content,
            })
        })
        .collect()
}

/// The settings a fleet depends on (`fleet`: kcfed's files after the EKS defaults) that the
/// user's files set otherwise, dotted (`global.amp.remoteWriteService`); kcfed's files come
/// last, so these user settings have no effect.
pub fn overridden_fleet_settings(
    fleet: &[ValuesFile],
    user: &[ValuesFile],
) -> Result<Vec<String>, Error> {
    let (fleet, user) = (merged_values(fleet)?, merged_values(user)?);
    let mut overridden = Vec::new();
    collect_overridden(&fleet, &user, &mut Vec::new(), &mut overridden);
    Ok(overridden)
}

fn collect_overridden(
    fleet: &serde_json::Value,
    user: &serde_json::Value,
    path: &mut Vec<String>,
    out: &mut Vec<String>,
) {
    match (fleet, user) {
        (serde_json::Value::Object(fleet), serde_json::Value::Object(user)) => {
            for (key, wanted) in fleet {
                if let Some(theirs) = user.get(key) {
                    path.push(key.clone());
                    collect_overridden(wanted, theirs, path, out);
                    path.pop();
                }
            }
        }
        (wanted, theirs) if wanted != theirs => out.push(path.join(".")),
        _ => {}
    }
}

pub fn merged_values(files: &[ValuesFile]) -> Result<serde_json::Value, Error> {
    let mut merged = serde_json::Value::Object(Default::default());
    for file in files {
        let value = parse_yaml(&file.content).map_err(|message| Error::Render {
            template: file.name.clone(),
            message,
        })?;
        merge_into(&mut merged, value);
    }
    Ok(merged)
}

fn merge_into(base: &mut serde_json::Value, overlay: serde_json::Value) {
    match (base, overlay) {
        (serde_json::Value::Object(base), serde_json::Value::Object(overlay)) => {
            for (key, value) in overlay {
                if value.is_null() {
                    base.remove(&key);
                } else if let Some(existing) = base.get_mut(&key) {
                    merge_into(existing, value);
                } else {
                    base.insert(key, value);
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Parses YAML into a JSON value; used to check rendered files and by tests.
pub fn parse_yaml(text: &str) -> Result<serde_json::Value, String> {
    // Comments are skipped, not kept: a values file's comment blocks (the chart's own run to
    // hundreds of lines) can be longer than the parser buffers when it keeps them.
    let options = serde_saphyr::options! { emit_comments: false };
    serde_saphyr::from_str_with_options(text, options).map_err(|err| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(role: ClusterRole, federated: bool) -> ReleaseContext {
        ReleaseContext::new(
            role,
            "prod-eu",
            "111122223333",
            Some(WorkspaceEndpoints::new(
                "111122223333",
                "us-east-1",
                "ws-1234",
            )),
            federated.then(|| StoreLocation::new("fleet-bucket", "eu-west-1")),
            ChartLine::V1,
        )
    }

    fn parsed(files: &[ValuesFile]) -> Vec<serde_json::Value> {
        files
            .iter()
            .map(|f| parse_yaml(&f.content).unwrap())
            .collect()
    }

    #[test]
    fn every_embedded_template_renders_with_its_context() {
        let renderer = Renderer::new();
        for role in [ClusterRole::Primary, ClusterRole::Agent] {
            for federated in [true, false] {
                let files = renderer.helm_values(&context(role, federated)).unwrap();
                assert_eq!(files.len(), if federated { 4 } else { 3 });
            }
        }
        let store = StoreLocation::new("fleet-bucket", "eu-west-1");
        renderer.object_store_config(&store).unwrap();
        renderer.tls_only_bucket_policy(&store).unwrap();
    }

    #[test]
    fn chart_2x_runs_the_aggregator_on_a_federated_primary_and_agents_only_ship() {
        let renderer = Renderer::new();
        let names_of = |files: &[ValuesFile]| -> Vec<String> {
            files.iter().map(|f| f.name.clone()).collect()
        };
        let on_2x = |role, federated| ReleaseContext {
            chart_line: ChartLine::V2,
            ..context(role, federated)
        };

        let primary = renderer
            .helm_values(&on_2x(ClusterRole::Primary, true))
            .unwrap();
        assert_eq!(
            names_of(&primary),
            [
                "1-eks-cost-monitoring.yaml",
                "2-amp.yaml",
                "3-primary-aggregator.yaml",
                "4-overrides.yaml"
            ]
        );
        let values = parsed(&primary);
        assert!(
            values[0]
                .get("kubecostModel")
                .is_some_and(|m| m.get("warmCache").is_none())
        );
        assert_eq!(
            values[2]["kubecostAggregator"]["deployMethod"],
            "statefulset"
        );
        assert_eq!(values[2]["federatedETL"]["useMultiClusterDB"], true);
        assert!(values[2]["federatedETL"].get("primaryCluster").is_none());
        assert!(values[2].get("federator").is_none());

        let agent = renderer
            .helm_values(&on_2x(ClusterRole::Agent, true))
            .unwrap();
        let values = parsed(&agent);
        assert_eq!(values[2]["federatedETL"]["agentOnly"], true);
        assert_eq!(
            values[2]["kubecostModel"]["federatedStorageConfigSecret"],
            names::OBJECT_STORE_SECRET
        );
        // Quick-start: agents still only ship, with no bucket; the primary keeps the default
        // single-pod aggregator, which reads every cluster from AMP.
        let agent = renderer
            .helm_values(&on_2x(ClusterRole::Agent, false))
            .unwrap();
        let values = parsed(&agent);
        assert_eq!(values[2]["federatedETL"]["agentOnly"], true);
        assert!(values[2].get("kubecostModel").is_none());
        let primary = renderer
            .helm_values(&on_2x(ClusterRole::Primary, false))
            .unwrap();
        assert_eq!(primary.len(), 3);

        let classed = on_2x(ClusterRole::Primary, true).with_storage_class(Some("gp3".into()));
        let overrides = parsed(&renderer.helm_values(&classed).unwrap())
            .pop()
            .unwrap();
        let aggregator = &overrides["kubecostAggregator"];
        assert_eq!(aggregator["aggregatorDbStorage"]["storageClass"], "gp3");
        assert_eq!(
            aggregator["persistentConfigsStorage"]["storageClass"],
            "gp3"
        );
    }

    #[test]
    fn user_settings_of_the_fleet_are_named_and_the_rest_left_alone() {
        let files = Renderer::new()
            .helm_values(&context(ClusterRole::Agent, true))
            .unwrap();
        let user = vec![ValuesFile {
            name: "user-1-mine.yaml".to_owned(),
            content: "global:\n  amp:\n    remoteWriteService: https://elsewhere\n    enabled: true\nkubecostFrontend:\n  resources:\n    requests:\n      cpu: 20m\n".to_owned(),
        }];
        assert_eq!(
            overridden_fleet_settings(&files[1..], &user).unwrap(),
            ["global.amp.remoteWriteService"]
        );
    }

    #[test]
    fn user_values_files_must_be_yaml_maps() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("mine.yaml");
        std::fs::write(&good, "ingress:\n  enabled: true\n").unwrap();
        let files = user_values(std::slice::from_ref(&good)).unwrap();
        assert_eq!(files[0].name, "user-1-mine.yaml");
        let list = dir.path().join("list.yaml");
        std::fs::write(&list, "- a\n- b\n").unwrap();
        for bad in [list, dir.path().join("missing.yaml")] {
            assert!(matches!(
                user_values(&[bad]),
                Err(Error::InvalidInput {
                    what: "values file",
                    ..
                })
            ));
        }
    }

    #[test]
    fn a_cloud_integration_secret_turns_on_cloud_costs_on_each_line() {
        let renderer = Renderer::new();
        let overrides = |line| {
            let ctx = ReleaseContext {
                chart_line: line,
                ..context(ClusterRole::Primary, true)
            }
            .with_cloud_integration_secret(Some("cloud-integration".into()));
            parsed(&renderer.helm_values(&ctx).unwrap()).pop().unwrap()
        };
        let v1 = overrides(ChartLine::V1);
        assert_eq!(
            v1["kubecostProductConfigs"]["cloudIntegrationSecret"],
            "cloud-integration"
        );
        assert_eq!(v1["kubecostModel"]["cloudCost"]["enabled"], true);
        assert_eq!(v1["kubecostModel"]["etlCloudAsset"], false);
        // 2.x runs its cloud-cost component always; the secret alone turns it on.
        let v2 = overrides(ChartLine::V2);
        assert_eq!(
            v2["kubecostProductConfigs"]["cloudIntegrationSecret"],
            "cloud-integration"
        );
        assert!(v2.get("kubecostModel").is_none());
        // Without it, nothing of it.
        let plain = parsed(
            &renderer
                .helm_values(&context(ClusterRole::Primary, true))
                .unwrap(),
        )
        .pop()
        .unwrap();
        assert!(
            plain["kubecostProductConfigs"]
                .get("cloudIntegrationSecret")
                .is_none()
        );
    }

    #[test]
    fn amp_values_use_the_workspace_region() {
        let files = Renderer::new()
            .helm_values(&context(ClusterRole::Agent, true))
            .unwrap();
        let amp = &parsed(&files)[1];
        assert_eq!(
            amp["global"]["amp"]["remoteWriteService"],
            "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1234/api/v1/remote_write"
        );
        assert_eq!(amp["global"]["amp"]["sigv4"]["region"], "us-east-1");
        assert_eq!(
            amp["sigV4Proxy"]["host"],
            "aps-workspaces.us-east-1.amazonaws.com"
        );
    }

    #[test]
    fn primary_federator_leaves_primary_cluster_id_out() {
        let files = Renderer::new()
            .helm_values(&context(ClusterRole::Primary, true))
            .unwrap();
        let federator = &parsed(&files)[2];
        assert_eq!(federator["federatedETL"]["primaryCluster"], true);
        assert_eq!(federator["federatedETL"]["federator"]["enabled"], true);
        assert!(
            federator["federatedETL"]["federator"]
                .get("primaryClusterID")
                .is_none()
        );
    }

    #[test]
    fn hostile_values_stay_inside_their_strings() {
        let mut ctx = context(ClusterRole::Agent, false);
        ctx.cluster_id = "a\"\nfoo: {bar".to_owned();
        let files = Renderer::new().helm_values(&ctx).unwrap();
        let overrides = parsed(&files).pop().unwrap();
        assert_eq!(
            overrides["kubecostProductConfigs"]["clusterName"],
            ctx.cluster_id
        );
    }

    #[test]
    fn object_store_config_points_at_the_bucket_region() {
        let store = StoreLocation::new("fleet-bucket", "eu-west-1");
        let text = Renderer::new().object_store_config(&store).unwrap();
        let config = parse_yaml(&text).unwrap();
        assert_eq!(config["type"], "S3");
        assert_eq!(config["config"]["bucket"], "fleet-bucket");
        assert_eq!(config["config"]["endpoint"], "s3.eu-west-1.amazonaws.com");
        assert_eq!(config["config"]["region"], "eu-west-1");
        assert_eq!(
            config["config"]["put_user_metadata"]["X-Amz-Acl"],
            "bucket-owner-full-control"
        );
    }

    #[test]
    fn policies_are_scoped_to_one_resource() {
        let renderer = Renderer::new();
        let store = StoreLocation::new("fleet-bucket", "eu-west-1");
        let s3 = renderer.federated_store_policy(&store).unwrap();
        let text = s3.to_string();
        assert!(text.contains("s3:PutObjectAcl"));
        assert!(!text.contains("\"*\""));
        assert_eq!(
            s3["Statement"][1]["Resource"][0],
            "arn:aws:s3:::fleet-bucket/*"
        );
        let ws = "arn:aws:aps:us-east-1:111122223333:workspace/ws-1";
        let query = renderer.amp_query_policy(ws).unwrap();
        assert_eq!(query["Statement"][0]["Resource"][0], ws);
        assert!(!query.to_string().contains("RemoteWrite"));
        let write = renderer.amp_remote_write_policy(ws).unwrap();
        assert_eq!(write["Statement"][0]["Action"][0], "aps:RemoteWrite");
    }

    #[test]
    fn trust_policy_pins_subject_and_audience() {
        let issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC";
        let trust = Renderer::new()
            .service_account_trust_policy(
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC",
                issuer,
                "system:serviceaccount:kubecost:kubecost-cost-analyzer-amp",
            )
            .unwrap();
        let statement = &trust["Statement"][0];
        assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
        let conditions = &statement["Condition"]["StringEquals"];
        assert_eq!(
            conditions["oidc.eks.eu-west-1.amazonaws.com/id/ABC:sub"],
            "system:serviceaccount:kubecost:kubecost-cost-analyzer-amp"
        );
        assert_eq!(
            conditions["oidc.eks.eu-west-1.amazonaws.com/id/ABC:aud"],
            "sts.amazonaws.com"
        );
    }

    #[test]
    fn merged_values_follow_helm_precedence() {
        let file = |name: &str, content: &str| ValuesFile {
            name: name.to_owned(),
            content: content.to_owned(),
        };
        let merged = merged_values(&[
            file("a", "a: {x: 1, y: 2, gone: 3}\nlist: [1, 2]\n"),
            file("b", "a: {y: 20, gone: null}\nlist: [3]\n"),
        ])
        .unwrap();
        assert_eq!(
            merged,
            serde_json::json!({"a": {"x": 1, "y": 20}, "list": [3]})
        );
    }

    #[test]
    fn undefined_variables_are_errors() {
        let err = Renderer::new()
            .render(
                "values-amp.yaml.j2",
                minijinja::context! { cluster_id => "x" },
            )
            .unwrap_err();
        assert!(matches!(err, Error::Render { .. }), "{err}");
    }
}
