//! The cluster id: what a cluster is called in the fleet's shared data (Prometheus' `cluster_id`
//! label in AMP, the `federated/ID/` prefix of the bucket, Kubecost's cluster name). Clusters in
//! other regions and accounts may share an EKS name, so the id is chosen once per cluster, unique
//! in its fleet, and recorded on the cluster's roles; a cluster keeps it for its life. Nothing
//! here does I/O.

use crate::error::Error;
use crate::names;

/// At most a Kubernetes label value's length: Kubecost also uses the id as a label value.
pub const MAX_LEN: usize = 63;

/// A cluster of the fleet as its roles record it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub arn: String,
    pub id: String,
}

/// The id of a cluster whose roles record one, else its EKS name (what kcfed used before ids
/// were recorded, and still uses when the name is free).
pub fn recorded_or_name(recorded: Option<&str>, cluster_arn: &str) -> String {
    recorded.map_or_else(
        || {
            names::parse_eks_cluster_arn(cluster_arn)
                .map_or(cluster_arn, |(_, _, name)| name)
                .to_owned()
        },
        str::to_owned,
    )
}

/// `--cluster-id`: a DNS label, as every id kcfed derives for a new qualified cluster.
pub fn validate(value: &str) -> Result<(), Error> {
    let bytes = value.as_bytes();
    let dns_label = !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric();
    if dns_label {
        return Ok(());
    }
    Err(Error::InvalidInput {
        what: "cluster id",
        value: value.to_owned(),
        reason: format!(
            "a cluster id is a DNS label: 1 to {MAX_LEN} lowercase letters, digits or '-', starting and ending with a letter or digit"
        ),
    })
}

/// The id of a new cluster: its EKS name while no other cluster of the fleet uses it; else the
/// name qualified by its region, then by its region and account; shortened to [`MAX_LEN`]
/// with a hash of the whole when too long. `taken` says whether another cluster has an id.
pub fn derive(cluster_arn: &str, taken: impl Fn(&str) -> bool) -> String {
    let (region, account, name) = names::parse_eks_cluster_arn(cluster_arn).unwrap_or_default();
    let candidates = [
        name.to_owned(),
        qualified(&[name, region]),
        qualified(&[name, region, account]),
    ];
    candidates
        .into_iter()
        .find(|id| !taken(id))
        // Only a fleet that already uses all three forms (ids chosen by hand) gets here.
        .unwrap_or_else(|| shortened(&format!("{name}-{region}-{account}"), cluster_arn))
}

/// Parts joined by `-`, shortened when longer than an id may be.
fn qualified(parts: &[&str]) -> String {
    let id = parts.join("-");
    if id.len() <= MAX_LEN {
        id
    } else {
        shortened(parts[0], &id)
    }
}

/// `head` cut to fit, then a hash of `whole`: same-named long clusters still differ.
fn shortened(head: &str, whole: &str) -> String {
    let hash = format!("{:08x}", names::fnv1a32(whole.as_bytes()));
    let room = MAX_LEN - 1 - hash.len();
    let head: String = head.chars().take(room).collect();
    format!("{}-{hash}", head.trim_end_matches(['-', '_']))
}

/// Chooses the ids of the clusters a run installs, in the order given: the id recorded for a
/// cluster already in the fleet, else the one `--cluster-id` asks for, else a derived one. A
/// requested id another cluster uses is bad input naming that cluster. A requested id that
/// differs from the recorded one is kept for the plan, which shows the change as a conflict.
pub fn choose(members: &[Member], clusters: &[(&str, Option<&str>)]) -> Result<Vec<String>, Error> {
    let mut chosen: Vec<Member> = Vec::new();
    for (arn, requested) in clusters {
        let others = || members.iter().chain(&chosen);
        let used_by = |id: &str| {
            others()
                .find(|member| member.arn != *arn && member.id == id)
                .cloned()
        };
        let id = match (requested, members.iter().find(|m| m.arn == *arn)) {
            (Some(requested), _) => {
                if let Some(holder) = used_by(requested) {
                    return Err(Error::InvalidInput {
                        what: "cluster id",
                        value: (*requested).to_owned(),
                        reason: format!(
                            "cluster {} of the fleet already has this id; choose another --cluster-id",
                            holder.arn
                        ),
                    });
                }
                (*requested).to_owned()
            }
            (None, Some(member)) => member.id.clone(),
            (None, None) => derive(arn, |id| used_by(id).is_some()),
        };
        chosen.push(Member {
            arn: (*arn).to_owned(),
            id,
        });
    }
    Ok(chosen.into_iter().map(|member| member.id).collect())
}

