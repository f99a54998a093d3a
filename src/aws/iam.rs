//! IAM: the cluster's OIDC provider, the fleet's policies and the per-service-account roles.

use std::collections::HashMap;

use aws_sdk_iam::types::Tag;

use crate::aws::{call_failed, decode_policy_document};
use crate::error::Error;

/// The audience IRSA tokens carry.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

fn iam_tags(tags: Vec<(String, String)>) -> Option<Vec<Tag>> {
    Some(
        tags.into_iter()
            .map(|(key, value)| {
                Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .expect("key and value are set")
            })
            .collect(),
    )
}

fn tag_map(tags: &[Tag]) -> HashMap<String, String> {
    tags.iter()
        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
        .collect()
}

/// Maps "no such entity" to `None`, any other failure to kcfed's error.
macro_rules! optional {
    ($call:expr, $action:literal, $resource:expr) => {
        crate::aws::none_when!(is_no_such_entity_exception, $call, $action, $resource)
    };
}

/// Sends a create call; `Ok(true)` when the entity already existed (a concurrent run made it),
/// which leaves what was wanted just as well.
macro_rules! create_or_existing {
    ($call:expr, $action:literal, $resource:expr) => {
        match $call.await {
            Ok(_) => Ok(false),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_entity_already_exists_exception()) =>
            {
                Ok(true)
            }
            Err(err) => Err(call_failed($action, $resource, err)),
        }
    };
}

/// The roles the account has and how many it may have, as IAM counts them.
pub async fn role_usage(client: &aws_sdk_iam::Client) -> Result<(u32, u32), Error> {
    use aws_sdk_iam::types::SummaryKeyType;
    let summary = client
        .get_account_summary()
        .send()
        .await
        .map_err(|err| call_failed("iam:GetAccountSummary", "the account", err))?;
    let count = |key: SummaryKeyType| {
        summary
            .summary_map()
            .and_then(|map| map.get(&key))
            .map_or(0, |value| u32::try_from(*value).unwrap_or(0))
    };
    Ok((
        count(SummaryKeyType::Roles),
        count(SummaryKeyType::RolesQuota),
    ))
}

/// How many OIDC providers the account has.
pub async fn oidc_provider_count(client: &aws_sdk_iam::Client) -> Result<u32, Error> {
    let listed = client
        .list_open_id_connect_providers()
        .send()
        .await
        .map_err(|err| call_failed("iam:ListOpenIDConnectProviders", "the account", err))?;
    Ok(u32::try_from(listed.open_id_connect_provider_list().len()).unwrap_or(u32::MAX))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    pub arn: String,
    pub client_ids: Vec<String>,
    pub tags: HashMap<String, String>,
}

pub async fn get_oidc_provider(
    client: &aws_sdk_iam::Client,
    arn: &str,
) -> Result<Option<OidcProvider>, Error> {
    let output = optional!(
        client
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send(),
        "iam:GetOpenIDConnectProvider",
        arn
    );
    Ok(output.map(|provider| OidcProvider {
        arn: arn.to_owned(),
        client_ids: provider.client_id_list().to_vec(),
        tags: tag_map(provider.tags()),
    }))
}

/// Creates the provider; one that appeared meanwhile (a concurrent run) is as good.
pub async fn create_oidc_provider(
    client: &aws_sdk_iam::Client,
    issuer_url: &str,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    create_or_existing!(
        client
            .create_open_id_connect_provider()
            .url(issuer_url)
            .client_id_list(STS_AUDIENCE)
            .set_tags(iam_tags(tags))
            .send(),
        "iam:CreateOpenIDConnectProvider",
        issuer_url
    )
    .map(drop)
}

pub async fn add_oidc_audience(client: &aws_sdk_iam::Client, arn: &str) -> Result<(), Error> {
    client
        .add_client_id_to_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .client_id(STS_AUDIENCE)
        .send()
        .await
        .map_err(|err| call_failed("iam:AddClientIDToOpenIDConnectProvider", arn, err))?;
    Ok(())
}

