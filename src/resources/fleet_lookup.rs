//! How every command finds the fleet it works on: the workspace the flags name, else a bucket
//! that holds a fleet's record (see `fleet::Anchor`).

use crate::aws::config::Clients;
use crate::aws::{amp, s3};
use crate::error::Error;
use crate::fleet::{Found, holds_record};
use crate::names;
use crate::render::StoreLocation;
use crate::resources::workspace;

/// Where a command looks for the fleet: `--workspace-region` (else the AWS region) with that
/// region's AMP client, `--workspace-id` or `--workspace-alias` (else the default alias), and
/// `--bucket` (else the default bucket of the account and that region).
pub struct FleetLookup {
    pub region: String,
    pub alias: String,
    pub client: aws_sdk_amp::Client,
    workspace_id: Option<String>,
    /// The workspace flags name a workspace: the bucket is not asked first.
    workspace_named: bool,
    bucket: Option<String>,
}

impl FleetLookup {
    pub fn new(clients: &Clients, args: &crate::cli::WorkspaceArgs) -> Self {
        let region = args
            .workspace_region
            .clone()
            .unwrap_or_else(|| clients.region.clone());
        Self {
            client: clients.amp(&region),
            alias: args
                .workspace_alias
                .clone()
                .unwrap_or_else(|| names::DEFAULT_WORKSPACE_ALIAS.to_owned()),
            workspace_id: args.workspace_id.clone(),
            workspace_named: args.workspace_id.is_some() || args.workspace_alias.is_some(),
            bucket: args.bucket.clone(),
            region,
        }
    }

    /// The fleet's bucket: `--bucket`, else the account's default in the fleet's region.
    pub fn bucket(&self, account_id: &str) -> StoreLocation {
        let bucket = self
            .bucket
            .clone()
            .unwrap_or_else(|| names::default_bucket(account_id, &self.region));
        StoreLocation::new(&bucket, &self.region)
    }

    /// The workspace the flags name (by id, which must exist, or by alias): read beside the
    /// caller's identity, before the bucket's name is known.
    pub async fn workspace(&self) -> Result<Option<amp::Workspace>, Error> {
        workspace::find(
            &self.client,
            self.workspace_id.as_deref(),
            &self.alias,
            &self.region,
        )
        .await
    }

    /// The fleet, given the workspace [`Self::workspace`] found, and the bucket as read (for
    /// `init`, which plans it). A bucket named by `--bucket` that holds a record comes before a
    /// workspace found by the default alias; the default bucket is asked only when no workspace
    /// was found.
    pub async fn find(
        &self,
        s3: &aws_sdk_s3::Client,
        account_id: &str,
        workspace: Option<amp::Workspace>,
    ) -> Result<(Option<Found>, Option<(String, s3::BucketState)>), Error> {
        let ask_bucket = self.asks_bucket(workspace.is_some());
        let name = self.bucket(account_id).bucket;
        let state = if ask_bucket {
            Some(s3::inspect(s3, &name).await?)
        } else {
            None
        };
        let found = match (&state, workspace) {
            (Some(s3::BucketState::Owned(bucket)), _) if holds_record(bucket) => {
                let mut store = self.bucket(account_id);
                if let Some(region) = &bucket.region {
                    store = StoreLocation::new(&store.bucket, region);
                }
                Some(Found::Bucket {
                    store,
                    bucket: bucket.clone(),
                })
            }
            (_, Some(workspace)) => Some(Found::Workspace(workspace)),
            (_, None) => None,
        };
        Ok((found, state.map(|state| (name, state))))
    }

    /// Whether the bucket is read for a record. A workspace named by id is the fleet's, or
    /// nothing is; an alias with no workspace may be given to a fleet that never had one; a
    /// `--bucket` outranks a workspace found by the default alias, not one the flags name.
    fn asks_bucket(&self, workspace_found: bool) -> bool {
        if workspace_found {
            self.bucket.is_some() && !self.workspace_named
        } else {
            self.workspace_id.is_none()
        }
    }

    /// The fleet of a command that needs one made already.
    pub async fn existing(
        &self,
        s3: &aws_sdk_s3::Client,
        account_id: &str,
        workspace: Option<amp::Workspace>,
    ) -> Result<Found, Error> {
        let (found, _) = self.find(s3, account_id, workspace).await?;
        found.ok_or_else(|| Error::NotFound {
            what: "AMP workspace",
            name: self
                .workspace_id
                .clone()
                .unwrap_or_else(|| self.alias.clone()),
            place: if self.workspace_id.is_some() {
                format!("in region {}", self.region)
            } else {
                format!(
                    "in region {}, nor a fleet's record on bucket {}",
                    self.region,
                    self.bucket(account_id).bucket
                )
            },
            fix: "create the fleet with `kcfed init primary` first, or name it with --workspace-id, --workspace-alias or --bucket, and --fleet-region when it is in another region".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(id: Option<&str>, alias: Option<&str>, bucket: Option<&str>) -> FleetLookup {
        let args = crate::cli::WorkspaceArgs {
            workspace_id: id.map(str::to_owned),
            workspace_alias: alias.map(str::to_owned),
            workspace_region: None,
            bucket: bucket.map(str::to_owned),
        };
        let config = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-2"))
            .build();
        FleetLookup::new(&Clients::new(config).expect("a region"), &args)
    }

    #[test]
    fn the_bucket_is_read_when_no_workspace_answers_or_a_bucket_outranks_the_default_alias() {
        // No flags: the default alias, else the default bucket.
        assert!(!lookup(None, None, None).asks_bucket(true));
        assert!(lookup(None, None, None).asks_bucket(false));
        // --bucket names the fleet before the default alias does.
        assert!(lookup(None, None, Some("b")).asks_bucket(true));
        // A workspace the flags name is the fleet's.
        assert!(!lookup(None, Some("mine"), Some("b")).asks_bucket(true));
        assert!(!lookup(Some("ws-1"), None, Some("b")).asks_bucket(true));
        // An alias that names no workspace may be a Kubecost 3 fleet's; an id may not.
        assert!(lookup(None, Some("mine"), None).asks_bucket(false));
        assert!(!lookup(Some("ws-1"), None, None).asks_bucket(false));
    }
}
