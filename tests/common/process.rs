//! Running kcfed as a process: to its end within a limit that only guards against a hang.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::checks::assert_exit;
use super::world::World;

/// How long one kcfed run may take before it counts as hung: a guard, never a timing assertion.
pub const RUN_LIMIT: Duration = Duration::from_secs(240);

/// Runs kcfed to its end (within [`RUN_LIMIT`]) and checks that it succeeded.
pub fn kcfed_ok(world: &World, args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_exit(&output_within(world.command(&args), RUN_LIMIT), 0);
}

/// Runs `command` to its end. `limit` only guards against a hang: past it the process is killed
/// and the test fails with what it printed.
pub fn output_within(mut command: Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).ok();
            bytes
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("check on the command") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            let stderr = stderr.join().expect("read stderr");
            panic!(
                "{command:?} still ran after {limit:?} and was killed; stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().expect("read stdout"),
        stderr: stderr.join().expect("read stderr"),
    }
}
