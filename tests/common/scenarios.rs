//! The commands the fault and crash tests disturb, each with the world it runs in and an
//! undisturbed reference run to compare with.

use std::process::Output;

use super::checks::assert_exit;
use super::inventory::{Inventory, inventory};
use super::process::{RUN_LIMIT, kcfed_ok, output_within};
use super::world::World;
use crate::support::moto::Moto;

/// One kcfed command to disturb (with faults, or by killing it) and then compare with an
/// undisturbed run: the clusters of its world, what is in place before it runs, and its
/// arguments.
pub struct Scenario {
    pub command: &'static str,
    pub clusters: &'static [&'static str],
    pub prepare: fn(&World),
    pub args: fn(&World) -> Vec<String>,
    /// Whether the command removes everything kcfed made.
    pub leaves_nothing: bool,
}

/// `init primary` of a federated primary (with the bucket).
pub const INIT_PRIMARY: Scenario = Scenario {
    command: "init primary",
    clusters: &["prod"],
    prepare: |_| {},
    args: init_primary_args,
    leaves_nothing: false,
};

/// `join cluster` of two agents at once, to a federated primary.
pub const JOIN_TWO_AGENTS: Scenario = Scenario {
    command: "join cluster (2 agents)",
    clusters: &["prod", "agent-a", "agent-b"],
    prepare: |world| kcfed_ok(world, &init_primary_args(world)),
    args: |world| {
        let helm = world.helm_path();
        let args = ["join", "cluster", "--helm", &helm, "--yes"];
        let agents = ["--cluster", "agent-a", "--cluster", "agent-b"];
        args.iter()
            .chain(&agents)
            .map(|arg| arg.to_string())
            .collect()
    },
    leaves_nothing: false,
};

/// `cleanup --all` of a federated primary and one agent.
pub const CLEANUP_ALL: Scenario = Scenario {
    command: "cleanup --all",
    clusters: &["prod", "agent-a"],
    prepare: |world| primary_and_agent(world, &[], &[]),
    args: |world| {
        let helm = world.helm_path();
        let args = ["cleanup", "--all", "--helm", &helm, "--yes"];
        args.map(str::to_owned).to_vec()
    },
    leaves_nothing: true,
};

/// `cleanup --all` of a Kubecost 3 fleet (a primary and one agent), which has no workspace: its
/// record is on its bucket.
pub const CLEANUP_ALL_KUBECOST_3: Scenario = Scenario {
    command: "cleanup --all (Kubecost 3)",
    clusters: &["prod", "agent-a"],
    // IRSA: these worlds serve no Pod Identity.
    prepare: |world| {
        let kubecost_3 = ["--chart-version", "3.2.1"];
        primary_and_agent(
            world,
            &[&kubecost_3[..], &["--identity", "irsa"]].concat(),
            &kubecost_3,
        )
    },
    args: CLEANUP_ALL.args,
    leaves_nothing: true,
};

/// Makes the fleet of `prod` and its agent `agent-a`, each command with its `extra` flags.
fn primary_and_agent(world: &World, init_extra: &[&str], join_extra: &[&str]) {
    let helm = world.helm_path();
    let join = [
        "join",
        "cluster",
        "--cluster",
        "agent-a",
        "--helm",
        &helm,
        "--yes",
    ];
    for (args, extra) in [
        (init_primary_args(world), init_extra),
        (join.map(str::to_owned).to_vec(), join_extra),
    ] {
        let extra = extra.iter().map(|arg| arg.to_string());
        kcfed_ok(world, &args.into_iter().chain(extra).collect::<Vec<_>>());
    }
}

fn init_primary_args(world: &World) -> Vec<String> {
    let helm = world.helm_path();
    let args = [
        "init",
        "primary",
        "--cluster",
        "prod",
        "--helm",
        &helm,
        "--yes",
    ];
    args.map(str::to_owned).to_vec()
}

/// The region of a scenario's world.
const SCENARIO_REGION: &str = "us-east-2";

impl Scenario {
    /// A world of its own with everything the command expects in place.
    pub fn world(&self) -> World {
        let world = World::new(Moto::shared(), SCENARIO_REGION, self.clusters);
        (self.prepare)(&world);
        world
    }

    /// An undisturbed run: its output, and the end state normalised for comparing with other
    /// worlds'. For a command that leaves nothing, checks that nothing is left.
    pub fn reference(&self) -> (Output, Inventory) {
        let world = World::new(Moto::shared(), SCENARIO_REGION, self.clusters);
        let untouched = inventory(&world);
        (self.prepare)(&world);
        let args: Vec<String> = (self.args)(&world);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = output_within(world.command(&args), RUN_LIMIT);
        assert_exit(&output, 0);
        let after = inventory(&world);
        if self.leaves_nothing {
            assert_eq!(after, untouched, "{}: something is left", self.command);
        }
        (output, after.normalised(&world.account.account_id))
    }
}