pub async fn delete_oidc_provider(client: &aws_sdk_iam::Client, arn: &str) -> Result<(), Error> {
    optional!(
        client
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send(),
        "iam:DeleteOpenIDConnectProvider",
        arn
    );
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPolicy {
    pub arn: String,
    pub default_version: String,
    pub document: Option<serde_json::Value>,
    pub tags: HashMap<String, String>,
}

pub async fn get_policy(
    client: &aws_sdk_iam::Client,
    arn: &str,
) -> Result<Option<ManagedPolicy>, Error> {
    let Some(output) = optional!(
        client.get_policy().policy_arn(arn).send(),
        "iam:GetPolicy",
        arn
    ) else {
        return Ok(None);
    };
    let Some(policy) = output.policy() else {
        return Ok(None);
    };
    let default_version = policy.default_version_id().unwrap_or("v1").to_owned();
    let version = optional!(
        client
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&default_version)
            .send(),
        "iam:GetPolicyVersion",
        arn
    );
    let document = version
        .as_ref()
        .and_then(|v| v.policy_version())
        .and_then(|v| v.document())
        .and_then(decode_policy_document);
    Ok(Some(ManagedPolicy {
        arn: arn.to_owned(),
        default_version,
        document,
        tags: tag_map(policy.tags()),
    }))
}

/// Creates the policy; one that appeared meanwhile (a concurrent run of the same fleet) has the
/// same name, path and document, so it is as good.
pub async fn create_policy(
    client: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
    document: &serde_json::Value,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    create_or_existing!(
        client
            .create_policy()
            .policy_name(name)
            .path(path)
            .policy_document(document.to_string())
            .description("Made by kcfed for Kubecost; kcfed cleanup removes it")
            .set_tags(iam_tags(tags))
            .send(),
        "iam:CreatePolicy",
        name
    )
    .map(drop)
}

/// Makes `document` the default version. IAM keeps at most five versions, so the oldest
/// non-default one is removed first when the limit is reached.
pub async fn set_policy_document(
    client: &aws_sdk_iam::Client,
    arn: &str,
    document: &serde_json::Value,
) -> Result<(), Error> {
    let versions = client
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|err| call_failed("iam:ListPolicyVersions", arn, err))?;
    let mut old: Vec<_> = versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .filter_map(|v| Some((v.create_date()?.secs(), v.version_id()?.to_owned())))
        .collect();
    old.sort();
    if versions.versions().len() >= 5
        && let Some((_, oldest)) = old.first()
    {
        client
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(oldest)
            .send()
            .await
            .map_err(|err| call_failed("iam:DeletePolicyVersion", arn, err))?;
    }
    client
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(document.to_string())
        .set_as_default(true)
        .send()
        .await
        .map_err(|err| call_failed("iam:CreatePolicyVersion", arn, err))?;
    Ok(())
}

/// Detaches a policy from every role still using it, deletes its old versions, then the policy:
/// IAM refuses to delete a policy that is attached or has versions.
pub async fn delete_policy(client: &aws_sdk_iam::Client, arn: &str) -> Result<(), Error> {
    // Every page: a policy still attached to a role on a later one could not be deleted.
    let listed = client
        .list_entities_for_policy()
        .policy_arn(arn)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    let pages = match listed {
        Ok(pages) => pages,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return Ok(());
        }
        Err(err) => return Err(call_failed("iam:ListEntitiesForPolicy", arn, err)),
    };
    for role in pages.iter().flat_map(|page| page.policy_roles()) {
        if let Some(name) = role.role_name() {
            detach_policy(client, name, arn).await?;
        }
    }
    let Some(versions) = optional!(
        client.list_policy_versions().policy_arn(arn).send(),
        "iam:ListPolicyVersions",
        arn
    ) else {
        return Ok(());
    };
    for version in versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
    {
        client
            .delete_policy_version()
            .policy_arn(arn)
            .set_version_id(version.version_id().map(str::to_owned))
            .send()
            .await
            .map_err(|err| call_failed("iam:DeletePolicyVersion", arn, err))?;
    }
    optional!(
        client.delete_policy().policy_arn(arn).send(),
        "iam:DeletePolicy",
        arn
    );
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub path: String,
    pub trust: Option<serde_json::Value>,
    pub tags: HashMap<String, String>,
    pub attached_policies: Vec<String>,
    /// kcfed's inline policy, where the caller read it (`role_policy`); `None` otherwise.
    pub inline_policy: Option<serde_json::Value>,
}

