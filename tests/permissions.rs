//! Missing AWS permissions, against a moto that enforces IAM authorization: kcfed runs as an IAM
//! user whose policy grants exactly the actions README's "AWS permissions" section lists, or all
//! of them but one. A denied action is named in the error with the grant that fixes it; a denied
//! read stops kcfed while it plans, before any change; a denied write leaves what was applied
//! before it, and a rerun with the permission converges.

mod common;
mod support;

use std::process::Output;

use common::{World, assert_exit, block_on, stderr, stdout_json};
use serde_json::{Value, json};
use support::moto::{Moto, RecordedCall};

const REGION: &str = "us-east-2";
const USER: &str = "kcfed-operator";

/// The actions README's "AWS permissions" section lists: those of `init primary` and `join
/// cluster`, and those `cleanup` adds.
fn readme_actions() -> (Vec<String>, Vec<String>) {
    let readme = include_str!("../README.md");
    let section = readme
        .split("\n## AWS permissions")
        .nth(1)
        .expect("README has an AWS permissions section");
    let section = section.split("\n## ").next().unwrap_or(section);
    let (provisioning, cleanup) = section
        .split_once("- `cleanup`")
        .expect("README lists what cleanup adds");
    let actions = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|word| {
                word.split_once(':').is_some_and(|(service, action)| {
                    !service.is_empty()
                        && service
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                        && action.bytes().all(|b| b.is_ascii_alphabetic())
                        && action.starts_with(|c: char| c.is_ascii_uppercase())
                })
            })
            .map(str::to_owned)
            .collect()
    };
    (actions(provisioning), actions(cleanup))
}

/// The policy of the user: `actions` minus `withheld`. moto authorizes a HEAD of a bucket as
/// `s3:HeadBucket` where AWS checks `s3:ListBucket`, so it goes with `s3:ListBucket`.
fn policy(actions: &[String], withheld: &[&str]) -> Value {
    let mut allowed: Vec<&str> = actions
        .iter()
        .map(String::as_str)
        .filter(|action| !withheld.contains(action))
        .collect();
    if allowed.contains(&"s3:ListBucket") {
        allowed.push("s3:HeadBucket");
    }
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}],
    })
}

/// One account on an enforcing moto: a cluster `prod` (and `staging`), and an IAM user to run
/// kcfed as.
struct Setup {
    world: World,
    access_key_id: String,
    secret_access_key: String,
}

impl Setup {
    fn new(moto: &Moto, policy: &Value) -> Setup {
        moto.without_auth(|| {
            let world = World::new(moto, REGION, &["prod", "staging"]);
            let (access_key_id, secret_access_key) = block_on(async {
                let iam = aws_sdk_iam::Client::new(&world.sdk(REGION).await);
                iam.create_user().user_name(USER).send().await.unwrap();
                let key = iam
                    .create_access_key()
                    .user_name(USER)
                    .send()
                    .await
                    .unwrap();
                let key = key.access_key.unwrap();
                (key.access_key_id, key.secret_access_key)
            });
            let setup = Setup {
                world,
                access_key_id,
                secret_access_key,
            };
            setup.grant(policy);
            setup
        })
    }

    /// Replaces the user's policy (call inside `without_auth`).
    fn grant(&self, policy: &Value) {
        block_on(async {
            aws_sdk_iam::Client::new(&self.world.sdk(REGION).await)
                .put_user_policy()
                .user_name(USER)
                .policy_name("kcfed")
                .policy_document(policy.to_string())
                .send()
                .await
                .unwrap();
        });
    }

    /// kcfed as the user, with its access key and nothing else.
    fn kcfed(&self, args: &[&str]) -> Output {
        let helm = self.world.helm_path();
        let mut args = args.to_vec();
        args.extend(["--helm", &helm, "--yes", "--output", "json"]);
        self.world
            .command(&args)
            .env("AWS_ACCESS_KEY_ID", &self.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_access_key)
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .expect("run kcfed")
    }

