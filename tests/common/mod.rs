//! What the end-to-end tests share, one file per job: the world they run in, running kcfed,
//! checking its output, the scenarios the fault and crash tests disturb, and the inventory of
//! what a world holds.
// Each test binary uses part of it; the rest is unused there.
#![allow(dead_code, unused_imports)]

mod checks;
mod inventory;
mod process;
mod scenarios;
mod world;

pub use checks::*;
pub use inventory::*;
pub use process::*;
pub use scenarios::*;
pub use world::*;
