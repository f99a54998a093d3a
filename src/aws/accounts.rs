//! The AWS accounts of a fleet. The fleet's own account is the one kcfed's credentials are for:
//! the workspace, the bucket and every IAM resource kcfed makes live there, those of clusters in
//! other accounts included. A cluster in another account is reached (DescribeCluster) with
//! credentials for that account: a profile (`--account-profile ACCOUNT=PROFILE`) or a role kcfed
//! assumes there (`--account-role NAME`), through aws-config's own providers. Each account's
//! clients are built once, checked with `sts:GetCallerIdentity` before anything changes, and
//! shared by every cluster of the account.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::SharedCredentialsProvider;
use futures::future::try_join_all;

use crate::aws::config::Clients;
use crate::aws::sts::{self, Identity};
use crate::cli::AccountArgs;
use crate::error::Error;
use crate::names;

/// The session name kcfed's assumed-role sessions carry in CloudTrail.
const SESSION_NAME: &str = "kcfed";

/// How kcfed reaches one account other than the fleet's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// A profile of the AWS config files.
    Profile(String),
    /// The ARN of a role assumed with the fleet account's credentials.
    Role(String),
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Access::Profile(profile) => write!(f, "profile {profile}"),
            Access::Role(arn) => write!(f, "role {arn}"),
        }
    }
}

/// The access `args` give for `account`: its own profile first, else the role.
pub fn access_for(args: &AccountArgs, partition: &str, account: &str) -> Option<Access> {
    if let Some((_, profile)) = args.account_profiles.iter().find(|(a, _)| a == account) {
        return Some(Access::Profile(profile.clone()));
    }
    args.account_role
        .as_ref()
        .map(|role| Access::Role(format!("arn:{partition}:iam::{account}:role/{role}")))
}

/// The account a `--cluster` value names: an EKS ARN's; `None` for a plain name (the caller's).
pub fn of_cluster(value: &str) -> Option<&str> {
    names::parse_eks_cluster_arn(value).map(|(_, account, _)| account)
}

