//! What the pipeline-contract tests (json_contract, exit_codes, non_interactive) share: helms
//! that misbehave on `helm upgrade` in a chosen way and otherwise are the world's recording helm,
//! a bucket kcfed cannot use, and the check for a progress line's timestamp.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;

use crate::common::{World, block_on};
use crate::support::moto::Moto;

/// `helm upgrade` fails as helm does when the release cannot be installed.
pub const FAILING_UPGRADE: &str =
    "echo 'Error: UPGRADE FAILED: refused by the test helm' >&2; exit 1";

/// `helm upgrade` presses Ctrl-C on kcfed (its parent), then takes a second to finish, so the
/// interrupt lands while the step is under way, as a user's would.
pub const INTERRUPTING_UPGRADE: &str = "kill -INT \"$PPID\"; sleep 1";

/// `helm list` fails as helm does when the cluster cannot be reached.
pub const FAILING_LIST: &str =
    "echo 'Error: Kubernetes cluster unreachable: refused by the test helm' >&2; exit 1";

/// Writes `<world dir>/<name>`, a helm that runs `on_upgrade` (sh) for `helm upgrade` before
/// handing every call to the recording helm, and returns its path for `--helm`.
pub fn helm_wrapper(world: &World, name: &str, on_upgrade: &str) -> String {
    helm_wrapper_for(world, name, "upgrade", on_upgrade)
}

/// Like [`helm_wrapper`], for the helm subcommand `command`.
pub fn helm_wrapper_for(world: &World, name: &str, command: &str, on_call: &str) -> String {
    let path = world.dir.path().join(name);
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = {command} ]; then\n  {on_call}\nfi\nexec '{}' \"$@\"\n",
        world.helm.path.display()
    );
    fs::write(&path, script).expect("write the helm wrapper");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
        .expect("make the helm wrapper executable");
    path.display().to_string()
}

/// Creates a bucket in a fresh account of `moto`, one the world's account may not use, and
/// returns its name: `--bucket` with it is a conflict in the plan.
pub fn bucket_of_another_account(moto: &Moto, world: &World) -> String {
    let bucket = format!("kcfed-taken-{}", world.account.account_id);
    block_on(async {
        let other = moto.new_account();
        let s3 = aws_sdk_s3::Client::new(&other.sdk_config("us-east-1").await);
        s3.create_bucket().bucket(&bucket).send().await.unwrap();
    });
    bucket
}

/// `2026-11-25T22:19:01Z ` at the start, as `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ` would match.
pub fn timestamped(line: &str) -> bool {
    let pattern = b"dddd-dd-ddTdd:dd:ddZ ";
    line.len() >= pattern.len()
        && line.bytes().zip(pattern).all(|(byte, &want)| match want {
            b'd' => byte.is_ascii_digit(),
            _ => byte == want,
        })
}
