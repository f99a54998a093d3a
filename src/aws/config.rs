//! The one `SdkConfig` every client is built from, and the clients themselves.

use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};

use crate::cli::AwsArgs;
use crate::error::Error;

/// Unless the user chose retry settings, AWS calls are retried with the SDK's standard mode
/// (exponential backoff with jitter), bounded in attempts, so throttling during a large join
/// slows those calls down instead of failing them. kcfed bounds its own concurrency
/// (`--concurrency`); the adaptive mode's client-side rate limit would keep a once-throttled
/// service slow for the rest of the run.
const MAX_ATTEMPTS: u32 = 6;

/// The settings by which a user chooses how the SDK retries, in the environment and in a
/// profile, as the aws CLI reads them.
const RETRY_ENV: [&str; 2] = ["AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"];
const RETRY_PROFILE_KEYS: [&str; 2] = ["max_attempts", "retry_mode"];

/// The configuration of the command's AWS flags over the SDK's defaults. A `--profile` is the
/// profile's credentials, as in the aws CLI: the SDK's default chain would take
/// `AWS_ACCESS_KEY_ID` and friends first and act as another identity than the one named.
pub async fn load(args: &AwsArgs) -> Result<aws_config::SdkConfig, Error> {
    let env = Env::real();
    // Unreadable files: the SDK's own error says which and why, at the first call.
    let profiles = profile_files(&env).await;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // The SDK reads the user's settings only when the loader is given none of its own.
    if !retry_chosen(&env, profiles.as_ref(), args.profile.as_deref()) {
        loader = loader.retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS));
    }
    if let Some(profile) = &args.profile {
        ensure_profile_exists(profile, profiles.as_ref())?;
        loader = loader.profile_name(profile).credentials_provider(
            ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(endpoint) = &args.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    Ok(loader.load().await)
}

/// The profiles of the AWS config files `env` names (or the default ones); `None` when they
/// cannot be read.
async fn profile_files(env: &Env) -> Option<ProfileSet> {
    aws_config::profile::load(&Fs::real(), env, &EnvConfigFiles::default(), None)
        .await
        .ok()
}

/// Whether the user chose how the SDK retries: `AWS_MAX_ATTEMPTS` or `AWS_RETRY_MODE`, or
/// `max_attempts` or `retry_mode` in the profile in use (`--profile`, else `AWS_PROFILE`, else
/// `default`).
fn retry_chosen(env: &Env, profiles: Option<&ProfileSet>, profile: Option<&str>) -> bool {
    if RETRY_ENV
        .iter()
        .any(|name| env.get(name).is_ok_and(|value| !value.is_empty()))
    {
        return true;
    }
    let profile = match profile {
        Some(profile) => profile.to_owned(),
        None => env
            .get("AWS_PROFILE")
            .unwrap_or_else(|_| "default".to_owned()),
    };
    let Some(profiles) = profiles else {
        return false;
    };
    profiles.get_profile(&profile).is_some_and(|profile| {
        RETRY_PROFILE_KEYS
            .iter()
            .any(|key| profile.get(key).is_some())
    })
}

/// A profile that is in neither AWS file is named, not reported as "no credentials"; with
/// unreadable files (`None`) the SDK says which and why.
fn ensure_profile_exists(profile: &str, profiles: Option<&ProfileSet>) -> Result<(), Error> {
    let Some(profiles) = profiles else {
        return Ok(());
    };
    if profiles.get_profile(profile).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = profiles.profiles().collect();
    Err(Error::Usage {
        message: format!(
            "the AWS profile {profile:?} is not in the AWS config files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/config and ~/.aws/credentials){}",
            if known.is_empty() {
                String::new()
            } else {
                format!("; they have {}", known.join(", "))
            }
        ),
        fix: "name a profile that `aws configure list-profiles` shows, or create it with `aws configure --profile NAME`".to_owned(),
    })
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

    /// Service Quotas where it answers for IAM, a global service: the partition's home region.
    pub fn service_quotas_for_iam(&self) -> aws_sdk_servicequotas::Client {
        let home = match crate::names::partition(&self.region) {
            "aws-cn" => "cn-north-1",
            "aws-us-gov" => "us-gov-west-1",
            _ => "us-east-1",
        };
        let config = aws_sdk_servicequotas::config::Builder::from(&self.config)
            .region(Region::new(home))
            .build();
        aws_sdk_servicequotas::Client::from_conf(config)
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

#[cfg(test)]
mod sdk_edges;
