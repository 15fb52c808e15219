//! The command line (clap derive). `main` parses it; `commands` carries it out.

use crate::exit;
use analyzer::plan::{IdError, PlanId};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples (cmd or PowerShell as Administrator, Run Command or Serial Console):
  fixer.exe diagnose C:\\rdpfix-logs        which RDP failure the logs show
  fixer.exe collect                        export the last 24 h of RDP logs to a folder
  fixer.exe collect --compact              the same as one block to paste (4 KB)
  fixer.exe trust add rdpfix-ed25519:... --label ops-laptop
  fixer.exe trust list
  fixer.exe verify plan.txt                check a signed plan, change nothing
  fixer.exe apply --dry-run plan.txt       show what would change
  fixer.exe apply --yes plan.txt           apply (after reviewing the dry-run)
  fixer.exe journal                        plans applied here and their state
  fixer.exe rollback <plan_id>             restore what a plan changed
  fixer.exe confirm <plan_id>              keep a commit-confirm plan
On your workstation, without the page (automation, fleets):
  fixer keygen ops.key                     a signing key; enrol its public key
  fixer plan --key ops.key logs\\           diagnose, sign, print the fix command";

#[derive(Debug, Parser)]
#[command(
    name = "fixer",
    version,
    about = "Diagnose and repair RDP failures on a Windows VM, safely",
    long_about = "Diagnose and repair RDP failures on a Windows VM, safely.\n\n\
        Applies only plans signed by a key enrolled with `fixer trust add`, made for this \
        computer, fresh and never applied before; shows a dry-run; backs up every change \
        and rolls back on failure. State lives in %ProgramData%\\rdpfix.",
    after_help = format!("{EXAMPLES}\n\n{}", exit::HELP),
    max_term_width = 80
)]
pub struct Cli {
    /// Print a JSON summary instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Run against a simulated machine kept in this JSON file (tests; changes nothing real).
    #[arg(long, global = true, hide = true, value_name = "MACHINE.json")]
    pub simulate: Option<PathBuf>,

    /// Use this state directory instead of the platform's (Linux builds only).
    #[arg(long, global = true, hide = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Diagnose exported event logs: which documented RDP failure they show, with the
    /// evidence, the confidence and what to check next. The verdict comes last.
    #[command(after_help = DIAGNOSE_EXAMPLES)]
    Diagnose(DiagnoseArgs),

