//! Exit codes: the contract scripts and Run Command callers rely on (DESIGN.md).

use serde::Serialize;

/// Why the fixer stopped. `0` only on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// Done; for `verify`/`apply --dry-run`, the plan passed every check.
    Success = 0,
    /// Something failed that is not one of the cases below (a file could not be read…).
    Failure = 1,
    /// The command line was wrong (clap's own code for usage errors).
    Usage = 2,
    /// The plan was rejected by a check: nothing was changed.
    Rejected = 3,
    /// A step failed; every completed step was undone: the machine is as before.
    RolledBack = 4,
    /// A step failed and undoing did not fully succeed: read the journal; act now.
    RollbackIncomplete = 5,
    /// A folder the fixer must trust (the state directory and trust store, the rollback
    /// task's folder, the collect folder) is writable by non-administrators or holds a
    /// junction: refused.
    UnsafeStateDir = 6,
    /// An earlier plan is unfinished (the fixer was interrupted): roll it back first.
    Unfinished = 7,
    /// This command reads or changes Windows itself and was run elsewhere (the Linux build).
    NeedsWindows = 8,
    /// Applying needs consent: no terminal to ask on and no `--yes`.
    ConsentNeeded = 9,
    /// `fixer plan`: the logs show no failure rdpfix knows how to fix; no plan was made.
    NothingToFix = 10,
    /// Another fixer holds the machine-wide lock (applying, rolling back or confirming).
    Busy = 11,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// The exit code table for `--help`.
pub const HELP: &str = "\
Exit codes:
  0  success (for verify and apply --dry-run: the plan passed every check)
  1  failure (e.g. a file could not be read)
  2  usage error
  3  plan rejected by a check; nothing was changed
  4  a step failed and every completed step was undone
  5  a step failed and undoing was incomplete; see `fixer journal`
  6  a folder the fixer must trust (state directory, task or collect folder) is
     writable by non-administrators or holds a junction: nothing was changed
  7  an earlier plan is unfinished; run `fixer rollback <plan_id>`
  8  this command reads or changes Windows: run it with fixer.exe on the VM
  9  consent needed: review the dry-run, then add --yes
 10  fixer plan: the logs show nothing to fix; no plan was made
 11  another fixer is applying, rolling back or confirming a plan: try again later";