/// Why a cluster cannot take `wanted` as its id: it already writes its data under another one
/// (recorded on its roles, or the `cluster_id` its release runs with). Changing it would split
/// the cluster's history in AMP and in the bucket, so kcfed never does it on its own.
pub fn change_refused(
    cluster_arn: &str,
    wanted: &str,
    recorded: Option<&str>,
    running: Option<&str>,
) -> Option<String> {
    let current = recorded.or(running).filter(|current| *current != wanted)?;
    Some(format!(
        "the cluster's id is {current} (its metrics in AMP and its files under federated/{current}/ carry it), and this run would make it {wanted}: that splits its cost history. Keep it (run without --cluster-id, or with --cluster-id {current}); to change it on purpose, remove the cluster with `kcfed cleanup --cluster {cluster_arn}` and add it again with --cluster-id {wanted} (the data under {current} stays in AMP and the bucket)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD_WEST: &str = "arn:aws:eks:us-west-2:111122223333:cluster/prod";
    const PROD_EU: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/prod";
    const PROD_EU_OTHER: &str = "arn:aws:eks:eu-west-1:222233334444:cluster/prod";

    fn member(arn: &str, id: &str) -> Member {
        Member {
            arn: arn.to_owned(),
            id: id.to_owned(),
        }
    }

    #[test]
    fn a_free_name_is_the_id_and_a_taken_one_is_qualified_by_region_then_account() {
        assert_eq!(derive(PROD_WEST, |_| false), "prod");
        assert_eq!(derive(PROD_EU, |id| id == "prod"), "prod-eu-west-1");
        assert_eq!(
            derive(PROD_EU_OTHER, |id| id == "prod" || id == "prod-eu-west-1"),
            "prod-eu-west-1-222233334444"
        );
        let all_taken = derive(PROD_EU_OTHER, |id| id.starts_with("prod"));
        assert!(all_taken.starts_with("prod-eu-west-1-2222"), "{all_taken}");
        assert!(validate(&all_taken).is_ok(), "{all_taken}");
    }

    #[test]
    fn long_qualified_ids_fit_and_stay_apart() {
        let long = "c".repeat(100);
        let in_region = |region: &str| format!("arn:aws:eks:{region}:111122223333:cluster/{long}");
        let (west, east) = (in_region("us-west-2"), in_region("us-east-1"));
        let taken = |id: &str| id == long;
        let (a, b) = (derive(&west, taken), derive(&east, taken));
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), MAX_LEN, "{id}");
            assert!(validate(id).is_ok(), "{id}");
        }
        // A free long name is still the id: existing fleets keep what they have.
        assert_eq!(derive(&west, |_| false), long);
    }

    #[test]
    fn a_run_gives_same_named_clusters_distinct_ids_and_keeps_recorded_ones() {
        let members = [member(PROD_WEST, "prod")];
        let ids = choose(
            &members,
            &[(PROD_EU, None), (PROD_EU_OTHER, None), (PROD_WEST, None)],
        )
        .unwrap();
        assert_eq!(
            ids,
            ["prod-eu-west-1", "prod-eu-west-1-222233334444", "prod"]
        );
        // Recorded ids win over derivation, whatever is free now.
        let members = [member(PROD_EU, "prod-eu-west-1"), member(PROD_WEST, "prod")];
        assert_eq!(
            choose(&members, &[(PROD_EU, None)]).unwrap(),
            ["prod-eu-west-1"]
        );
    }

    #[test]
    fn a_requested_id_that_another_cluster_has_is_refused_naming_it() {
        let members = [member(PROD_WEST, "prod")];
        let err = choose(&members, &[(PROD_EU, Some("prod"))]).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::exit::BAD_INPUT);
        assert!(err.to_string().contains(PROD_WEST), "{err}");
        // Within one run too.
        let err = choose(&[], &[(PROD_EU, Some("edge")), (PROD_WEST, Some("edge"))]).unwrap_err();
        assert!(err.to_string().contains(PROD_EU), "{err}");
        // Its own id is not taken from it.
        assert_eq!(
            choose(&members, &[(PROD_WEST, Some("prod"))]).unwrap(),
            ["prod"]
        );
    }

    #[test]
    fn a_change_of_a_running_clusters_id_is_refused_with_both_ways_out() {
        assert_eq!(change_refused(PROD_EU, "prod-eu", None, None), None);
        assert_eq!(change_refused(PROD_EU, "prod", None, Some("prod")), None);
        let reason = change_refused(PROD_EU, "prod-eu-west-1", None, Some("prod")).unwrap();
        assert!(reason.contains("splits its cost history"), "{reason}");
        assert!(reason.contains("--cluster-id prod"), "{reason}");
        assert!(
            reason.contains(&format!("kcfed cleanup --cluster {PROD_EU}")),
            "{reason}"
        );
        // The recorded id is the one kcfed keeps.
        let reason = change_refused(PROD_EU, "x", Some("prod-eu-west-1"), Some("prod")).unwrap();
        assert!(reason.contains("id is prod-eu-west-1"), "{reason}");
    }

    #[test]
    fn ids_are_dns_labels() {
        for good in ["prod", "prod-eu-west-1", &"a".repeat(63)] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Prod",
            "prod_eu",
            "-prod",
            "prod-",
            &"a".repeat(64),
            "a.b",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(recorded_or_name(None, PROD_EU), "prod");
        assert_eq!(recorded_or_name(Some("x"), PROD_EU), "x");
    }
}
