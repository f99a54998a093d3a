//! How a fleet's pods get their AWS credentials: IRSA (an OIDC provider and two roles per
//! cluster) or EKS Pod Identity (a fixed set of roles, an association per service account). The
//! mode is the fleet's, recorded on its workspace; every cluster follows it.

use std::collections::HashMap;

use serde::Serialize;

use crate::chart;
use crate::error::Error;
use crate::names::tags;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityMode {
    /// EKS Pod Identity: roles shared by every cluster, no OIDC provider (chart 2.4.3 or later).
    PodIdentity,
    /// IAM roles for service accounts: an OIDC provider and two roles per cluster.
    Irsa,
}

impl IdentityMode {
    /// The value of the workspace's identity tag, and of `--identity`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityMode::PodIdentity => "pod-identity",
            IdentityMode::Irsa => "irsa",
        }
    }

    /// The mode a fleet's record names; fleets made before the tag existed are IRSA fleets.
    pub fn of_record(record: &HashMap<String, String>) -> IdentityMode {
        match record.get(tags::IDENTITY).map(String::as_str) {
            Some("pod-identity") => IdentityMode::PodIdentity,
            _ => IdentityMode::Irsa,
        }
    }

    /// The mode of a fleet `init primary` makes or updates: the one asked for, else the one the
    /// fleet has, else for a new fleet Pod Identity wherever the chart and the fleet can use it
    /// (the fleet account's IAM then stays the same size whatever the number of clusters).
    pub fn chosen(
        asked: Option<IdentityMode>,
        recorded: Option<IdentityMode>,
        chart_version: &str,
        federated: bool,
    ) -> Result<IdentityMode, Error> {
        if let Some(mode) = asked.or(recorded) {
            return Ok(mode);
        }
        let usable = federated && chart::pod_identity_refused(chart_version)?.is_none();
        Ok(if usable {
            IdentityMode::PodIdentity
        } else {
            IdentityMode::Irsa
        })
    }

    /// Why this mode cannot serve a fleet of this chart version, if it cannot.
    pub fn refused(self, chart_version: &str, federated: bool) -> Result<Option<String>, Error> {
        if self == IdentityMode::Irsa {
            return Ok(None);
        }
        if !federated {
            return Ok(Some(
                "a Pod Identity fleet records its members in the federated bucket, which --quick-start leaves out: drop --quick-start, or use --identity irsa".to_owned(),
            ));
        }
        Ok(chart::pod_identity_refused(chart_version)?.map(str::to_owned))
    }
}

impl std::fmt::Display for IdentityMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_fleets_take_pod_identity_where_the_chart_can_existing_ones_keep_theirs() {
        let chosen = |asked, recorded, version, federated| {
            IdentityMode::chosen(asked, recorded, version, federated).unwrap()
        };
        use IdentityMode::{Irsa, PodIdentity};
        assert_eq!(chosen(None, None, "2.8.7", true), PodIdentity);
        assert_eq!(chosen(None, None, "1.103.4", true), Irsa);
        assert_eq!(chosen(None, None, "2.4.2", true), Irsa);
        assert_eq!(chosen(None, None, "2.8.7", false), Irsa);
        assert_eq!(chosen(None, Some(Irsa), "2.8.7", true), Irsa);
        assert_eq!(
            chosen(Some(PodIdentity), Some(Irsa), "2.8.7", true),
            PodIdentity
        );
        let tags = HashMap::from([(tags::IDENTITY.to_owned(), "pod-identity".to_owned())]);
        assert_eq!(IdentityMode::of_record(&tags), PodIdentity);
        assert_eq!(IdentityMode::of_record(&HashMap::new()), Irsa);
    }

    #[test]
    fn pod_identity_is_refused_with_the_reason_where_it_cannot_work() {
        let refused = |version, federated| {
            IdentityMode::PodIdentity
                .refused(version, federated)
                .unwrap()
                .unwrap_or_default()
        };
        assert!(refused("1.103.4", true).contains("cannot take Pod Identity"));
        assert!(refused("2.8.7", false).contains("--quick-start"));
        assert_eq!(refused("2.8.7", true), "");
        assert_eq!(IdentityMode::Irsa.refused("1.103.4", false).unwrap(), None);
    }
}
