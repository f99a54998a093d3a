//! `kcfed man` (hidden): the man page, generated from the clap definition, on stdout.

use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};

use crate::cli::Cli;
use crate::engine::report::Finished;
use crate::error::{Error, exit};

pub fn run() -> Result<Finished, Error> {
    let page = page().map_err(|source| Error::Io {
        path: "kcfed.1".into(),
        source,
    })?;
    Ok(Finished::printing(page, Ok(exit::SUCCESS)))
}

/// One page for the whole CLI: clap_mangen's top sections, then a section per command with its
/// usage and options. clap_mangen's own subcommand list points at kcfed-init(1) and the like,
/// pages kcfed does not ship, so it is left out.
fn page() -> std::io::Result<Vec<u8>> {
    // The package version, not the build's commit: packagers check the page in.
    let mut cli = Cli::command()
        .disable_help_subcommand(true)
        .version(env!("CARGO_PKG_VERSION"));
    cli.build();
    let top = Man::new(cli.clone());
    let mut page = Vec::new();
    top.render_title(&mut page)?;
    top.render_name_section(&mut page)?;
    top.render_synopsis_section(&mut page)?;
    top.render_description_section(&mut page)?;
    top.render_options_section(&mut page)?;
    for mut command in leaves(&cli) {
        let name = command
            .get_bin_name()
            .unwrap_or(command.get_name())
            .to_owned();
        let usage = command.render_usage().to_string();
        let mut roff = Roff::default();
        roff.control("SH", [name.to_uppercase().as_str()]);
        if let Some(about) = command.get_long_about().or(command.get_about()) {
            roff.text([roman(about.to_string())]);
        }
        roff.control("PP", [])
            .text([bold(usage.trim_start_matches("Usage: "))]);
        roff.to_writer(&mut page)?;
        // Every option under one heading named after the command, instead of one more OPTIONS.
        // clap wants a &'static str here (without its `string` feature); this runs once.
        let heading: &'static str = format!("{} options", name.to_uppercase()).leak();
        Man::new(command.mut_args(|arg| arg.help_heading(heading)))
            .render_options_section(&mut page)?;
    }
    top.render_version_section(&mut page)?;
    Ok(page)
}

/// The commands that do something (`init primary`, not `init`), in definition order.
fn leaves(command: &clap::Command) -> Vec<clap::Command> {
    command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .flat_map(|sub| {
            if sub.has_subcommands() {
                leaves(sub)
            } else {
                vec![sub.clone()]
            }
        })
        .collect()
}