/// The accounts `--cluster` values name, each with its clusters' names.
pub fn of_clusters(values: &[String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for value in values {
        if let Some((_, account, name)) = names::parse_eks_cluster_arn(value) {
            accounts
                .entry(account.to_owned())
                .or_default()
                .insert(name.to_owned());
        }
    }
    accounts
}

/// The clients of every account a command needs, by account id.
pub struct Accounts {
    fleet_account: String,
    clients: BTreeMap<String, Clients>,
    /// Who kcfed acts as in each account, the fleet's first.
    identities: Vec<Identity>,
}

impl Accounts {
    /// The fleet's account and, for every other account in `needed` (each with the clusters
    /// that are in it, for the error), clients made from `args`' access to it and checked to
    /// act in that account. Any account without access, or whose access fails or reaches
    /// another account, is bad input (exit 2): nothing has changed yet.
    pub async fn resolve(
        fleet: Clients,
        fleet_identity: &Identity,
        args: &AccountArgs,
        needed: &BTreeMap<String, BTreeSet<String>>,
    ) -> Result<Accounts, Error> {
        let fleet_account = fleet_identity.account.as_str();
        let partition = names::partition(&fleet.region);
        let others: Vec<(&String, &BTreeSet<String>)> = needed
            .iter()
            .filter(|(account, _)| account.as_str() != fleet_account)
            .collect();
        let unreachable: Vec<String> = others
            .iter()
            .filter(|(account, _)| access_for(args, partition, account).is_none())
            .map(|(account, clusters)| {
                format!(
                    "{account} (cluster {})",
                    join(clusters.iter().map(String::as_str))
                )
            })
            .collect();
        if !unreachable.is_empty() {
            return Err(Error::Usage {
                message: format!(
                    "kcfed has no credentials for account {}: its clusters are described there",
                    unreachable.join(", ")
                ),
                fix: "pass --account-profile ACCOUNT=PROFILE (a profile of your AWS config that acts in that account) or --account-role ROLE_NAME (a role kcfed assumes in every other account, such as OrganizationAccountAccessRole); nothing was changed".to_owned(),
            });
        }
        let built = try_join_all(others.iter().map(|(account, _)| {
            let access = access_for(args, partition, account).expect("checked above");
            let fleet = &fleet;
            async move {
                let clients = clients_for(fleet, &access).await;
                let identity = check(&clients, account, &access).await?;
                Ok::<_, Error>(((*account).clone(), (clients, identity)))
            }
        }))
        .await?;
        let mut identities = vec![fleet_identity.clone()];
        let mut clients = BTreeMap::new();
        for (account, (account_clients, identity)) in built {
            clients.insert(account, account_clients);
            identities.push(identity);
        }
        clients.insert(fleet_account.to_owned(), fleet);
        Ok(Accounts {
            fleet_account: fleet_account.to_owned(),
            clients,
            identities,
        })
    }

    pub fn fleet_account(&self) -> &str {
        &self.fleet_account
    }

    /// Who kcfed acts as, per account, the fleet's first: the plan's header.
    pub fn identities(&self) -> Vec<Identity> {
        self.identities.clone()
    }

    /// The fleet account's clients.
    pub fn fleet(&self) -> &Clients {
        &self.clients[&self.fleet_account]
    }

    /// The clients of `account`, which [`Accounts::resolve`] was given.
    pub fn clients(&self, account: &str) -> &Clients {
        self.clients
            .get(account)
            .unwrap_or_else(|| panic!("account {account} was not resolved"))
    }
}

/// The clients for one other account, with the fleet's region and endpoint.
pub async fn clients_for(fleet: &Clients, access: &Access) -> Clients {
    // Only the credentials differ from the fleet's configuration. The profile's own provider,
    // not the default chain, which would prefer the AWS_* variables to any profile.
    let credentials = match access {
        Access::Profile(profile) => {
            let provider_config = ProviderConfig::default()
                .with_region(Some(Region::new(fleet.region.clone())))
                .with_behavior_version(Some(BehaviorVersion::latest()));
            SharedCredentialsProvider::new(
                ProfileFileCredentialsProvider::builder()
                    .configure(&provider_config)
                    .profile_name(profile)
                    .build(),
            )
        }
        Access::Role(arn) => SharedCredentialsProvider::new(
            aws_config::sts::AssumeRoleProvider::builder(arn.clone())
                .session_name(SESSION_NAME)
                .configure(&fleet.config)
                .build()
                .await,
        ),
    };
    let config = fleet
        .config
        .to_builder()
        .credentials_provider(credentials)
        .build();
    Clients::new(config).expect("the fleet's configuration has a region")
}

/// The access must work and act in `account`.
async fn check(clients: &Clients, account: &str, access: &Access) -> Result<Identity, Error> {
    let fix = match access {
        Access::Profile(profile) => format!(
            "check the profile: `aws sts get-caller-identity --profile {profile}` must name account {account}; nothing was changed"
        ),
        Access::Role(arn) => format!(
            "check that {arn} exists and trusts the identity kcfed runs as: `aws sts assume-role --role-arn {arn} --role-session-name kcfed`; nothing was changed"
        ),
    };
    match sts::caller(&clients.sts).await {
        Ok(caller) if caller.account == account => Ok(caller),
        Ok(caller) => Err(Error::Usage {
            message: format!(
                "{access} acts in account {}, not in account {account}",
                caller.account
            ),
            fix,
        }),
        Err(err) => Err(Error::Usage {
            message: format!(
                "account {account} cannot be reached with {access}: {}",
                err.with_fix()
            ),
            fix,
        }),
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(profiles: &[(&str, &str)], role: Option<&str>) -> AccountArgs {
        AccountArgs {
            account_profiles: profiles
                .iter()
                .map(|(a, p)| ((*a).to_owned(), (*p).to_owned()))
                .collect(),
            account_role: role.map(str::to_owned),
        }
    }

    #[test]
    fn an_account_profile_wins_over_the_role() {
        let args = args(
            &[("222233334444", "edge")],
            Some("OrganizationAccountAccessRole"),
        );
        assert_eq!(
            access_for(&args, "aws", "222233334444"),
            Some(Access::Profile("edge".to_owned()))
        );
        assert_eq!(
            access_for(&args, "aws", "333344445555"),
            Some(Access::Role(
                "arn:aws:iam::333344445555:role/OrganizationAccountAccessRole".to_owned()
            ))
        );
        assert_eq!(
            access_for(&args, "aws-cn", "333344445555"),
            Some(Access::Role(
                "arn:aws-cn:iam::333344445555:role/OrganizationAccountAccessRole".to_owned()
            ))
        );
    }

    #[test]
    fn no_flag_is_no_access() {
        assert_eq!(access_for(&args(&[], None), "aws", "222233334444"), None);
    }
}

#[cfg(test)]
mod sdk_edges;