    /// Export the last hours of the System and RDP event logs into one folder and zip them
    /// there (rdpfix-logs.zip: one file to copy off the VM and drop into the page); also
    /// prints the few relevant events as text (fits Run Command).
    #[command(
        after_help = "Examples:\n  fixer.exe collect --out C:\\rdpfix-logs\n  \
        fixer.exe collect --compact        one block for Run Command / Serial Console\n  \
        fixer collect --compact --from System.evtx   a block from exported logs\n  \
        fixer.exe collect --offline F:     an attached OS disk's logs and hives (rescue VM)"
    )]
    Collect(CollectArgs),

    /// Manage the keys allowed to sign plans for this machine.
    #[command(subcommand)]
    Trust(TrustCommand),

    /// Check a signed plan and change nothing: trusted key, signature, this computer,
    /// validity period, never applied here, every step on the allowlist.
    #[command(after_help = PLAN_EXAMPLES)]
    Verify {
        /// The fix token (rdpfix1.…), a file holding it or the plan file (JSON), or - to
        /// paste it (in as many lines as needed).
        plan: String,
        /// Check an offline plan against the attached OS disk at this drive (F:), or auto.
        #[arg(long, value_name = "DRIVE|auto")]
        offline: Option<String>,
    },

    /// Apply a signed plan: every check, a dry-run (current -> desired for each step),
    /// consent, then each step with a backup; a failing step undoes the ones before it.
    #[command(after_help = PLAN_EXAMPLES)]
    Apply(ApplyArgs),

    /// List the plans applied here and their state (applied, rolled back, unfinished).
    Journal,

    /// Restore what a plan changed, from its journal and backups (also after a crash).
    #[command(after_help = "Example:\n  fixer.exe rollback 3f9c0a7e5d1b42c8a6e0f1d2c3b4a596")]
    Rollback {
        /// The plan's id, as `fixer journal` lists it.
        #[arg(value_parser = parse_plan_id)]
        plan_id: PlanId,
        /// Only if the plan awaits confirmation (what the commit-confirm timer runs).
        #[arg(long)]
        unless_confirmed: bool,
        /// Restore steps whose setting was changed again since the plan ran.
        #[arg(long)]
        force: bool,
        /// Accepted for symmetry with `apply`; a rollback never prompts.
        #[arg(long)]
        yes: bool,
        /// For a plan applied offline: the drive its disk is attached at now (F:), or auto
        /// (the default for such a plan: the disk whose MachineGuid the journal recorded).
        #[arg(long, value_name = "DRIVE|auto")]
        offline: Option<String>,
    },

    /// Keep a plan applied in commit-confirm mode (cancels its timed rollback).
    #[command(after_help = "Example:\n  fixer.exe confirm 3f9c0a7e5d1b42c8a6e0f1d2c3b4a596")]
    Confirm {
        /// The plan's id, as `fixer journal` lists it.
        #[arg(value_parser = parse_plan_id)]
        plan_id: PlanId,
    },

    /// Make a signing key for `fixer plan` (on your workstation, not on the VM); prints the
    /// public key to enrol on the VM with `fixer trust add`, and its fingerprint.
    #[command(after_help = "Example:\n  fixer keygen ops-laptop.key")]
    Keygen(KeygenArgs),

    /// Diagnose exported logs, build the plan for what they show (the catalog's remediation
    /// of every finding), sign it with a key from `fixer keygen`, and print the fix command
    /// for cmd.exe and PowerShell: the page's plan, from the command line. When the command
    /// would pass cmd.exe's 8,191 characters, writes the plan file instead.
    #[command(after_help = PLAN_COMMAND_EXAMPLES)]
    Plan(PlanArgs),
}

const PLAN_COMMAND_EXAMPLES: &str = "\
Examples (on your workstation, with the logs `fixer collect` exported):
  fixer keygen ops.key                       once; enrol the public key on each VM
  fixer plan --key ops.key C:\\rdpfix-logs
  fixer plan --key ops.key --leave-out 3 --out plan.json System.evtx
  fixer --json plan --key ops.key --now 2024-05-14T09:50:00Z logs/ | jq -r .cmd
  fixer plan --key ops.key --fixer-url https://rdpfix.example.net/fixer.exe
    --fixer-sha256 <hex> --resource-group rg-prod --vm vm-app-01 logs/
                                             also the Run Command / Serial Console
                                             enrolment (step 1) and fix (step 2) scripts

