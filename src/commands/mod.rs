//! One `run` per command; `main` dispatches here.

mod cleanup;
mod dashboard;
mod eks_token;
mod init;
mod join;
mod man;
mod render;
mod status;

use clap::CommandFactory;

use crate::cli::{Cli, Command, CompletionsArgs, InitCommand, JoinCommand};
use crate::engine::report::Finished;
use crate::error::exit;

/// Runs the command; `main` prints what it finished with.
pub async fn run(cli: Cli) -> Finished {
    let finished = match cli.command {
        Command::Init(InitCommand::Primary(args)) => init::run(&args).await,
        Command::Join(JoinCommand::Cluster(args)) => join::run(&args).await,
        Command::Cleanup(args) => cleanup::run(&args).await,
        Command::Status(args) => status::run(&args).await,
        Command::Render(args) => render::run(&args),
        Command::Dashboard(args) => dashboard::run(&args).await,
        Command::Completions(args) => Ok(completions(&args)),
        Command::Man => man::run(),
        Command::EksToken(args) => eks_token::run(&args).await,
    };
    finished.unwrap_or_else(Finished::from)
}

fn completions(args: &CompletionsArgs) -> Finished {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "kcfed", &mut script);
    Finished::printing(script, Ok(exit::SUCCESS))
}
