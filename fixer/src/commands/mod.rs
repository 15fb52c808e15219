//! One module per command. Each returns a [`Report`] (or a [`CommandError`] with its exit
//! code); none prints.

pub mod apply;
pub mod collect;
pub mod collect_config;
pub mod compact;
pub mod diagnose;
pub mod journal;
pub mod keygen;
pub mod plan;
pub mod trust;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::host::{Host, HostError};
use crate::operator::Operator;
use crate::report::Report;
use crate::state_dir::StateDirError;
use crate::trust::TrustError;

/// A command that did not succeed, with the exit code that says why.
#[derive(Debug)]
pub struct CommandError {
    pub exit: Exit,
    pub error: anyhow::Error,
}

impl CommandError {
    pub fn new(exit: Exit, error: impl Into<anyhow::Error>) -> Self {
        CommandError {
            exit,
            error: error.into(),
        }
    }
}

impl From<HostError> for CommandError {
    fn from(e: HostError) -> Self {
        let exit = match e {
            HostError::NeedsWindows { .. } => Exit::NeedsWindows,
            HostError::Busy { .. } => Exit::Busy,
            _ => Exit::Failure,
        };
        CommandError::new(exit, e)
    }
}

impl From<StateDirError> for CommandError {
    fn from(e: StateDirError) -> Self {
        match e {
            StateDirError::Host(h) => h.into(),
            other => CommandError::new(Exit::UnsafeStateDir, other),
        }
    }
}

impl From<TrustError> for CommandError {
    fn from(e: TrustError) -> Self {
        match e {
            TrustError::StateDir(s) => s.into(),
            TrustError::Host(h) => h.into(),
            other => CommandError::new(Exit::Failure, other),
        }
    }
}

pub type CommandResult = Result<Box<dyn Report>, CommandError>;

/// Carries out the parsed command on `host`; `operator` is whoever sits at the console.
pub fn run(cli: &Cli, host: &dyn Host, operator: &dyn Operator) -> CommandResult {
    dispatch(cli, host, operator).map_err(|e| {
        if e.exit == Exit::NeedsWindows {
            CommandError::new(
                Exit::NeedsWindows,
                anyhow::anyhow!(
                    "{:#}. Off Windows, fixer diagnoses logs (diagnose), makes and signs plans \
                     (keygen, plan), enrols keys and checks plans (trust, verify). {}.",
                    e.error,
                    on_windows_instead(&cli.command)
                ),
            )
        } else {
            e
        }
    })
}

/// What to do instead when `command` needed Windows and ran elsewhere (the Linux build).
fn on_windows_instead(command: &Command) -> &'static str {
    match command {
        Command::Collect(args) if args.compact => {
            "To collect, run fixer.exe collect --compact on the VM (the page's Run Command \
             collection script does), or export the logs there and make the block here with \
             fixer collect --compact --from <files>"
        }
        Command::Collect(_) => {
            "To collect, run fixer.exe collect on the VM (the page's Run Command collection \
             script does), or export the logs there and give them to the page or to fixer \
             diagnose here"
        }
        Command::Apply(_) | Command::Rollback { .. } | Command::Confirm { .. } => {
            "To apply or undo a plan, run fixer.exe on the VM the plan is for, as \
             administrator (the page's Run Command script or Serial Console line does it); \
             here, fixer verify <plan> checks a plan without changing anything"
        }
        _ => "Run this command with fixer.exe on the VM",
    }
}

fn dispatch(cli: &Cli, host: &dyn Host, operator: &dyn Operator) -> CommandResult {
    match &cli.command {
        Command::Verify { plan, offline } => verify::run(host, plan, offline.as_deref(), operator),
        Command::Apply(args) => apply::run(host, args, operator),
        Command::Collect(args) => collect::run(host, args),
        Command::Diagnose(args) => diagnose::run(args),
        Command::Trust(cmd) => trust::run(host, cmd),
        Command::Journal => journal::list(host),
        Command::Rollback {
            plan_id,
            unless_confirmed,
            force,
            yes: _,
            offline,
        } => journal::rollback(
            host,
            &plan_id.to_string(),
            *unless_confirmed,
            *force,
            offline.as_deref(),
        ),
        Command::Confirm { plan_id } => journal::confirm(host, &plan_id.to_string()),
        Command::Keygen(args) => keygen::run(args),
        Command::Plan(args) => plan::run(args),
    }
}