The plan is for the computer the logs name (--computer when they name several, or a name
the logs do not give (checked on the VM)), valid for 24 hours from --now (default: this
machine's clock). Exit code 10: the logs show nothing to fix, no plan was made.";

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The signing key file `fixer keygen` wrote.
    #[arg(long, value_name = "KEYFILE")]
    pub key: PathBuf,
    /// Exported logs, or folders of them; `-` reads standard input.
    #[arg(value_name = "FILE", required_unless_present = "offline")]
    pub files: Vec<PathBuf>,
    /// Plan for the OS disk of a VM attached to this (rescue) VM, at this drive (F:, or a
    /// folder holding a copy of its Windows folder): read as `diagnose --offline` reads it,
    /// the plan names the disk by its MachineGuid and control set, and only `fixer apply
    /// --offline` applies it.
    #[arg(long, value_name = "DRIVE", conflicts_with = "computer")]
    pub offline: Option<PathBuf>,
    /// Issue the plan at this moment and judge the evidence against it (RFC 3339); default:
    /// issued now, evidence judged against the newest event, like `fixer diagnose`.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,
    /// Leave out optional step N (as numbered in the output); repeat for several.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub leave_out: Vec<u16>,
    /// Also write the plan file (DSSE JSON, what `fixer apply <file>` takes) here.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The computer the plan is for, when the logs name several (one of their names), or
    /// a name the logs do not give (checked on the VM).
    #[arg(long, value_name = "NAME")]
    pub computer: Option<String>,
    /// The label the enrolment commands give the key on the VM (default: the key file's
    /// name without its extension, else rdpfix-plan).
    #[arg(long, value_name = "NAME")]
    pub label: Option<String>,
    /// Where the VM downloads fixer.exe (the hosted page's fixer.exe): with --fixer-sha256,
    /// also print the enrolment and fix scripts for Run Command and Serial Console.
    #[arg(long, value_name = "URL", requires = "fixer_sha256")]
    pub fixer_url: Option<String>,
    /// The SHA-256 of that fixer.exe (the page's fixer.exe.sha256): the scripts refuse any
    /// other.
    #[arg(long, value_name = "HEX", requires = "fixer_url")]
    pub fixer_sha256: Option<String>,
    /// With --vm and --fixer-url: also print the scripts as `az vm run-command invoke` and
    /// `Invoke-AzVMRunCommand` commands for this resource group.
    #[arg(long, value_name = "NAME", requires_all = ["vm", "fixer_url"])]
    pub resource_group: Option<String>,
    /// The Azure VM's name, for those commands.
    #[arg(long, value_name = "NAME", requires = "resource_group")]
    pub vm: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write the secret key (created readable by you only).
    pub keyfile: PathBuf,
    /// Replace an existing key file (plans signed with the old key stop verifying).
    #[arg(long)]
    pub force: bool,
}

const DIAGNOSE_EXAMPLES: &str = "\
Examples:
  fixer.exe diagnose C:\\rdpfix-logs          every file the folder holds (but the zip of them)
  fixer.exe diagnose C:\\rdpfix-logs\\System.evtx C:\\rdpfix-logs\\Security.evtx
  fixer diagnose rdpfix-logs.zip       every log in the archive
  wevtutil qe System /f:text /q:\"*[System[TimeCreated[timediff(@SystemTime) <= 86400000]]]\" | fixer.exe diagnose -
  fixer diagnose --json --now 2024-05-14T09:30:00Z System.evtx
  fixer diagnose --kql                 Azure Monitor queries for a Log Analytics workspace
  fixer.exe diagnose --offline F:      the OS disk of a VM attached to a rescue VM

Inputs: .evtx, wevtutil text or XML, Event Viewer XML or CSV, Get-WinEvent Format-List or Export-Csv, in any language; .zip archives of them. The evidence is judged over the 24 hours before --now (default: the newest event in the inputs).";

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Exported logs, or folders of them; `-` reads standard input.
    #[arg(value_name = "FILE", required_unless_present_any = ["kql", "offline"])]
    pub files: Vec<PathBuf>,
    /// Read an OS disk attached to this (rescue) VM: its event logs and SYSTEM and
    /// SOFTWARE hives, straight from the disk (F:, or a folder holding a copy of its
    /// Windows folder). Links on the disk are not followed; nothing on it is written.
    #[arg(long, value_name = "DRIVE")]
    pub offline: Option<PathBuf>,
    /// Judge the evidence against this moment (RFC 3339, e.g. 2024-05-14T09:30:00Z).
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<jiff::Timestamp>,
    /// Print the Azure Monitor (Log Analytics) queries of every rule instead.
    #[arg(long, conflicts_with_all = ["files", "now", "offline"])]
    pub kql: bool,
}