    /// Every IAM, AMP and S3 resource in the account, and the Kubernetes writes of `prod`.
    fn inventory(&self, moto: &Moto) -> Value {
        moto.without_auth(|| {
            block_on(async {
                let config = self.world.sdk(REGION).await;
                let iam = aws_sdk_iam::Client::new(&config);
                let roles = iam
                    .list_roles()
                    .path_prefix("/kcfed/")
                    .send()
                    .await
                    .unwrap();
                let policies = iam
                    .list_policies()
                    .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                    .send()
                    .await
                    .unwrap();
                let providers = iam.list_open_id_connect_providers().send().await.unwrap();
                let workspaces = aws_sdk_amp::Client::new(&config)
                    .list_workspaces()
                    .send()
                    .await
                    .unwrap();
                let buckets = aws_sdk_s3::Client::new(&config)
                    .list_buckets()
                    .send()
                    .await
                    .unwrap();
                json!({
                    "roles": roles.roles().len(),
                    "policies": policies.policies().len(),
                    "providers": providers.open_id_connect_provider_list().len(),
                    "workspaces": workspaces.workspaces().len(),
                    "buckets": buckets.buckets().len(),
                })
            })
        })
    }
}

/// What one fresh federated `init primary` leaves in an account.
fn converged() -> Value {
    json!({"roles": 2, "policies": 3, "providers": 1, "workspaces": 1, "buckets": 1})
}

fn nothing() -> Value {
    json!({"roles": 0, "policies": 0, "providers": 0, "workspaces": 0, "buckets": 0})
}

/// The calls kcfed made since `from` (a count of recorded calls) that could change something.
fn mutating_since(moto: &Moto, from: usize) -> Vec<RecordedCall> {
    moto.recorded_calls()
        .into_iter()
        .skip(from)
        .filter(RecordedCall::is_mutating)
        .collect()
}

#[test]
fn readme_permissions_are_enough_for_init_join_and_cleanup() {
    let (provisioning, cleanup) = readme_actions();
    assert!(provisioning.len() >= 30, "{provisioning:?}");
    let moto = Moto::start_enforcing_auth();
    let setup = Setup::new(&moto, &policy(&provisioning, &[]));

    let init = setup.kcfed(&["init", "primary", "--cluster", "prod"]);
    assert_exit(&init, 0);
    assert_eq!(setup.inventory(&moto), converged());
    let join = setup.kcfed(&["join", "cluster", "--cluster", "staging"]);
    assert_exit(&join, 0);

    // cleanup needs more than provisioning, and says which.
    let refused = setup.kcfed(&["cleanup", "--all"]);
    assert_ne!(refused.status.code(), Some(0), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("fix: grant the calling identity `"),
        "{}",
        stderr(&refused)
    );
    let all: Vec<String> = provisioning.iter().chain(&cleanup).cloned().collect();
    moto.without_auth(|| setup.grant(&policy(&all, &[])));
    let cleaned = setup.kcfed(&["cleanup", "--all"]);
    assert_exit(&cleaned, 0);
    assert_eq!(setup.inventory(&moto), nothing());
}

/// How a denied action shows: in the error's fix, and in what was changed before kcfed stopped.
struct Denial {
    withheld: &'static str,
    /// What the error says.
    message: &'static str,
    /// Whether kcfed can know before changing anything: a denied read stops it while planning.
    before_any_change: bool,
}

const DENIALS: &[Denial] = &[
    Denial {
        withheld: "eks:DescribeCluster",
        message: "fix: grant the calling identity `eks:DescribeCluster`",
        before_any_change: true,
    },
    Denial {
        withheld: "aps:ListWorkspaces",
        message: "fix: grant the calling identity `aps:ListWorkspaces`",
        before_any_change: true,
    },
    Denial {
        withheld: "iam:GetRole",
        message: "fix: grant the calling identity `iam:GetRole`",
        before_any_change: true,
    },
    Denial {
        withheld: "iam:GetOpenIDConnectProvider",
        message: "fix: grant the calling identity `iam:GetOpenIDConnectProvider`",
        before_any_change: true,
    },
    Denial {
        withheld: "s3:ListBucket",
        message: "or the calling identity lacks `s3:ListBucket` on it",
        before_any_change: true,
    },
    Denial {
        withheld: "aps:CreateWorkspace",
        message: "fix: grant the calling identity `aps:CreateWorkspace`",
        before_any_change: false,
    },
    Denial {
        withheld: "s3:CreateBucket",
        message: "fix: grant the calling identity `s3:CreateBucket`",
        before_any_change: false,
    },
    Denial {
        withheld: "iam:CreatePolicy",
        message: "fix: grant the calling identity `iam:CreatePolicy`",
        before_any_change: false,
    },
    Denial {
        withheld: "iam:CreateRole",
        message: "fix: grant the calling identity `iam:CreateRole`",
        before_any_change: false,
    },
];

