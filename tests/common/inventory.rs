//! Everything in a world's account and clusters that kcfed could have touched, read directly
//! from moto and the fake API servers.

use std::collections::BTreeMap;

use base64::Engine;

use serde_json::Value;

use super::checks::decode;
use super::world::{World, block_on};

/// Everything in the account and the clusters that kcfed could have touched, as sorted names.
#[derive(Debug, PartialEq, Eq)]
pub struct Inventory {
    /// Workspace aliases, one entry per workspace of the world's region.
    pub workspaces: Vec<String>,
    /// `alias key=value`.
    pub workspace_tags: Vec<String>,
    pub buckets: Vec<String>,
    /// IAM path and name.
    pub roles: Vec<String>,
    /// `role name -> policy ARN`.
    pub attachments: Vec<String>,
    /// IAM path and name of the account's own policies.
    pub policies: Vec<String>,
    pub providers: Vec<String>,
    /// What the bucket, roles, policies and providers are set to: documents, tags, audiences,
    /// the bucket's hardening, each as `kind name setting`.
    pub settings: Vec<String>,
    /// `cluster: kind namespace/name`; a service account with the role it is annotated with, a
    /// secret with its decoded data.
    pub objects: Vec<String>,
    /// `kube-context/name status chart values` of the recording helm's releases.
    pub releases: Vec<String>,
}

/// What the account (in the world's region) and the world's clusters hold now, read directly
/// from moto and the fake API servers, past any proxy; a bucket's policy is the one the EKS
/// extensions hold when they hold one (moto has it without its TLS-only statements).
pub fn inventory(world: &World) -> Inventory {
    let mut inventory = block_on(aws_inventory(world));
    for cluster in &world.clusters {
        for plural in ["namespaces", "serviceaccounts", "secrets", "configmaps"] {
            for object in cluster.kube.list(plural) {
                let metadata = &object["metadata"];
                let mut entry = format!(
                    "{}: {plural} {}/{}",
                    cluster.name,
                    metadata["namespace"].as_str().unwrap_or_default(),
                    metadata["name"].as_str().unwrap_or_default()
                );
                if let Some(role) = metadata["annotations"]["eks.amazonaws.com/role-arn"].as_str() {
                    entry.push_str(&format!(" -> {role}"));
                }
                if let Some(data) = object["data"].as_object().filter(|_| plural == "secrets") {
                    let decoded: BTreeMap<&String, String> = data
                        .iter()
                        .map(|(key, value)| {
                            let bytes = base64::engine::general_purpose::STANDARD
                                .decode(value.as_str().unwrap_or_default())
                                .expect("secret data is base64");
                            (key, String::from_utf8_lossy(&bytes).into_owned())
                        })
                        .collect();
                    entry.push_str(&format!(" {decoded:?}"));
                }
                inventory.objects.push(entry);
            }
        }
    }
    inventory.releases = world
        .helm
        .releases()
        .iter()
        .map(|(key, release)| {
            let (status, chart) = (&release["status"], &release["chart"]);
            format!("{key} {status} {chart} {}", release["values"])
        })
        .collect();
    inventory.sorted()
}

async fn aws_inventory(world: &World) -> Inventory {
    let config = world.sdk(&world.region).await;
    let amp = aws_sdk_amp::Client::new(&config);
    let s3 = aws_sdk_s3::Client::new(&config);
    let iam = aws_sdk_iam::Client::new(&config);
    let listed = amp.list_workspaces().send().await.unwrap();
    let mut workspaces = Vec::new();
    let mut workspace_tags = Vec::new();
    for workspace in listed.workspaces() {
        let alias = workspace.alias().unwrap_or_default();
        workspaces.push(alias.to_owned());
        for (key, value) in workspace.tags().into_iter().flatten() {
            workspace_tags.push(format!("{alias} {key}={value}"));
        }
    }
    let buckets = s3.list_buckets().send().await.unwrap();
    let roles = iam.list_roles().send().await.unwrap();
    let mut attachments = Vec::new();
    for role in roles.roles() {
        let attached = iam
            .list_attached_role_policies()
            .role_name(role.role_name())
            .send()
            .await
            .unwrap();
        for policy in attached.attached_policies() {
            let arn = policy.policy_arn().unwrap_or_default();
            attachments.push(format!("{} -> {arn}", role.role_name()));
        }
    }
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    let providers = iam.list_open_id_connect_providers().send().await.unwrap();
    let mut settings = Vec::new();
    for bucket in buckets.buckets() {
        let name = bucket.name().unwrap();
        let held = world.held_bucket_policy(name);
        settings.extend(bucket_settings(&s3, name, held).await);
    }
    for role in roles.roles() {
        let name = role.role_name();
        let trust = role.assume_role_policy_document().map(decode);
        settings.push(format!("role {name} trust {}", trust.unwrap_or_default()));
        let tags = iam.list_role_tags().role_name(name).send().await.unwrap();
        for tag in tags.tags() {
            settings.push(format!("role {name} tag {}={}", tag.key(), tag.value()));
        }
    }
    for policy in policies.policies() {
        let arn = policy.arn().unwrap();
        let version = policy.default_version_id().unwrap_or_default();
        let document = iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .unwrap();
        let document = document.policy_version().and_then(|v| v.document());
        let document = document.map(decode).unwrap_or_default();
        settings.push(format!("policy {arn} document {document}"));
        let tags = iam.list_policy_tags().policy_arn(arn).send().await.unwrap();
        for tag in tags.tags() {
            settings.push(format!("policy {arn} tag {}={}", tag.key(), tag.value()));
        }
    }
    for provider in providers.open_id_connect_provider_list() {
        let arn = provider.arn().unwrap();
        let got = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap();
        settings.push(format!(
            "provider {arn} audiences {:?}",
            got.client_id_list()
        ));
        for tag in got.tags() {
            settings.push(format!("provider {arn} tag {}={}", tag.key(), tag.value()));
        }
    }
    Inventory {
        workspaces,
        workspace_tags,
        buckets: buckets
            .buckets()
            .iter()
            .map(|b| b.name().unwrap().to_owned())
            .collect(),
        roles: roles
            .roles()
            .iter()
            .map(|r| format!("{}{}", r.path(), r.role_name()))
            .collect(),
        attachments,
        policies: policies
            .policies()
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    p.path().unwrap_or_default(),
                    p.policy_name().unwrap()
                )
            })
            .collect(),
        providers: providers
            .open_id_connect_provider_list()
            .iter()
            .map(|p| p.arn().unwrap().to_owned())
            .collect(),
        settings,
        objects: Vec::new(),
        releases: Vec::new(),
    }
}

