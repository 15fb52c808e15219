//! `fixer`: parse, run the command on the right host, print its report, exit with its code.

use clap::Parser;
use fixer::SimFile;
use fixer::cli::Cli;
use fixer::commands::{self, CommandResult};
use fixer::exit::Exit;
use fixer::host::Host;
use fixer::report::ascii_safe;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Usage.code()
            } else {
                0
            });
        }
    };
    let result = match &cli.simulate {
        Some(path) => run_simulated(&cli, path),
        None => run_native(&cli),
    };
    let exit = match result {
        Ok(report) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report.json()).unwrap_or_default()
                );
            } else {
                print!("{}", report.text());
            }
            report.exit()
        }
        Err(e) => {
            if cli.json {
                let v = serde_json::json!({ "ok": false, "exit": e.exit, "error": format!("{:#}", e.error) });
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            } else {
                eprintln!("error: {}", ascii_safe(&format!("{:#}", e.error)));
            }
            e.exit
        }
    };
    ExitCode::from(exit.code())
}

fn run_simulated(cli: &Cli, path: &std::path::Path) -> CommandResult {
    let fail = |e: anyhow::Error| commands::CommandError::new(Exit::Failure, e);
    let host = SimFile::load(path)
        .map_err(|e| fail(e.context(format!("cannot load {}", path.display()))))?;
    let result = commands::run(cli, &host);
    SimFile::save(path, &host).map_err(fail)?;
    result
}

#[cfg(windows)]
fn run_native(cli: &Cli) -> CommandResult {
    if cli.state_dir.is_some() {
        return Err(commands::CommandError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "--state-dir is for Linux builds; on Windows the state is in %ProgramData%\\rdpfix"
            ),
        ));
    }
    let host = fixer::host::windows::WindowsHost::new().map_err(commands::CommandError::from)?;
    commands::run(cli, &host as &dyn Host)
}

#[cfg(not(windows))]
fn run_native(cli: &Cli) -> CommandResult {
    let dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(fixer::host::posix::PosixHost::default_state_dir);
    let host = fixer::host::posix::PosixHost::new(dir);
    commands::run(cli, &host as &dyn Host)
}
