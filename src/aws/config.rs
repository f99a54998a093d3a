//! The one `SdkConfig` every client is built from, and the clients themselves.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};

use crate::cli::AwsArgs;

/// AWS calls are retried with the SDK's standard mode (exponential backoff with jitter), bounded
/// in attempts, so throttling during a large join slows those calls down instead of failing
/// them. kcfed bounds its own concurrency (`--concurrency`); the adaptive mode's client-side
/// rate limit would keep a once-throttled service slow for the rest of the run.
const MAX_ATTEMPTS: u32 = 6;

pub async fn load(args: &AwsArgs) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    if let Some(profile) = &args.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &args.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The clients one command uses, built once. Regional services get a client per region on
/// demand, from the same configuration.
#[derive(Clone)]
pub struct Clients {
    pub config: aws_config::SdkConfig,
    pub region: String,
    pub sts: aws_sdk_sts::Client,
    pub eks: aws_sdk_eks::Client,
    pub iam: aws_sdk_iam::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub fn new(config: aws_config::SdkConfig) -> Option<Self> {
        let region = config.region()?.to_string();
        Some(Self {
            sts: aws_sdk_sts::Client::new(&config),
            eks: aws_sdk_eks::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            s3: aws_sdk_s3::Client::new(&config),
            region,
            config,
        })
    }

    pub fn amp(&self, region: &str) -> aws_sdk_amp::Client {
        let config = aws_sdk_amp::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_amp::Client::from_conf(config)
    }

    pub fn eks_in(&self, region: &str) -> aws_sdk_eks::Client {
        if region == self.region {
            return self.eks.clone();
        }
        let config = aws_sdk_eks::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_eks::Client::from_conf(config)
    }

    pub fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.region {
            return self.s3.clone();
        }
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .region(Region::new(region.to_owned()))
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }
}
