//! Kubeconfig files and their contexts: which context reaches an EKS cluster, found by the
//! cluster's ARN as `aws eks update-kubeconfig` writes it or by an alias pointing at it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use kube::config::{Kubeconfig, KubeconfigError, NamedContext};

use crate::error::{Error, error_chain};
use crate::names;

/// Reads the kubeconfig at `path`, or KUBECONFIG / ~/.kube/config (merged as kubectl does) when
/// there is no path.
pub fn load_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, Error> {
    read_kubeconfig(path).map_err(|err| kubeconfig_error(&err, path))
}

/// One context of the kubeconfig at `path` (or the default one), with only its cluster and
/// user. The file is read once per run however many clusters connect through it: a fleet's
/// kubeconfig has a context per cluster, so reading it whole for each connection would grow
/// with the square of the fleet.
pub fn one_context(path: Option<&Path>, context: &str) -> Result<Kubeconfig, Error> {
    static READ: Mutex<Vec<(Option<PathBuf>, Arc<Kubeconfig>)>> = Mutex::new(Vec::new());
    let whole = {
        let mut read = READ.lock().unwrap_or_else(PoisonError::into_inner);
        match read
            .iter()
            .find(|(read_path, _)| read_path.as_deref() == path)
        {
            Some((_, whole)) => Arc::clone(whole),
            None => {
                let whole = Arc::new(load_kubeconfig(path)?);
                read.push((path.map(Path::to_path_buf), Arc::clone(&whole)));
                whole
            }
        }
    };
    let named = whole.contexts.iter().find(|named| named.name == context);
    let parts = named.and_then(|named| named.context.as_ref());
    let cluster = parts.map(|parts| parts.cluster.as_str());
    let user = parts.and_then(|parts| parts.user.as_deref());
    Ok(Kubeconfig {
        contexts: named.cloned().into_iter().collect(),
        clusters: whole
            .clusters
            .iter()
            .filter(|named| Some(named.name.as_str()) == cluster)
            .cloned()
            .collect(),
        auth_infos: whole
            .auth_infos
            .iter()
            .filter(|named| Some(named.name.as_str()) == user)
            .cloned()
            .collect(),
        current_context: Some(context.to_owned()),
        preferences: whole.preferences.clone(),
        extensions: whole.extensions.clone(),
        kind: whole.kind.clone(),
        api_version: whole.api_version.clone(),
        other: whole.other.clone(),
    })
}

/// The kubeconfig at `path`; without one, KUBECONFIG's files or ~/.kube/config, or an empty one
/// when KUBECONFIG is unset and there is no ~/.kube/config (its clusters are then reached
/// directly). A file the user names, by flag or by KUBECONFIG, must exist.
pub fn load_kubeconfig_or_empty(path: Option<&Path>) -> Result<Kubeconfig, Error> {
    let named = path.is_some() || std::env::var_os("KUBECONFIG").is_some_and(|v| !v.is_empty());
    match read_kubeconfig(path) {
        Err(err) if !named && is_missing(&err) => Ok(Kubeconfig::default()),
        read => read.map_err(|err| kubeconfig_error(&err, path)),
    }
}

fn read_kubeconfig(path: Option<&Path>) -> Result<Kubeconfig, KubeconfigError> {
    match path {
        Some(path) => Kubeconfig::read_from(path),
        None => Kubeconfig::read(),
    }
}

fn is_missing(err: &KubeconfigError) -> bool {
    match err {
        KubeconfigError::FindPath => true,
        KubeconfigError::ReadConfig(io, _) => io.kind() == std::io::ErrorKind::NotFound,
        _ => false,
    }
}

fn kubeconfig_error(err: &KubeconfigError, path: Option<&Path>) -> Error {
    // The file that failed to read, when kube names it (one of a KUBECONFIG list, say).
    let place = match (err, path) {
        (KubeconfigError::ReadConfig(_, read), _) => read.display().to_string(),
        (_, Some(path)) => path.display().to_string(),
        (_, None) => "KUBECONFIG or ~/.kube/config".to_owned(),
    };
    if is_missing(err) {
        Error::Kubeconfig {
            message: format!("no kubeconfig at {place}"),
            fix: "write one with `aws eks update-kubeconfig --name CLUSTER --region REGION`, or pass --kubeconfig PATH".to_owned(),
        }
    } else {
        Error::Kubeconfig {
            message: format!("cannot read {place}: {}", error_chain(err)),
            fix: "repair the file, or write a fresh one with `aws eks update-kubeconfig --name CLUSTER --region REGION`".to_owned(),
        }
    }
}

