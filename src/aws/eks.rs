//! EKS: the cluster kcfed installs into, its OIDC issuer, its Pod Identity agent add-on and
//! associations.

use std::collections::HashMap;

use serde::Serialize;

use crate::aws::call_failed;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub region: String,
    /// The account the cluster is in, from its ARN.
    pub account: String,
    /// `https://oidc.eks.REGION.amazonaws.com/id/ID`: IRSA trusts this issuer.
    pub oidc_issuer: String,
    /// The API server's URL and its certificate authority (base64 PEM, as a kubeconfig holds it),
    /// for reaching the cluster without a kube context.
    pub endpoint: Option<String>,
    pub certificate_authority: Option<String>,
    /// EKS Auto Mode runs the Pod Identity agent itself.
    pub auto_mode: bool,
}

pub async fn describe_cluster(
    client: &aws_sdk_eks::Client,
    name: &str,
    region: &str,
) -> Result<Cluster, Error> {
    let output = client
        .describe_cluster()
        .name(name)
        .send()
        .await
        .map_err(|err| {
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
            {
                Error::NotFound {
                    what: "EKS cluster",
                    name: name.to_owned(),
                    place: format!("in region {region}"),
                    fix: format!(
                        "check the name with `aws eks list-clusters --region {region}`, or pass --region for the cluster's region"
                    ),
                }
            } else {
                call_failed("eks:DescribeCluster", format!("cluster {name}"), err)
            }
        })?;
    let cluster = output
        .cluster()
        .ok_or_else(|| missing_field(name, "cluster"))?;
    let issuer = cluster
        .identity()
        .and_then(|identity| identity.oidc())
        .and_then(|oidc| oidc.issuer())
        .ok_or_else(|| missing_field(name, "identity.oidc.issuer"))?;
    let arn = cluster.arn().ok_or_else(|| missing_field(name, "arn"))?;
    let (_, account, _) = crate::names::parse_eks_cluster_arn(arn)
        .ok_or_else(|| missing_field(name, "a valid arn"))?;
    Ok(Cluster {
        name: name.to_owned(),
        account: account.to_owned(),
        arn: arn.to_owned(),
        region: region.to_owned(),
        oidc_issuer: issuer.to_owned(),
        endpoint: cluster.endpoint().map(str::to_owned),
        certificate_authority: cluster
            .certificate_authority()
            .and_then(|ca| ca.data())
            .map(str::to_owned),
        auto_mode: cluster
            .compute_config()
            .and_then(|compute| compute.enabled())
            .unwrap_or(false),
    })
}

/// Maps EKS's "not found" to `None`, any other failure to kcfed's error.
macro_rules! found {
    ($call:expr, $action:literal, $resource:expr) => {
        crate::aws::none_when!(is_resource_not_found_exception, $call, $action, $resource)
    };
}

/// The add-on that gives pods their Pod Identity credentials.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";

/// Whether the cluster has the add-on (any status but a failed creation or a deletion).
pub async fn has_addon(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    addon: &str,
) -> Result<bool, Error> {
    use aws_sdk_eks::types::AddonStatus;
    let output = found!(
        client
            .describe_addon()
            .cluster_name(cluster)
            .addon_name(addon)
            .send(),
        "eks:DescribeAddon",
        format!("add-on {addon} of cluster {cluster}")
    );
    Ok(output
        .as_ref()
        .and_then(|output| output.addon())
        .is_some_and(|addon| {
            !matches!(
                addon.status(),
                Some(AddonStatus::CreateFailed | AddonStatus::Deleting)
            )
        }))
}

/// One Pod Identity association as EKS describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    pub target_role_arn: Option<String>,
    pub tags: HashMap<String, String>,
}

