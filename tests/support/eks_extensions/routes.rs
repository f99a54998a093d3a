//! Which requests the EKS extensions answer, and what each names: read from the method and the
//! path alone, as REST-JSON requests carry no operation name.

/// The EKS operations the extensions answer, each variant named as EKS names it (the log's
/// action is the variant's `Debug`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    CreatePodIdentityAssociation,
    ListPodIdentityAssociations,
    DescribePodIdentityAssociation,
    UpdatePodIdentityAssociation,
    DeletePodIdentityAssociation,
    TagResource,
    UntagResource,
    ListTagsForResource,
    CreateAddon,
    ListAddons,
    DescribeAddon,
    DeleteAddon,
}

/// One request the extensions answer, read from its method and path.
#[derive(Clone, Debug)]
pub struct Route {
    pub operation: Operation,
    /// The cluster the path names; `None` for the tag operations, whose ARN names it.
    pub(super) cluster: Option<String>,
    /// What the path ends with: an association id, an add-on name, or an association's ARN.
    pub(super) item: Option<String>,
    pub(super) query: Vec<(String, String)>,
}

impl Route {
    /// The cluster that must exist for the request to be answered; the proxy describes it.
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    pub(super) fn query(&self, name: &str) -> impl Iterator<Item = &str> {
        self.query
            .iter()
            .filter(move |(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The route of a request the extensions answer (`path` with its query), `None` for the rest,
/// which goes to moto. Tags only of association ARNs are answered here.
pub fn route(method: &str, path: &str) -> Option<Route> {
    use Operation::*;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let query = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(key, value)| (decode(key), decode(value)))
        .collect();
    if let Some(arn) = path.strip_prefix("/tags/") {
        let arn = decode(arn);
        if !arn.starts_with("arn:aws:eks:") || !arn.contains(":podidentityassociation/") {
            return None;
        }
        let operation = match method {
            "POST" => TagResource,
            "DELETE" => UntagResource,
            "GET" => ListTagsForResource,
            _ => return None,
        };
        let (cluster, item) = (None, Some(arn));
        return Some(Route {
            operation,
            cluster,
            item,
            query,
        });
    }
    let segments: Vec<String> = path.split('/').skip(1).map(decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (operation, cluster, item) = match (method, segments.as_slice()) {
        ("POST", ["clusters", cluster, "pod-identity-associations"]) => {
            (CreatePodIdentityAssociation, cluster, None)
        }
        ("GET", ["clusters", cluster, "pod-identity-associations"]) => {
            (ListPodIdentityAssociations, cluster, None)
        }
        (method, ["clusters", cluster, "pod-identity-associations", id]) => {
            let operation = match method {
                "GET" => DescribePodIdentityAssociation,
                "POST" => UpdatePodIdentityAssociation,
                "DELETE" => DeletePodIdentityAssociation,
                _ => return None,
            };
            (operation, cluster, Some(*id))
        }
        ("POST", ["clusters", cluster, "addons"]) => (CreateAddon, cluster, None),
        ("GET", ["clusters", cluster, "addons"]) => (ListAddons, cluster, None),
        ("GET", ["clusters", cluster, "addons", addon]) => (DescribeAddon, cluster, Some(*addon)),
        ("DELETE", ["clusters", cluster, "addons", addon]) => (DeleteAddon, cluster, Some(*addon)),
        _ => return None,
    };
    Some(Route {
        operation,
        cluster: Some((*cluster).to_owned()),
        item: item.map(str::to_owned),
        query,
    })
}

/// The name of the EKS operation the extensions answer at `method` `path`, for the log.
pub fn operation(method: &str, path: &str) -> Option<String> {
    route(method, path).map(|route| format!("{:?}", route.operation))
}

/// The path of DescribeCluster for `cluster`, which the proxy asks moto before serving.
pub fn describe_cluster_path(cluster: &str) -> String {
    format!("/clusters/{cluster}")
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
