//! EKS: the cluster kcfed installs into, and its OIDC issuer.

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
    })
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
