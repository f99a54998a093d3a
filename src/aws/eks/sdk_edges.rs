//! DescribeCluster against mocked answers: a cluster named wrongly, an answer missing what IRSA
//! needs, refusals and outages.

use aws_sdk_eks::operation::describe_cluster::{DescribeClusterError, DescribeClusterOutput};
use aws_sdk_eks::types::error::ResourceNotFoundException;
use aws_sdk_eks::types::{Certificate, Identity, Oidc};
use aws_smithy_mocks::mock;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::body::SdkBody;

use super::*;
use crate::aws::mock_clients::{MAX_ATTEMPTS, answering, aws_failure, service_error};
use crate::error::AwsFailure;

const ARN: &str = "arn:aws:eks:us-east-2:444455556666:cluster/prod";
const ISSUER: &str = "https://oidc.eks.us-east-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn described(issuer: Option<&str>) -> DescribeClusterOutput {
    DescribeClusterOutput::builder()
        .cluster(
            aws_sdk_eks::types::Cluster::builder()
                .name("prod")
                .arn(ARN)
                .endpoint("https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com")
                .certificate_authority(Certificate::builder().data("LS0tLS1CRUdJTg==").build())
                .identity(
                    Identity::builder()
                        .oidc(
                            Oidc::builder()
                                .set_issuer(issuer.map(str::to_owned))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .build()
}

/// A cluster in another account: its account is the ARN's, not the caller's.
#[tokio::test]
async fn a_cluster_is_read_with_the_account_of_its_arn_its_issuer_and_its_endpoint() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster)
        .match_requests(|input| input.name() == Some("prod"))
        .then_output(|| described(Some(ISSUER)));
    let cluster = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap();
    assert_eq!(
        cluster,
        Cluster {
            name: "prod".to_owned(),
            arn: ARN.to_owned(),
            region: "us-east-2".to_owned(),
            account: "444455556666".to_owned(),
            oidc_issuer: ISSUER.to_owned(),
            endpoint: Some("https://EXAMPLE.gr7.us-east-2.eks.amazonaws.com".to_owned()),
            certificate_authority: Some("LS0tLS1CRUdJTg==".to_owned()),
            auto_mode: false,
        }
    );
}

#[tokio::test]
async fn a_cluster_that_does_not_exist_is_not_found_telling_how_to_list_the_regions_clusters() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster).then_error(|| {
        DescribeClusterError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .message("No cluster found for name: prod.")
                .build(),
        )
    });
    let err = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap_err();
    let Error::NotFound {
        what, name, place, ..
    } = &err
    else {
        panic!("expected not found, got {err:?}");
    };
    assert_eq!(
        (*what, name.as_str(), place.as_str()),
        ("EKS cluster", "prod", "in region us-east-2")
    );
    assert_eq!(
        err.fix().unwrap(),
        "check the name with `aws eks list-clusters --region us-east-2`, or pass --region for the cluster's region"
    );
    assert_eq!(err.exit_code(), crate::error::exit::BAD_INPUT);
}

/// IRSA cannot work without the issuer; the answer is refused rather than a role trusting "".
#[tokio::test]
async fn a_cluster_without_an_oidc_issuer_is_an_error_naming_the_missing_field() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster).then_output(|| described(None));
    let err = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "eks:DescribeCluster",
            AwsFailure::Other,
            "the answer has no identity.oidc.issuer"
        )
    );
}

#[tokio::test]
async fn access_denied_names_the_eks_action_to_grant_and_is_not_retried() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster)
        .sequence()
        .error(|| {
            DescribeClusterError::generic(service_error(
                "AccessDeniedException",
                "User is not authorized to perform: eks:DescribeCluster",
            ))
        })
        .repeatedly()
        .build();
    let err = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap_err();
    assert_eq!(aws_failure(&err).1, AwsFailure::AccessDenied);
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(
        err.fix().unwrap(),
        "grant the calling identity `eks:DescribeCluster` (README lists every permission kcfed needs)"
    );
}

#[tokio::test]
async fn a_throttled_describe_is_retried_and_answered() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster)
        .sequence()
        .error(|| {
            DescribeClusterError::generic(service_error("ThrottlingException", "Rate exceeded"))
        })
        .times(2)
        .output(|| described(Some(ISSUER)))
        .build();
    let cluster = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap();
    assert_eq!(cluster.oidc_issuer, ISSUER);
    assert_eq!(rule.num_calls(), 3);
}

/// EKS's 503 as it comes on the wire: restJson, its type in a header.
fn unavailable() -> HttpResponse {
    let mut response = HttpResponse::new(
        503.try_into().unwrap(),
        SdkBody::from(r#"{"message":"Service Unavailable"}"#),
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", "ServiceUnavailableException");
    response
}

/// A 503 is transient: retried like throttling, but when it outlasts the retries it is a failure
/// to run again, not throttling.
#[tokio::test]
async fn an_outage_outlasting_the_retries_is_a_failure_to_rerun_not_throttling() {
    let rule = mock!(aws_sdk_eks::Client::describe_cluster)
        .sequence()
        .http_response(unavailable)
        .repeatedly()
        .build();
    let err = describe_cluster(&answering(&[&rule]), "prod", "us-east-2")
        .await
        .unwrap_err();
    assert_eq!(
        aws_failure(&err),
        (
            "eks:DescribeCluster",
            AwsFailure::Other,
            "ServiceUnavailableException: Service Unavailable"
        )
    );
    assert_eq!(rule.num_calls(), MAX_ATTEMPTS as usize);
    assert_eq!(
        err.fix().unwrap(),
        "run the command again; it resumes where it stopped"
    );
}
