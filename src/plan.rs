//! The plan: plain data saying, for every resource a command touches, what exists and what will
//! change. `--dry-run` prints exactly this; apply executes exactly this.

use std::fmt;

use serde::Serialize;

/// What a command will do with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Already as wanted: nothing to do.
    Exists,
    Create,
    Update,
    /// Exists but is not kcfed's, or cannot be made as wanted: kcfed stops before changing anything.
    Conflict,
    Delete,
    /// Left in place on purpose (cleanup): not kcfed's, or still used.
    Keep,
}

impl Action {
    pub fn changes_something(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Delete)
    }

    pub fn label(self) -> &'static str {
        match self {
            Action::Exists => "exists",
            Action::Create => "create",
            Action::Update => "update",
            Action::Conflict => "CONFLICT",
            Action::Delete => "delete",
            Action::Keep => "keep",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    AmpWorkspace,
    S3Bucket,
    IamPolicy,
    OidcProvider,
    IamRole,
    Namespace,
    ServiceAccount,
    Secret,
    /// An EKS Pod Identity association: one service account of one cluster gets a role.
    PodIdentityAssociation,
    /// A prerequisite of Pod Identity: the cluster's `eks-pod-identity-agent` add-on.
    EksAddon,
    /// The fleet's record of one member cluster (its id, account, region, identity mode).
    FleetMember,
    /// A workload running as kcfed's service accounts, restarted when its cluster changes mode.
    Workload,
    /// A prerequisite the chart's volumes need: a CSI driver that provisions EBS volumes.
    StorageDriver,
    /// A prerequisite: the StorageClass the chart's claims use (the cluster's default).
    StorageClass,
    HelmRelease,
}

impl ResourceKind {
    /// Whether the resource is in the cluster (its Kubernetes API), not in AWS.
    pub fn in_cluster(self) -> bool {
        match self {
            ResourceKind::Namespace
            | ResourceKind::ServiceAccount
            | ResourceKind::Workload
            | ResourceKind::Secret
            | ResourceKind::StorageDriver
            | ResourceKind::StorageClass
            | ResourceKind::HelmRelease => true,
            ResourceKind::AmpWorkspace
            | ResourceKind::S3Bucket
            | ResourceKind::IamPolicy
            | ResourceKind::OidcProvider
            | ResourceKind::IamRole
            | ResourceKind::PodIdentityAssociation
            | ResourceKind::EksAddon
            | ResourceKind::FleetMember => false,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ResourceKind::AmpWorkspace => "AMP workspace",
            ResourceKind::S3Bucket => "S3 bucket",
            ResourceKind::IamPolicy => "IAM policy",
            ResourceKind::OidcProvider => "IAM OIDC provider",
            ResourceKind::IamRole => "IAM role",
            ResourceKind::Namespace => "namespace",
            ResourceKind::ServiceAccount => "service account",
            ResourceKind::Secret => "secret",
            ResourceKind::PodIdentityAssociation => "Pod Identity association",
            ResourceKind::EksAddon => "EKS add-on",
            ResourceKind::FleetMember => "fleet member record",
            ResourceKind::Workload => "workload",
            ResourceKind::StorageDriver => "CSI driver",
            ResourceKind::StorageClass => "storage class",
            ResourceKind::HelmRelease => "helm release",
        }
    }
}

/// One resource and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `fleet` for shared resources, else the cluster name.
    pub scope: String,
    /// The AWS account the resource is in: the fleet's for what is in AWS, the cluster's for
    /// what is in the cluster; a planner that knows better (a cluster's Pod Identity
    /// association, a shared role in another account) sets it itself. Else set when the plan is
    /// put together.
    pub account: String,
    pub kind: ResourceKind,
    pub name: String,
    pub action: Action,
    /// ARN or id, when known before the apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What differs, or why the action was chosen.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Step {
    pub fn new(scope: &str, kind: ResourceKind, name: impl Into<String>, action: Action) -> Self {
        Self {
            scope: scope.to_owned(),
            account: String::new(),
            kind,
            name: name.into(),
            action,
            id: None,
            details: Vec::new(),
        }
    }

    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    pub fn in_account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }

    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.details.push(detail.into());
        self
    }
}

pub const FLEET_SCOPE: &str = "fleet";

/// Stands for the id of a workspace the plan is about to create, in the names and ARNs built
/// on it. The text plan shows it as it is; the JSON report makes every value that holds it null
/// and lists the field under `pending` (see [`with_pending_fields`]).
pub const NEW_WORKSPACE: &str = "ws-(new)";

