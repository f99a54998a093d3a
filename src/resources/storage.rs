//! What the chart's volumes need from a cluster, checked before anything changes: a CSI driver
//! that provisions EBS volumes, and a default StorageClass or the one `--storage-class` names. Without them the claims of Kubecost and
//! its Prometheus stay Pending and `helm --wait` fails only at its timeout, after the AWS side was
//! made. kcfed makes neither: a missing one is a conflict in the plan, with the fix.

use k8s_openapi::api::storage::v1::{CSIDriver, StorageClass};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;

use crate::error::Error;
use crate::kube::api::{KUBE_BACKOFF, kube_error, retry};
use crate::plan::{Action, ResourceKind, Step};

/// The CSI drivers that provision EBS volumes: the EKS add-on's, and EKS Auto Mode's.
pub const EBS_DRIVERS: [&str; 2] = ["ebs.csi.aws.com", "ebs.csi.eks.amazonaws.com"];

/// The prerequisite steps of one cluster; nothing to apply, a missing one is a conflict.
/// `wanted_class` is `--storage-class`; without it the chart's claims use the default class.
pub fn plan(
    scope: &str,
    cluster_name: &str,
    wanted_class: Option<&str>,
    observed: &ObservedStorage,
) -> Vec<Step> {
    let driver = observed
        .csi_drivers
        .iter()
        .find(|driver| EBS_DRIVERS.contains(&driver.as_str()));
    let driver_step = match driver {
        Some(found) => Step::new(scope, ResourceKind::StorageDriver, found, Action::Exists),
        None => Step::new(scope, ResourceKind::StorageDriver, EBS_DRIVERS[0], Action::Conflict)
            .with_detail(format!(
                "no EBS CSI driver: the chart's volumes would stay Pending; install the add-on: \
                 `aws eks create-addon --cluster-name {cluster_name} --addon-name aws-ebs-csi-driver \
                 --service-account-role-arn ROLE` (its role needs AmazonEBSCSIDriverPolicy)"
            )),
    };
    let class_step = match wanted_class {
        Some(wanted) => wanted_class_step(scope, wanted, observed),
        None => default_class_step(scope, observed),
    };
    vec![driver_step, class_step]
}

fn class_names(observed: &ObservedStorage) -> Vec<&str> {
    observed
        .storage_classes
        .iter()
        .map(|(name, _, _)| name.as_str())
        .collect()
}

/// `--storage-class NAME` must exist: the chart's claims name it.
fn wanted_class_step(scope: &str, wanted: &str, observed: &ObservedStorage) -> Step {
    let step = |action| Step::new(scope, ResourceKind::StorageClass, wanted, action);
    let found = observed
        .storage_classes
        .iter()
        .find(|(name, _, _)| name == wanted);
    match found {
        Some((_, provisioner, _)) => {
            step(Action::Exists).with_detail(format!("--storage-class, provisioner {provisioner}"))
        }
        None => {
            let classes = class_names(observed);
            let known = if classes.is_empty() {
                "the cluster has none".to_owned()
            } else {
                format!("it has {}", classes.join(", "))
            };
            step(Action::Conflict).with_detail(format!(
                "no StorageClass {wanted} ({known}): create it, or pass one of the cluster's \
                 classes to --storage-class"
            ))
        }
    }
}

/// Without `--storage-class` the claims name no class, so the cluster needs a default one.
fn default_class_step(scope: &str, observed: &ObservedStorage) -> Step {
    let default_class = observed
        .storage_classes
        .iter()
        .find(|(_, _, default)| *default);
    match default_class {
        Some((name, provisioner, _)) => {
            Step::new(scope, ResourceKind::StorageClass, name, Action::Exists)
                .with_detail(format!("default, provisioner {provisioner}"))
        }
        None => {
            let classes = class_names(observed);
            let candidate = classes.first().copied().unwrap_or("gp3");
            let known = if classes.is_empty() {
                "the cluster has no StorageClass".to_owned()
            } else {
                format!("none of {} is the default", classes.join(", "))
            };
            let step = Step::new(
                scope,
                ResourceKind::StorageClass,
                "(default)",
                Action::Conflict,
            );
            step.with_detail(format!(
                "no default StorageClass ({known}): mark one default: `kubectl annotate \
                 storageclass {candidate} storageclass.kubernetes.io/is-default-class=true`, or \
                 name one with --storage-class"
            ))
        }
    }
}