/// A role's tags alone (one GetRole; no policy reads), or `None` when it is gone.
pub async fn role_tags(
    client: &aws_sdk_iam::Client,
    name: &str,
) -> Result<Option<HashMap<String, String>>, Error> {
    let output = optional!(
        client.get_role().role_name(name).send(),
        "iam:GetRole",
        name
    );
    Ok(output.and_then(|output| output.role().map(|role| tag_map(role.tags()))))
}

pub async fn get_role(client: &aws_sdk_iam::Client, name: &str) -> Result<Option<Role>, Error> {
    let Some(output) = optional!(
        client.get_role().role_name(name).send(),
        "iam:GetRole",
        name
    ) else {
        return Ok(None);
    };
    let Some(role) = output.role() else {
        return Ok(None);
    };
    let attached = client
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|err| call_failed("iam:ListAttachedRolePolicies", name, err))?;
    Ok(Some(Role {
        name: name.to_owned(),
        arn: role.arn().to_owned(),
        path: role.path().to_owned(),
        trust: role
            .assume_role_policy_document()
            .and_then(decode_policy_document),
        tags: tag_map(role.tags()),
        attached_policies: attached
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_owned))
            .collect(),
        inline_policy: None,
    }))
}

pub async fn create_role(
    client: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
    trust: &serde_json::Value,
    description: &str,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    let existed = create_or_existing!(
        client
            .create_role()
            .role_name(name)
            .path(path)
            .assume_role_policy_document(trust.to_string())
            .description(description)
            .set_tags(iam_tags(tags))
            .send(),
        "iam:CreateRole",
        name
    )?;
    // The trust is set again so the result does not depend on which racing run won.
    if existed {
        update_trust(client, name, trust).await?;
    }
    Ok(())
}

pub async fn update_trust(
    client: &aws_sdk_iam::Client,
    name: &str,
    trust: &serde_json::Value,
) -> Result<(), Error> {
    client
        .update_assume_role_policy()
        .role_name(name)
        .policy_document(trust.to_string())
        .send()
        .await
        .map_err(|err| call_failed("iam:UpdateAssumeRolePolicy", name, err))?;
    Ok(())
}

pub async fn tag_role(
    client: &aws_sdk_iam::Client,
    name: &str,
    tags: Vec<(String, String)>,
) -> Result<(), Error> {
    client
        .tag_role()
        .role_name(name)
        .set_tags(iam_tags(tags))
        .send()
        .await
        .map_err(|err| call_failed("iam:TagRole", name, err))?;
    Ok(())
}

pub async fn attach_policy(
    client: &aws_sdk_iam::Client,
    role: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    client
        .attach_role_policy()
        .role_name(role)
        .policy_arn(policy_arn)
        .send()
        .await
        .map_err(|err| call_failed("iam:AttachRolePolicy", role, err))?;
    Ok(())
}

pub async fn detach_policy(
    client: &aws_sdk_iam::Client,
    role: &str,
    policy_arn: &str,
) -> Result<(), Error> {
    optional!(
        client
            .detach_role_policy()
            .role_name(role)
            .policy_arn(policy_arn)
            .send(),
        "iam:DetachRolePolicy",
        role
    );
    Ok(())
}

/// A role's inline policy of that name, or `None` when the role has none of that name.
pub async fn role_policy(
    client: &aws_sdk_iam::Client,
    role: &str,
    name: &str,
) -> Result<Option<serde_json::Value>, Error> {
    let output = optional!(
        client
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send(),
        "iam:GetRolePolicy",
        role
    );
    Ok(output.and_then(|output| decode_policy_document(output.policy_document())))
}

pub async fn put_role_policy(
    client: &aws_sdk_iam::Client,
    role: &str,
    name: &str,
    document: &serde_json::Value,
) -> Result<(), Error> {
    client
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(document.to_string())
        .send()
        .await
        .map_err(|err| call_failed("iam:PutRolePolicy", role, err))?;
    Ok(())
}