/// The JSON of a plan or report with the values not known before the apply made explicit: a
/// string holding [`NEW_WORKSPACE`] becomes null (a `name`, which readers need, says
/// `{new workspace id}` instead), and its field is listed in the object's `pending` array.
pub fn with_pending_fields(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(object) => {
            let mut pending = Vec::new();
            for (key, field) in object.iter_mut() {
                match field {
                    serde_json::Value::String(text) if text.contains(NEW_WORKSPACE) => {
                        *field = if key == "name" {
                            text.replace(NEW_WORKSPACE, "{new workspace id}").into()
                        } else {
                            serde_json::Value::Null
                        };
                        pending.push(serde_json::Value::from(key.as_str()));
                    }
                    other => with_pending_fields(other),
                }
            }
            if !pending.is_empty() {
                object.insert("pending".to_owned(), pending.into());
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|item| match item {
            // Prose (a step's details): the id in words.
            serde_json::Value::String(text) if text.contains(NEW_WORKSPACE) => {
                *text = text.replace(NEW_WORKSPACE, "{new workspace id}");
            }
            other => with_pending_fields(other),
        }),
        _ => {}
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Who kcfed acts as in each account the plan touches, the fleet's first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<crate::aws::sts::Identity>,
    pub steps: Vec<Step>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.steps
            .iter()
            .any(|step| step.action.changes_something())
    }

    pub fn conflicts(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|step| step.action == Action::Conflict)
    }

    pub fn count(&self, action: Action) -> usize {
        self.steps
            .iter()
            .filter(|step| step.action == action)
            .count()
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  {:<8} {:<18} {}",
            self.action.label(),
            self.kind.label(),
            self.name
        )?;
        if let Some(id) = &self.id
            && id != &self.name
        {
            write!(f, " ({id})")?;
        }
        for detail in &self.details {
            write!(f, "\n{:30}- {detail}", "")?;
        }
        Ok(())
    }
}

impl fmt::Display for Plan {
    /// Steps by scope; each scope's header names the account of its first step, and a step in
    /// another account says so.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for identity in &self.identities {
            writeln!(
                f,
                "Acting as {} in account {}",
                identity.principal, identity.account
            )?;
        }
        if !self.identities.is_empty() {
            writeln!(f)?;
        }
        let mut scope: Option<(&str, &str)> = None;
        for step in &self.steps {
            if scope.map(|(name, _)| name) != Some(step.scope.as_str()) {
                match step.account.as_str() {
                    "" => writeln!(f, "{}:", step.scope)?,
                    account => writeln!(f, "{} (account {account}):", step.scope)?,
                }
                scope = Some((&step.scope, &step.account));
            }
            match scope {
                Some((_, account)) if account != step.account => {
                    writeln!(f, "{step}  [account {}]", step.account)?;
                }
                _ => writeln!(f, "{step}")?,
            }
        }
        write!(
            f,
            "Plan: {} to create, {} to update, {} to delete, {} unchanged",
            self.count(Action::Create),
            self.count(Action::Update),
            self.count(Action::Delete),
            self.count(Action::Exists) + self.count(Action::Keep),
        )?;
        let conflicts = self.count(Action::Conflict);
        if conflicts > 0 {
            write!(f, ", {conflicts} in conflict")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_text_groups_by_scope_and_counts_actions() {
        let plan = Plan {
            identities: Vec::new(),
            steps: vec![
                Step::new(
                    FLEET_SCOPE,
                    ResourceKind::AmpWorkspace,
                    "kubecost-amp",
                    Action::Exists,
                )
                .with_id("ws-1"),
                Step::new(
                    "prod",
                    ResourceKind::IamRole,
                    "kcfed-prod-x",
                    Action::Update,
                )
                .with_detail("trust policy differs"),
                Step::new("prod", ResourceKind::Namespace, "kubecost", Action::Create),
            ],
        };
        let text = plan.to_string();
        assert!(
            text.starts_with("fleet:\n  exists   AMP workspace      kubecost-amp (ws-1)\nprod:\n")
        );
        assert!(text.contains("- trust policy differs"));
        assert!(text.ends_with("Plan: 1 to create, 1 to update, 0 to delete, 1 unchanged"));
        assert!(plan.has_changes());
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["steps"][1]["action"], "update");
        assert_eq!(json["steps"][1]["kind"], "iam-role");
    }

    #[test]
    fn scopes_name_their_account_and_steps_elsewhere_say_so() {
        let step = |scope: &str, account: &str, kind, name: &str| Step {
            account: account.to_owned(),
            ..Step::new(scope, kind, name, Action::Create)
        };
        let plan = Plan {
            identities: Vec::new(),
            steps: vec![
                step(
                    FLEET_SCOPE,
                    "111122223333",
                    ResourceKind::IamPolicy,
                    "amp-query",
                ),
                step("edge", "222233334444", ResourceKind::Namespace, "kubecost"),
                step(
                    "edge",
                    "111122223333",
                    ResourceKind::IamRole,
                    "kcfed-edge-x",
                ),
            ],
        };
        let text = plan.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "fleet (account 111122223333):");
        assert_eq!(lines[2], "edge (account 222233334444):");
        assert!(lines[3].ends_with("kubecost"), "{text}");
        assert!(
            lines[4].ends_with("kcfed-edge-x  [account 111122223333]"),
            "{text}"
        );
    }
}
