//! kcfed: parse the command line, run one command, print its result or one diagnostic.

use std::process::ExitCode;

use kcfed::{cli, commands, engine};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    init_logging(cli.verbose);
    let finished = commands::run(cli).await;
    if let Some(result) = &finished.stdout {
        use std::io::Write;
        // A closed stdout (`kcfed ... | head`) is the reader's choice, not a failure.
        let _ = std::io::stdout().write_all(result);
    }
    match finished.exit {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err}");
            if let Some(fix) = err.fix() {
                eprintln!("  fix: {fix}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

/// Logs go to stderr; stdout carries only results.
fn init_logging(verbosity: u8) {
    // The libraries' own logs (kube's, hyper's, the SDK's) repeat what kcfed's one message per
    // problem says; they are for -v.
    let default = match verbosity {
        0 => "off,kcfed=warn",
        1 => "warn,kcfed=debug",
        _ => "info,kcfed=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KCFED_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // tracing colours by default; escape codes belong only on a terminal, never in CI.
        .with_ansi(engine::terminal::decorated())
        .with_target(false)
        .init();
}