/// What a cluster offers the chart's volumes: its CSI drivers, and its StorageClasses with the
/// one marked default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObservedStorage {
    pub csi_drivers: Vec<String>,
    /// Name, provisioner and whether it is the default class.
    pub storage_classes: Vec<(String, String, bool)>,
}

/// The annotation that makes a StorageClass the default for claims that name none.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// Reads the cluster's CSI drivers and StorageClasses (cluster-scoped, read-only).
pub async fn observe_storage(client: &Client) -> Result<ObservedStorage, Error> {
    let drivers = Api::<CSIDriver>::all(client.clone());
    let classes = Api::<StorageClass>::all(client.clone());
    let params = kube::api::ListParams::default();
    let (drivers, classes) = tokio::try_join!(
        async {
            retry(KUBE_BACKOFF, || drivers.list(&params))
                .await
                .map_err(|err| kube_error("list", "CSI drivers", err))
        },
        async {
            retry(KUBE_BACKOFF, || classes.list(&params))
                .await
                .map_err(|err| kube_error("list", "storage classes", err))
        },
    )?;
    let name = |metadata: &ObjectMeta| metadata.name.clone().unwrap_or_default();
    Ok(ObservedStorage {
        csi_drivers: drivers.items.iter().map(|d| name(&d.metadata)).collect(),
        storage_classes: classes
            .items
            .iter()
            .map(|class| {
                let default = class
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                    .is_some_and(|v| v == "true");
                (name(&class.metadata), class.provisioner.clone(), default)
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(drivers: &[&str], classes: &[(&str, bool)]) -> ObservedStorage {
        ObservedStorage {
            csi_drivers: drivers.iter().map(|d| (*d).to_owned()).collect(),
            storage_classes: classes
                .iter()
                .map(|(name, default)| ((*name).to_owned(), EBS_DRIVERS[0].to_owned(), *default))
                .collect(),
        }
    }

    fn actions(observed: &ObservedStorage) -> Vec<(Action, String)> {
        plan("prod", "prod", None, observed)
            .into_iter()
            .map(|step| (step.action, step.name))
            .collect()
    }

    #[test]
    fn an_ebs_driver_and_a_default_class_are_all_the_chart_needs() {
        let ready = observed(
            &["efs.csi.aws.com", "ebs.csi.aws.com"],
            &[("gp2", false), ("gp3", true)],
        );
        assert_eq!(
            actions(&ready),
            [
                (Action::Exists, "ebs.csi.aws.com".to_owned()),
                (Action::Exists, "gp3".to_owned())
            ]
        );
        let auto_mode = observed(&["ebs.csi.eks.amazonaws.com"], &[("auto-ebs", true)]);
        assert_eq!(
            actions(&auto_mode)[0],
            (Action::Exists, "ebs.csi.eks.amazonaws.com".to_owned())
        );
    }

    #[test]
    fn a_missing_driver_or_default_class_is_a_conflict_with_the_fix() {
        let bare = observed(&["efs.csi.aws.com"], &[("gp2", false)]);
        let planned = plan("prod", "prod", None, &bare);
        assert!(planned.iter().all(|step| step.action == Action::Conflict));
        assert!(planned[0].details[0].contains("aws eks create-addon --cluster-name prod"));
        assert!(planned[1].details[0].contains("none of gp2 is the default"));
        assert!(planned[1].details[0].contains("kubectl annotate storageclass gp2"));
        let empty = plan("prod", "prod", None, &ObservedStorage::default());
        assert!(empty[1].details[0].contains("the cluster has no StorageClass"));
    }

    #[test]
    fn a_named_storage_class_must_exist_and_no_default_is_needed_then() {
        let classes = observed(&["ebs.csi.aws.com"], &[("gp2", false), ("io2", false)]);
        let step = &plan("prod", "prod", Some("io2"), &classes)[1];
        assert_eq!((step.action, step.name.as_str()), (Action::Exists, "io2"));
        let step = &plan("prod", "prod", Some("gp3"), &classes)[1];
        assert_eq!(step.action, Action::Conflict);
        assert!(step.details[0].contains("it has gp2, io2"), "{step:?}");
    }
}