/// Detaches every managed policy and deletes every inline one (IAM refuses to delete a role
/// that has either), then deletes the role. Already gone is fine.
pub async fn delete_role(client: &aws_sdk_iam::Client, role: &Role) -> Result<(), Error> {
    for policy in &role.attached_policies {
        detach_policy(client, &role.name, policy).await?;
    }
    let inline = client
        .list_role_policies()
        .role_name(&role.name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    let inline = match inline {
        Ok(names) => names,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_no_such_entity_exception()) =>
        {
            return Ok(());
        }
        Err(err) => return Err(call_failed("iam:ListRolePolicies", role.name.clone(), err)),
    };
    for name in &inline {
        optional!(
            client
                .delete_role_policy()
                .role_name(&role.name)
                .policy_name(name)
                .send(),
            "iam:DeleteRolePolicy",
            role.name.clone()
        );
    }
    optional!(
        client.delete_role().role_name(&role.name).send(),
        "iam:DeleteRole",
        role.name.clone()
    );
    Ok(())
}

/// The names of the roles under an IAM path (one fleet's roles).
pub async fn role_names_under(
    client: &aws_sdk_iam::Client,
    path_prefix: &str,
) -> Result<Vec<String>, Error> {
    let roles = client
        .list_roles()
        .path_prefix(path_prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|err| call_failed("iam:ListRoles", path_prefix, err))?;
    Ok(roles.iter().map(|r| r.role_name().to_owned()).collect())
}

/// The roles of the account by the OIDC providers they trust, from one listing (to know whether
/// a provider is still used before deleting it).
/// Which roles of the account trust each OIDC provider ([`roles_by_trusted_provider`]), read
/// when first asked for and shared by the rest of the run: a join of many clusters that moved
/// to Pod Identity lists the account's roles once.
#[derive(Debug, Default)]
pub struct AccountTrust(tokio::sync::OnceCell<HashMap<String, Vec<String>>>);

impl AccountTrust {
    pub async fn read(
        &self,
        client: &aws_sdk_iam::Client,
    ) -> Result<&HashMap<String, Vec<String>>, Error> {
        self.0
            .get_or_try_init(|| roles_by_trusted_provider(client))
            .await
    }
}

pub async fn roles_by_trusted_provider(
    client: &aws_sdk_iam::Client,
) -> Result<HashMap<String, Vec<String>>, Error> {
    let roles = client
        .list_roles()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|err| call_failed("iam:ListRoles", "/", err))?;
    let mut by_provider: HashMap<String, Vec<String>> = HashMap::new();
    for role in &roles {
        let Some(trust) = role
            .assume_role_policy_document()
            .and_then(decode_policy_document)
        else {
            continue;
        };
        for provider in trusted_providers(&trust) {
            by_provider
                .entry(provider.to_owned())
                .or_default()
                .push(role.role_name().to_owned());
        }
    }
    Ok(by_provider)
}

/// The `Federated` principals a trust policy names (a string or a list, per statement).
pub fn trusted_providers(trust: &serde_json::Value) -> Vec<&str> {
    let statements = match &trust["Statement"] {
        serde_json::Value::Array(statements) => statements.iter().collect(),
        statement => vec![statement],
    };
    statements
        .into_iter()
        .flat_map(|statement| match &statement["Principal"]["Federated"] {
            serde_json::Value::String(arn) => vec![arn.as_str()],
            serde_json::Value::Array(arns) => arns.iter().filter_map(|a| a.as_str()).collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// The ARNs of the customer managed policies under an IAM path (one fleet's policies).
pub async fn policy_arns_under(
    client: &aws_sdk_iam::Client,
    path_prefix: &str,
) -> Result<Vec<String>, Error> {
    let policies = client
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .path_prefix(path_prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .map_err(|err| call_failed("iam:ListPolicies", path_prefix, err))?;
    Ok(policies
        .iter()
        .filter_map(|p| p.arn().map(str::to_owned))
        .collect())
}

#[cfg(test)]
mod sdk_edges;