/// The associations of `service_accounts` in `namespace` (EKS allows one per service account):
/// one listing of the namespace, then each one found described.
pub async fn associations_in(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    namespace: &str,
    service_accounts: &[&str],
) -> Result<Vec<Association>, Error> {
    let listed = client
        .list_pod_identity_associations()
        .cluster_name(cluster)
        .namespace(namespace)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|err| {
            let resource = format!("namespace {namespace} of cluster {cluster}");
            call_failed("eks:ListPodIdentityAssociations", resource, err)
        })?;
    let ids = listed.iter().filter_map(|summary| {
        let service_account = summary.service_account()?;
        service_accounts
            .contains(&service_account)
            .then(|| (service_account, summary.association_id()))
    });
    let described = futures::future::try_join_all(ids.map(|(service_account, id)| async move {
        let resource = format!("{namespace}/{service_account} of cluster {cluster}");
        // `None` when it was deleted between the two calls.
        let described = found!(
            client
                .describe_pod_identity_association()
                .cluster_name(cluster)
                .set_association_id(id.map(str::to_owned))
                .send(),
            "eks:DescribePodIdentityAssociation",
            resource
        );
        Ok::<_, Error>(described.and_then(|output| output.association().map(association)))
    }))
    .await?;
    Ok(described.into_iter().flatten().collect())
}

fn association(found: &aws_sdk_eks::types::PodIdentityAssociation) -> Association {
    Association {
        id: found.association_id().unwrap_or_default().to_owned(),
        cluster: found.cluster_name().unwrap_or_default().to_owned(),
        namespace: found.namespace().unwrap_or_default().to_owned(),
        service_account: found.service_account().unwrap_or_default().to_owned(),
        role_arn: found.role_arn().unwrap_or_default().to_owned(),
        target_role_arn: found.target_role_arn().map(str::to_owned),
        tags: found.tags().cloned().unwrap_or_default(),
    }
}

/// Makes the association; one a concurrent run made first for the same service account is
/// updated to the same roles instead.
pub async fn create_association(
    client: &aws_sdk_eks::Client,
    wanted: &Association,
) -> Result<(), Error> {
    let resource = || {
        format!(
            "{}/{} of cluster {}",
            wanted.namespace, wanted.service_account, wanted.cluster
        )
    };
    let created = client
        .create_pod_identity_association()
        .cluster_name(&wanted.cluster)
        .namespace(&wanted.namespace)
        .service_account(&wanted.service_account)
        .role_arn(&wanted.role_arn)
        .set_target_role_arn(wanted.target_role_arn.clone())
        .set_tags(Some(wanted.tags.clone()))
        .send()
        .await;
    match created {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_in_use_exception()) =>
        {
            let existing = associations_in(
                client,
                &wanted.cluster,
                &wanted.namespace,
                &[&wanted.service_account],
            )
            .await?
            .pop();
            match existing {
                Some(existing) => update_association(client, &existing.id, wanted).await,
                None => Err(call_failed(
                    "eks:CreatePodIdentityAssociation",
                    resource(),
                    err,
                )),
            }
        }
        Err(err) => Err(call_failed(
            "eks:CreatePodIdentityAssociation",
            resource(),
            err,
        )),
    }
}

/// Points an existing association at the wanted roles.
pub async fn update_association(
    client: &aws_sdk_eks::Client,
    id: &str,
    wanted: &Association,
) -> Result<(), Error> {
    client
        .update_pod_identity_association()
        .cluster_name(&wanted.cluster)
        .association_id(id)
        .role_arn(&wanted.role_arn)
        // An empty target removes one the association had.
        .target_role_arn(wanted.target_role_arn.clone().unwrap_or_default())
        .send()
        .await
        .map_err(|err| {
            call_failed(
                "eks:UpdatePodIdentityAssociation",
                format!("association {id} of cluster {}", wanted.cluster),
                err,
            )
        })?;
    Ok(())
}

/// Deletes the association; already gone is fine.
pub async fn delete_association(
    client: &aws_sdk_eks::Client,
    cluster: &str,
    id: &str,
) -> Result<(), Error> {
    found!(
        client
            .delete_pod_identity_association()
            .cluster_name(cluster)
            .association_id(id)
            .send(),
        "eks:DeletePodIdentityAssociation",
        format!("association {id} of cluster {cluster}")
    );
    Ok(())
}

fn missing_field(cluster: &str, field: &str) -> Error {
    Error::Aws {
        action: "eks:DescribeCluster",
        resource: format!("cluster {cluster}"),
        failure: crate::error::AwsFailure::Other,
        message: format!("the answer has no {field}"),
    }
}

#[cfg(test)]
mod sdk_edges;