/// The EKS cluster ARN of a context: its cluster entry's name, else its own name, when that is an
/// ARN (`aws eks update-kubeconfig` names both by the ARN; `--alias` renames only the context).
fn context_cluster_arn(context: &NamedContext) -> Option<&str> {
    let cluster = context.context.as_ref().map(|ctx| ctx.cluster.as_str());
    cluster
        .into_iter()
        .chain([context.name.as_str()])
        .find(|name| names::parse_eks_cluster_arn(name).is_some())
}

/// The EKS cluster ARNs the kubeconfig's contexts point at, in their order (repeats included).
pub fn eks_cluster_arns(config: &Kubeconfig) -> impl Iterator<Item = &str> {
    config.contexts.iter().filter_map(context_cluster_arn)
}

/// The EKS cluster ARN the current context points at, if it is an EKS cluster kcfed can name.
pub fn current_eks_cluster(config: &Kubeconfig) -> Option<String> {
    let current = config.current_context.as_deref()?;
    let context = config.contexts.iter().find(|ctx| ctx.name == current)?;
    context_cluster_arn(context).map(str::to_owned)
}

/// The context to reach `cluster_arn` with: `explicit` after checking it does not point at another
/// EKS cluster, else the context named by the ARN or pointing at a cluster entry named by it.
pub fn context_for_cluster(
    config: &Kubeconfig,
    cluster_arn: &str,
    explicit: Option<&str>,
) -> Result<String, Error> {
    if let Some(name) = explicit {
        let Some(context) = config.contexts.iter().find(|ctx| ctx.name == name) else {
            return Err(Error::Kubeconfig {
                message: format!(
                    "context {name:?} is not in the kubeconfig ({})",
                    available_contexts(config)
                ),
                fix: "pass one of the contexts listed to --kube-context, or leave it out to let kcfed find the context by the cluster ARN".to_owned(),
            });
        };
        if let Some(arn) = context_cluster_arn(context)
            && arn != cluster_arn
        {
            return Err(Error::Kubeconfig {
                message: format!("context {name:?} points at cluster {arn}, not {cluster_arn}"),
                fix: format!(
                    "pass the context of {cluster_arn} to --kube-context (`kubectl config get-contexts` lists them), or leave it out to let kcfed find it"
                ),
            });
        }
        return Ok(name.to_owned());
    }

    find_context(config, cluster_arn)?.ok_or_else(|| {
        let fix = match names::parse_eks_cluster_arn(cluster_arn) {
            Some((region, _, name)) => format!(
                "run `aws eks update-kubeconfig --name {name} --region {region}`, or pass the context that reaches it with --kube-context"
            ),
            None => "pass the context that reaches the cluster with --kube-context".to_owned(),
        };
        Error::Kubeconfig {
            message: format!("no context in the kubeconfig points at {cluster_arn}"),
            fix,
        }
    })
}

/// The context named by `cluster_arn` or pointing at a cluster entry named by it (the current
/// one, else the one named by the ARN, when several do); `None` when there is none.
pub fn find_context(config: &Kubeconfig, cluster_arn: &str) -> Result<Option<String>, Error> {
    let matching: Vec<&NamedContext> = config
        .contexts
        .iter()
        .filter(|ctx| {
            ctx.name == cluster_arn
                || ctx
                    .context
                    .as_ref()
                    .is_some_and(|context| context.cluster == cluster_arn)
        })
        .collect();
    let current = config.current_context.as_deref();
    let chosen = match matching[..] {
        [] => return Ok(None),
        [only] => only,
        _ => match matching
            .iter()
            .find(|ctx| Some(ctx.name.as_str()) == current)
            .or_else(|| matching.iter().find(|ctx| ctx.name == cluster_arn))
        {
            Some(context) => context,
            None => {
                let names: Vec<&str> = matching.iter().map(|ctx| ctx.name.as_str()).collect();
                return Err(Error::Kubeconfig {
                    message: format!(
                        "several contexts point at {cluster_arn}: {}",
                        names.join(", ")
                    ),
                    fix: "pass the one to use with --kube-context".to_owned(),
                });
            }
        },
    };
    Ok(Some(chosen.name.clone()))
}