/// A bucket's hardening, policy (`held` by the EKS extensions, else moto's) and tags; what is
/// not set reads `none`.
async fn bucket_settings(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    held: Option<String>,
) -> Vec<String> {
    let public_access = s3.get_public_access_block().bucket(bucket).send().await;
    let public_access = public_access.ok().and_then(|got| {
        got.public_access_block_configuration()
            .map(|c| format!("{c:?}"))
    });
    let encryption = s3.get_bucket_encryption().bucket(bucket).send().await;
    let encryption = encryption.ok().and_then(|got| {
        let rules = got.server_side_encryption_configuration()?.rules();
        Some(format!("{rules:?}"))
    });
    let ownership = s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await;
    let ownership = ownership.ok().and_then(|got| {
        let rules = got.ownership_controls()?.rules();
        Some(format!("{rules:?}"))
    });
    let policy = match held {
        Some(policy) => Some(policy),
        None => s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|got| got.policy().map(str::to_owned)),
    };
    let policy = policy.and_then(|policy| {
        let policy: Value = serde_json::from_str(&policy).ok()?;
        Some(policy.to_string())
    });
    let tags = s3.get_bucket_tagging().bucket(bucket).send().await;
    let tags = tags.ok().map(|got| {
        let mut tags: Vec<String> = got
            .tag_set()
            .iter()
            .map(|tag| format!("{}={}", tag.key(), tag.value()))
            .collect();
        tags.sort();
        tags.join(",")
    });
    [
        ("public-access-block", public_access),
        ("encryption", encryption),
        ("ownership", ownership),
        ("policy", policy),
        ("tags", tags),
    ]
    .into_iter()
    .map(|(setting, value)| {
        let value = value.unwrap_or_else(|| "none".to_owned());
        format!("bucket {bucket} {setting} {value}")
    })
    .collect()
}

impl Inventory {
    /// The same, comparable with another world's: the account id becomes `ACCOUNT` and every
    /// AMP workspace id `ws-ID`.
    pub fn normalised(self, account_id: &str) -> Inventory {
        self.map(|name| workspace_ids_hidden(&name.replace(account_id, "ACCOUNT")))
    }

    fn sorted(self) -> Inventory {
        self.map(str::to_owned)
    }

    fn map(self, rename: impl Fn(&str) -> String) -> Inventory {
        let each = |names: Vec<String>| {
            let mut names: Vec<String> = names.iter().map(|name| rename(name)).collect();
            names.sort();
            names
        };
        Inventory {
            workspaces: each(self.workspaces),
            workspace_tags: each(self.workspace_tags),
            buckets: each(self.buckets),
            roles: each(self.roles),
            attachments: each(self.attachments),
            policies: each(self.policies),
            providers: each(self.providers),
            settings: each(self.settings),
            objects: each(self.objects),
            releases: each(self.releases),
        }
    }
}

/// `text` with each AMP workspace id (`ws-` and a UUID) replaced by `ws-ID`.
fn workspace_ids_hidden(text: &str) -> String {
    const UUID_LEN: usize = 36;
    let mut hidden = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("ws-") {
        let (before, from) = rest.split_at(at);
        hidden.push_str(before);
        let id = &from[3..];
        let is_uuid = id
            .as_bytes()
            .get(..UUID_LEN)
            .is_some_and(|id| id.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-'));
        if is_uuid {
            hidden.push_str("ws-ID");
            rest = &id[UUID_LEN..];
        } else {
            hidden.push_str("ws-");
            rest = id;
        }
    }
    hidden.push_str(rest);
    hidden
}
