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
    /// `init`, which plans it). A bucket named by `--bucket` that holds a record comes first;
    /// the default bucket is asked only when no workspace was found.
    pub async fn find(
        &self,
        s3: &aws_sdk_s3::Client,
        account_id: &str,
        workspace: Option<amp::Workspace>,
    ) -> Result<(Option<Found>, Option<(String, s3::BucketState)>), Error> {
        let ask_bucket = !self.workspace_named && (self.bucket.is_some() || workspace.is_none());
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
            place: if self.workspace_named {
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