fn available_contexts(config: &Kubeconfig) -> String {
    if config.contexts.is_empty() {
        return "it has no contexts".to_owned();
    }
    let names: Vec<&str> = config
        .contexts
        .iter()
        .map(|ctx| ctx.name.as_str())
        .collect();
    format!("contexts: {}", names.join(", "))
}

/// The API server a context of the kubeconfig points at.
pub fn server_of(config: &Kubeconfig, context: &str) -> Option<String> {
    let cluster = config
        .contexts
        .iter()
        .find(|named| named.name == context)?
        .context
        .as_ref()?
        .cluster
        .clone();
    config
        .clusters
        .iter()
        .find(|named| named.name == cluster)?
        .cluster
        .as_ref()?
        .server
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: &str = "arn:aws:eks:us-east-1:111122223333:cluster/prod";
    const STAGING: &str = "arn:aws:eks:eu-west-1:111122223333:cluster/staging";
    const OTHER: &str = "arn:aws:eks:ap-south-1:111122223333:cluster/other";

    /// Contexts as `aws eks update-kubeconfig` writes them (`prod`), with `--alias` (`staging`,
    /// `prod-admin`) and for a non-EKS cluster (`kind-dev`).
    fn kubeconfig(current: &str) -> Kubeconfig {
        let yaml = format!(
            r#"
apiVersion: v1
kind: Config
current-context: "{current}"
clusters:
- {{name: "{PROD}", cluster: {{server: "https://prod.example"}}}}
- {{name: "{STAGING}", cluster: {{server: "https://staging.example"}}}}
- {{name: kind-dev, cluster: {{server: "https://kind-dev.example:6443"}}}}
contexts:
- {{name: "{PROD}", context: {{cluster: "{PROD}", user: "{PROD}"}}}}
- {{name: prod-admin, context: {{cluster: "{PROD}", user: admin}}}}
- {{name: staging, context: {{cluster: "{STAGING}", user: "{STAGING}"}}}}
- {{name: kind-dev, context: {{cluster: kind-dev, user: kind-dev}}}}
users: []
"#
        );
        Kubeconfig::from_yaml(&yaml).unwrap()
    }

    fn kubeconfig_message(result: Result<String, Error>) -> (String, String) {
        match result {
            Err(Error::Kubeconfig { message, fix }) => (message, fix),
            other => panic!("expected a kubeconfig error, got {other:?}"),
        }
    }

    #[test]
    fn contexts_resolve_explicitly_or_by_cluster_arn() {
        let config = kubeconfig("kind-dev");
        let cases: [(&str, Option<&str>, &str); 5] = [
            (STAGING, Some("staging"), "staging"),
            // Not an EKS context: kcfed cannot check it and trusts the user.
            (PROD, Some("kind-dev"), "kind-dev"),
            // Named by the ARN wins over an alias when the current context is neither.
            (PROD, None, PROD),
            (STAGING, None, "staging"),
            (PROD, Some("prod-admin"), "prod-admin"),
        ];
        for (arn, explicit, expected) in cases {
            assert_eq!(
                context_for_cluster(&config, arn, explicit).unwrap(),
                expected,
                "{arn} {explicit:?}"
            );
        }
        assert_eq!(
            context_for_cluster(&kubeconfig("prod-admin"), PROD, None).unwrap(),
            "prod-admin",
            "the current context wins among several for the same cluster"
        );
    }

    #[test]
    fn context_errors_say_what_to_run() {
        let config = kubeconfig("staging");
        let (message, fix) =
            kubeconfig_message(context_for_cluster(&config, PROD, Some("staging")));
        assert_eq!(
            message,
            format!("context \"staging\" points at cluster {STAGING}, not {PROD}")
        );
        assert!(fix.contains("--kube-context"), "{fix}");

        let (message, _) = kubeconfig_message(context_for_cluster(&config, PROD, Some("gone")));
        assert!(
            message.ends_with(&format!(
                "(contexts: {PROD}, prod-admin, staging, kind-dev)"
            )),
            "{message}"
        );

        let (message, fix) = kubeconfig_message(context_for_cluster(&config, OTHER, None));
        assert_eq!(
            message,
            format!("no context in the kubeconfig points at {OTHER}")
        );
        assert!(
            fix.contains("`aws eks update-kubeconfig --name other --region ap-south-1`"),
            "{fix}"
        );

        let (message, fix) = kubeconfig_message(context_for_cluster(
            &Kubeconfig::default(),
            "kind-dev",
            Some("kind-dev"),
        ));
        assert!(message.ends_with("(it has no contexts)"), "{message}");
        assert!(fix.contains("--kube-context"), "{fix}");
    }

    #[test]
    fn several_aliases_without_a_preference_are_ambiguous() {
        let yaml = format!(
            r#"
contexts:
- {{name: a, context: {{cluster: "{PROD}"}}}}
- {{name: b, context: {{cluster: "{PROD}"}}}}
"#
        );
        let config = Kubeconfig::from_yaml(&yaml).unwrap();
        let (message, _) = kubeconfig_message(context_for_cluster(&config, PROD, None));
        assert_eq!(message, format!("several contexts point at {PROD}: a, b"));
    }

    #[test]
    fn current_eks_cluster_follows_the_current_context() {
        assert_eq!(
            current_eks_cluster(&kubeconfig(PROD)).as_deref(),
            Some(PROD)
        );
        assert_eq!(
            current_eks_cluster(&kubeconfig("staging")).as_deref(),
            Some(STAGING)
        );
        assert_eq!(current_eks_cluster(&kubeconfig("kind-dev")), None);
        assert_eq!(current_eks_cluster(&kubeconfig("not-there")), None);
        assert_eq!(current_eks_cluster(&Kubeconfig::default()), None);
    }

    #[test]
    fn kubeconfig_files_load_or_say_how_to_write_one() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("config");
        match load_kubeconfig(Some(&missing)) {
            Err(Error::Kubeconfig { message, fix }) => {
                assert_eq!(message, format!("no kubeconfig at {}", missing.display()));
                assert!(fix.contains("aws eks update-kubeconfig --name CLUSTER --region REGION"));
            }
            other => panic!("expected a kubeconfig error, got {other:?}"),
        }
        std::fs::write(&missing, "contexts: [{name: x, context: {cluster: y}}]\n").unwrap();
        assert_eq!(
            load_kubeconfig(Some(&missing)).unwrap().contexts[0].name,
            "x"
        );
        std::fs::write(&missing, "contexts: {{{\n").unwrap();
        assert!(matches!(
            load_kubeconfig(Some(&missing)),
            Err(Error::Kubeconfig { message, .. }) if message.starts_with("cannot read ")
        ));
    }

    #[test]
    fn a_connection_takes_one_context_of_a_file_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "contexts:\n\
             - {name: a, context: {cluster: ca, user: ua}}\n\
             - {name: b, context: {cluster: cb, user: ub}}\n\
             clusters:\n\
             - {name: ca, cluster: {server: 'https://a.example'}}\n\
             - {name: cb, cluster: {server: 'https://b.example'}}\n\
             users:\n\
             - {name: ua, user: {token: ta}}\n\
             - {name: ub, user: {token: tb}}\n",
        )
        .unwrap();
        let b = one_context(Some(&path), "b").unwrap();
        assert_eq!(b.current_context.as_deref(), Some("b"));
        let names = |config: &Kubeconfig| {
            (
                config
                    .contexts
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>(),
                config
                    .clusters
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>(),
                config
                    .auth_infos
                    .iter()
                    .map(|a| a.name.clone())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            names(&b),
            (vec!["b".into()], vec!["cb".into()], vec!["ub".into()])
        );
        // Read once: a later connection in the same run does not read the file again.
        std::fs::remove_file(&path).unwrap();
        let a = one_context(Some(&path), "a").unwrap();
        assert_eq!(
            names(&a),
            (vec!["a".into()], vec!["ca".into()], vec!["ua".into()])
        );
    }
}
