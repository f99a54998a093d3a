//! A Pod Identity fleet's record of its members, in the fleet's bucket: one object per cluster,
//! whose key holds the cluster's account, region, name, id and identity mode. One listing (a
//! thousand keys a call) finds the whole fleet, whatever its size; and runs for different
//! clusters never write the same object, so concurrent runs cannot lose one another's members.
//! (An IRSA fleet's members are its per-cluster roles.)

use std::collections::HashMap;

use crate::aws::config::Clients;
use crate::aws::iam::AccountTrust;
use crate::aws::s3;
use crate::cluster_id;
use crate::error::Error;
use crate::fleet::{Fleet, IdentityMode};
use crate::names::{self, tags};
use crate::plan::{Action, ResourceKind, Step};
use crate::render::StoreLocation;

/// Where the records are in the bucket: apart from Kubecost's own `federated/` files.
pub const PREFIX: &str = "kcfed/members/";

/// One member as its record's key says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    pub arn: String,
    pub id: String,
    pub identity: IdentityMode,
}

impl MemberRecord {
    /// `kcfed/members/ACCOUNT/REGION/NAME/ID/MODE`.
    pub fn key(&self) -> String {
        format!(
            "{}{}/{}",
            cluster_prefix(&self.arn),
            self.id,
            self.identity.as_str()
        )
    }

    /// The record a key holds; keys of another form are not kcfed's records.
    pub fn parse(key: &str, partition: &str) -> Option<MemberRecord> {
        let rest = key.strip_prefix(PREFIX)?;
        let parts: Vec<&str> = rest.split('/').collect();
        let [account, region, name, id, identity] = parts[..] else {
            return None;
        };
        let identity = match identity {
            "pod-identity" => IdentityMode::PodIdentity,
            "irsa" => IdentityMode::Irsa,
            _ => return None,
        };
        Some(MemberRecord {
            arn: names::eks_cluster_arn(partition, region, account, name),
            id: id.to_owned(),
            identity,
        })
    }
}

/// The start of every key of one cluster's record.
fn cluster_prefix(arn: &str) -> String {
    let (region, account, name) = names::parse_eks_cluster_arn(arn).unwrap_or_default();
    format!("{PREFIX}{account}/{region}/{name}/")
}

/// Every record key of a fleet that keeps a record; none for one that does not.
pub async fn read_fleet(clients: &Clients, fleet: &Fleet) -> Result<Vec<String>, Error> {
    match &fleet.store {
        Some(store) if fleet.keeps_records() => {
            s3::keys_under(&clients.s3_in(&store.region), &store.bucket, PREFIX).await
        }
        _ => Ok(Vec::new()),
    }
}

/// What a run knows of the fleet's members before it plans.
#[derive(Debug, Default)]
pub struct FleetMembers {
    pub members: Vec<cluster_id::Member>,
    /// The record's keys, for the plans.
    pub record_keys: Vec<String>,
    /// The fleet's roles with their tags: each IRSA cluster's own, and the shared ones.
    roles: Vec<(String, HashMap<String, String>)>,
    /// Which roles trust each OIDC provider, read once when a moved cluster's are removed.
    pub trust: AccountTrust,
}

