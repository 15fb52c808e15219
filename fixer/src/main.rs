//! `fixer`: parse, run the command on the right host, print its report, exit with its code.

use clap::Parser;
use fixer::SimFile;
use fixer::cli::Cli;
use fixer::commands::{self, CommandResult};
use fixer::exit::Exit;
use fixer::host::Host;
use fixer::operator::Terminal;
use fixer::report::ascii_safe;
use std::io::IsTerminal;
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
    // With --json the output is for a program: never ask, never show anything but the JSON.
    let operator = Terminal::new(!cli.json && std::io::stdin().is_terminal());
    let result = match &cli.simulate {
        Some(path) => run_simulated(&cli, path, &operator),
        None => run_native(&cli, &operator),
    };
    let exit = match result {
        Ok(report) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string(&report.json()).unwrap_or_default()
                );
            } else {
                print!("{}", report.text());
            }
            report.exit()
        }
        Err(e) => {
            if cli.json {
                let v = serde_json::json!({ "ok": false, "exit": e.exit, "error": format!("{:#}", e.error) });
                println!("{}", serde_json::to_string(&v).unwrap_or_default());
            } else {
                eprintln!("error: {}", ascii_safe(&format!("{:#}", e.error)));
            }
            e.exit
        }
    };
    ExitCode::from(exit.code())
}

fn run_simulated(cli: &Cli, path: &std::path::Path, operator: &Terminal) -> CommandResult {
    let fail = |e: anyhow::Error| commands::CommandError::new(Exit::Failure, e);
    let host = SimFile::load(path)
        .map_err(|e| fail(e.context(format!("cannot load {}", path.display()))))?;
    let result = commands::run(cli, &host, operator);
    SimFile::save(path, &host).map_err(fail)?;
    result
}

#[cfg(windows)]
fn run_native(cli: &Cli, operator: &Terminal) -> CommandResult {
    if cli.state_dir.is_some() {
        return Err(commands::CommandError::new(
            Exit::Usage,
            anyhow::anyhow!(
                "--state-dir is for Linux builds; on Windows the state is in %ProgramData%\\rdpfix"
            ),
        ));
    }
    let host = fixer::host::windows::WindowsHost::new().map_err(commands::CommandError::from)?;
    commands::run(cli, &host as &dyn Host, operator)
}

#[cfg(not(windows))]
fn run_native(cli: &Cli, operator: &Terminal) -> CommandResult {
    let dir = cli
        .state_dir
        .clone()
        .unwrap_or_else(fixer::host::posix::PosixHost::default_state_dir);
    let host = fixer::host::posix::PosixHost::new(dir);
    commands::run(cli, &host as &dyn Host, operator)
}