#[test]
fn each_missing_permission_is_named_and_a_rerun_with_it_converges() {
    let (provisioning, _) = readme_actions();
    let moto = Moto::start_enforcing_auth();
    let mut failures = Vec::new();
    for denial in DENIALS {
        let setup = Setup::new(&moto, &policy(&provisioning, &[denial.withheld]));
        let calls_before = moto.recorded_calls().len();
        let denied = setup.kcfed(&["init", "primary", "--cluster", "prod"]);
        let mutating = mutating_since(&moto, calls_before);
        let left = setup.inventory(&moto);
        let text = stderr(&denied);
        let mut wrong = Vec::new();
        if denied.status.code() != Some(1) {
            wrong.push(format!("exit {:?}", denied.status.code()));
        }
        if !text.contains(denial.message) {
            wrong.push(format!("no {:?}", denial.message));
        }
        let kube_writes = setup.world.cluster("prod").kube.write_count();
        if denial.before_any_change
            && (!mutating.is_empty() || left != nothing() || kube_writes > 0)
        {
            wrong.push(format!(
                "changed something: {mutating:?}, {left}, {kube_writes} Kubernetes writes"
            ));
        }
        // A denied write: the report says what was done before it and which step it stopped.
        if !denial.before_any_change {
            let applied = stdout_json(&denied)["applied"].clone();
            let steps = applied.as_array().cloned().unwrap_or_default();
            let failed: Vec<&Value> = steps
                .iter()
                .filter(|s| s["outcome"]["status"] == "failed")
                .collect();
            let named = failed.iter().all(|step| {
                step["outcome"]["error"]
                    .as_str()
                    .is_some_and(|error| error.contains(denial.withheld))
            });
            if failed.is_empty() || !named {
                wrong.push(format!("the failed steps do not name it: {applied:#}"));
            }
            // What the report says is done is there; what is there was done, or made by a step
            // that then failed (a role made, its policies not yet attached). The account was
            // empty before.
            let count = |kind: &str, status: &str| {
                steps
                    .iter()
                    .filter(|s| s["kind"] == kind && s["outcome"]["status"] == status)
                    .count() as u64
            };
            for (kind, field) in [
                ("iam-role", "roles"),
                ("iam-policy", "policies"),
                ("oidc-provider", "providers"),
                ("amp-workspace", "workspaces"),
                ("s3-bucket", "buckets"),
            ] {
                let present = left[field].as_u64().unwrap_or_default();
                let (done, failed) = (count(kind, "done"), count(kind, "failed"));
                if present < done || present > done + failed {
                    wrong.push(format!(
                        "{kind}: the report says {done} done and {failed} failed, the account has {present}"
                    ));
                }
            }
        }
        eprintln!(
            "{} denied: exit {:?}, {} mutating calls, left {left}",
            denial.withheld,
            denied.status.code(),
            mutating.len()
        );

        moto.without_auth(|| setup.grant(&policy(&provisioning, &[])));
        let rerun = setup.kcfed(&["init", "primary", "--cluster", "prod"]);
        let again = setup.kcfed(&["init", "primary", "--cluster", "prod"]);
        if rerun.status.code() != Some(0) || setup.inventory(&moto) != converged() {
            wrong.push(format!(
                "the rerun with the permission did not converge: {}\n{}",
                stderr(&rerun),
                setup.inventory(&moto)
            ));
        } else if stdout_json(&again)["changed"] != false {
            wrong.push("a third run still had changes".to_owned());
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}\n{text}", denial.withheld, wrong.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