const PLAN_EXAMPLES: &str = "\
Examples:
  fixer.exe verify rdpfix1.1234.eNrtV...   the token from the page
  fixer.exe apply --dry-run plan.txt      a file with the token or the plan
  fixer.exe apply --yes plan.txt          apply without asking (Run Command)
  fixer.exe apply -                       paste the token, then answer yes
  fixer.exe apply --yes --confirm-within 10 plan.txt
                                          roll back in 10 min unless confirmed";

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The fix token (rdpfix1.…), a file holding it or the plan file (JSON), or - to
    /// paste it (in as many lines as needed).
    pub plan: String,
    /// Show what would change (current -> desired) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking: for Run Command and scripts, after reviewing the dry-run.
    #[arg(long)]
    pub yes: bool,
    /// Commit-confirm: roll the plan back after this many minutes unless
    /// `fixer confirm <plan_id>` is run (for fixes run over RDP, which drop the session).
    #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(2..=1440))]
    pub confirm_within: Option<u32>,
    /// Apply an offline plan to the OS disk of its VM attached to this rescue VM: its drive
    /// (F:), or auto for the one attached disk whose MachineGuid the plan names. Its SYSTEM
    /// and SOFTWARE hives are loaded for the run and always unloaded.
    #[arg(long, value_name = "DRIVE|auto", conflicts_with = "confirm_within")]
    pub offline: Option<String>,
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Folder for the .evtx files and rdpfix-logs.zip, the one file to copy off the VM
    /// (created if missing).
    #[arg(long, value_name = "DIR", default_value = r"C:\rdpfix-logs")]
    pub out: PathBuf,
    /// How far back to export, in hours.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub hours: u32,
    /// Only print the relevant events as text; export no files.
    #[arg(long, conflicts_with = "compact")]
    pub text_only: bool,
    /// Print one RDPFIX-EVIDENCE block instead: every event some rule reads, as many as
    /// fit in 4,000 bytes (deflated, checksummed), to paste into the page from Run Command
    /// or Serial Console. The exports stay in --out.
    #[arg(long)]
    pub compact: bool,
    /// Copy an attached OS disk's event logs and SYSTEM and SOFTWARE hives (F: on a rescue
    /// VM) into --out, with the configuration snapshot of its hives (rdpfix-config.txt),
    /// and zip them all into rdpfix-logs.zip there, instead of this machine's logs. Links
    /// on the disk are not followed; nothing on it is written.
    #[arg(long, value_name = "DRIVE", conflicts_with_all = ["compact", "text_only", "hours"])]
    pub offline: Option<PathBuf>,
    /// With --compact: make the block from these exported logs (files, folders, or - for
    /// standard input) instead of this machine's event logs.
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "compact")]
    pub from: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Enrol a public key from the page; prints its fingerprint to compare with the page.
    #[command(
        after_help = "Example (one line; the key and fingerprint as the page shows them):\n  \
            fixer.exe trust add\n    rdpfix-ed25519:GX9rI-FshTLGq8g4-s1ep4m-DHaykgM0A5v6iz02jWG2ADBs\n    \
            --label ops-laptop --expires 90d\n    \
            --fingerprint\n    \"WYAD A3H2 OZZD 7XWD SXST VGZ5 T7NX RMPC 26RD YMX4 XTJN Y3IM ICJA\""
    )]
    Add {
        /// The public key exactly as the page shows it (`rdpfix-ed25519:…`).
        public_key: String,
        /// A name for the key, e.g. who holds it.
        #[arg(long)]
        label: String,
        /// When the key stops being trusted: an RFC 3339 time or a number of days (`90d`).
        #[arg(long, value_name = "WHEN")]
        expires: Option<String>,
        /// Refuse unless the key's fingerprint equals this (as read on the page).
        #[arg(long, value_name = "FINGERPRINT")]
        fingerprint: Option<String>,
    },
    /// List enrolled keys with fingerprint, label, expiry and revocation.
    List,
    /// Revoke a key (by label or fingerprint); it stays listed as revoked.
    #[command(after_help = "Example:\n  fixer.exe trust remove ops-laptop")]
    Remove {
        /// The key's label, or its fingerprint (at least 8 characters of it).
        key: String,
    },
}

/// A plan id as people type it back: any case, surrounding spaces ignored. Anything else
/// (a path, `..`) never reaches the journal.
fn parse_plan_id(text: &str) -> Result<PlanId, IdError> {
    text.trim().to_ascii_lowercase().parse()
}