impl FleetMembers {
    /// The IRSA roles kcfed made for one cluster, by their tags.
    pub fn irsa_roles_of(&self, arn: &str) -> Vec<String> {
        self.roles
            .iter()
            .filter(|(_, tags)| {
                tags.get(tags::CLUSTER)
                    .is_some_and(|cluster| cluster == arn)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// The fleet's members, found by their roles (IRSA) and by the record (Pod Identity) at the
/// same time.
pub async fn fleet_members(clients: &Clients, fleet: &Fleet) -> Result<FleetMembers, Error> {
    let names = fleet.names();
    let (roles, record_keys) = tokio::try_join!(
        crate::fleet::tagged_roles(&clients.iam, &names),
        read_fleet(clients, fleet),
    )?;
    let mut members = crate::fleet::members(&roles);
    add_to(&mut members, &self::members(&record_keys, names.partition));
    Ok(FleetMembers {
        members,
        record_keys,
        roles,
        trust: AccountTrust::default(),
    })
}

/// The members the keys record, one per cluster (the first of two an interrupted change left:
/// the cluster's next run removes the other).
pub fn members(keys: &[String], partition: &str) -> Vec<MemberRecord> {
    let mut records: Vec<MemberRecord> = keys
        .iter()
        .filter_map(|key| MemberRecord::parse(key, partition))
        .collect();
    records.dedup_by(|later, earlier| later.arn == earlier.arn);
    records
}

/// Adds the recorded clusters that `members` (found by their roles) lacks.
pub fn add_to(members: &mut Vec<cluster_id::Member>, records: &[MemberRecord]) {
    for record in records {
        if !members.iter().any(|member| member.arn == record.arn) {
            members.push(cluster_id::Member {
                arn: record.arn.clone(),
                id: record.id.clone(),
            });
        }
    }
}

/// The keys of one cluster's record.
pub fn of_cluster<'a>(keys: &'a [String], arn: &str) -> Vec<&'a str> {
    let prefix = cluster_prefix(arn);
    keys.iter()
        .map(String::as_str)
        .filter(|key| key.starts_with(&prefix))
        .collect()
}

/// A record to write, and the cluster's keys that no longer say what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    pub store: StoreLocation,
    pub write: Option<MemberRecord>,
    pub remove: Vec<String>,
}

/// The cluster's record step: written when missing or saying another id or mode.
pub fn plan(
    scope: &str,
    store: &StoreLocation,
    wanted: &MemberRecord,
    existing: &[&str],
) -> (Step, Option<RecordChange>) {
    let key = wanted.key();
    let step = |action| Step::new(scope, ResourceKind::FleetMember, &key, action);
    let stale: Vec<String> = existing
        .iter()
        .filter(|found| **found != key)
        .map(|found| (*found).to_owned())
        .collect();
    let present = existing.contains(&key.as_str());
    if present && stale.is_empty() {
        return (step(Action::Exists), None);
    }
    let action = if existing.is_empty() {
        Action::Create
    } else {
        Action::Update
    };
    let change = RecordChange {
        store: store.clone(),
        write: (!present).then(|| wanted.clone()),
        remove: stale,
    };
    (
        step(action).with_detail(format!("in s3://{}", store.bucket)),
        Some(change),
    )
}

/// Cleanup removes the cluster's record last (a rerun still finds the cluster by it).
pub fn plan_cleanup(
    scope: &str,
    store: &StoreLocation,
    keys: &[&str],
) -> Option<(Step, RecordChange)> {
    let first = keys.first()?;
    let step = Step::new(scope, ResourceKind::FleetMember, *first, Action::Delete);
    let change = RecordChange {
        store: store.clone(),
        write: None,
        remove: keys.iter().map(|key| (*key).to_owned()).collect(),
    };
    Some((step, change))
}

/// Writes the new record first, then removes the old keys: the cluster is never unrecorded.
pub async fn apply(client: &aws_sdk_s3::Client, change: &RecordChange) -> Result<(), Error> {
    let bucket = &change.store.bucket;
    if let Some(record) = &change.write {
        let body = serde_json::json!({
            "cluster": record.arn,
            "clusterId": record.id,
            "identity": record.identity.as_str(),
        });
        s3::put_object(client, bucket, &record.key(), body.to_string().into_bytes()).await?;
    }
    for key in &change.remove {
        s3::delete_object(client, bucket, key).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:eks:eu-west-1:444455556666:cluster/lab";

    fn record(id: &str) -> MemberRecord {
        MemberRecord {
            arn: ARN.to_owned(),
            id: id.to_owned(),
            identity: IdentityMode::PodIdentity,
        }
    }

    #[test]
    fn a_key_holds_the_whole_record() {
        let key = record("lab-eu").key();
        assert_eq!(
            key,
            "kcfed/members/444455556666/eu-west-1/lab/lab-eu/pod-identity"
        );
        assert_eq!(MemberRecord::parse(&key, "aws"), Some(record("lab-eu")));
        assert_eq!(MemberRecord::parse("kcfed/members/x", "aws"), None);
        assert_eq!(MemberRecord::parse("federated/lab/etl", "aws"), None);
    }

    #[test]
    fn a_record_is_written_once_and_replaced_when_the_cluster_changes() {
        let store = StoreLocation::new("kcfed-etl", "us-east-2");
        let (step, change) = plan("lab", &store, &record("lab"), &[]);
        assert_eq!(step.action, Action::Create);
        assert_eq!(change.unwrap().write, Some(record("lab")));

        let key = record("lab").key();
        let (step, change) = plan("lab", &store, &record("lab"), &[key.as_str()]);
        assert_eq!((step.action, change), (Action::Exists, None));

        let (step, change) = plan("lab-eu", &store, &record("lab-eu"), &[key.as_str()]);
        assert_eq!(step.action, Action::Update);
        let change = change.unwrap();
        assert_eq!(change.write, Some(record("lab-eu")));
        assert_eq!(change.remove, std::slice::from_ref(&key));

        let keys = vec![key.clone(), "kcfed/members/1/us-east-1/b/b/irsa".to_owned()];
        assert_eq!(of_cluster(&keys, ARN), [key.as_str()]);
        assert_eq!(members(&keys, "aws").len(), 2);
        let (step, removal) = plan_cleanup("lab", &store, &[key.as_str()]).unwrap();
        assert_eq!(step.action, Action::Delete);
        assert_eq!(removal.remove, [key]);
    }
}
