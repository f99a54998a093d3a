//! One `run` per command; `main` dispatches here.

mod cleanup;
mod init;
mod join;
mod man;
mod render;

use clap::CommandFactory;

use crate::cli::{Cli, Command, CompletionsArgs, InitCommand, JoinCommand};
use crate::error::{Error, exit};

pub async fn run(cli: Cli) -> Result<u8, Error> {
    match cli.command {
        Command::Init(InitCommand::Primary(args)) => init::run(&args).await,
        Command::Join(JoinCommand::Cluster(args)) => join::run(&args).await,
        Command::Cleanup(args) => cleanup::run(&args).await,
        Command::Render(args) => render::run(&args),
        Command::Completions(args) => completions(&args),
        Command::Man => man::run(),
    }
}

fn completions(args: &CompletionsArgs) -> Result<u8, Error> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "kcfed",
        &mut std::io::stdout(),
    );
    Ok(exit::SUCCESS)
}
