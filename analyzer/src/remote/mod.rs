//! Getting logs out of, and the fix into, a VM nobody can log into: Azure Run Command
//! (runs a PowerShell script as SYSTEM; only the last 4,096 bytes of its output come back)
//! and Serial Console (a cmd.exe or PowerShell prompt, text only).
//!
//! Pure functions used by the page and the fixer:
//! - [`collect`]: per-channel `wevtutil qe` / `Get-WinEvent` queries generated from the
//!   rule catalog, and the Run Command script that prints what fits;
//! - [`azure`]: any script as `az vm run-command invoke` (bash) and `Invoke-AzVMRunCommand`
//!   (PowerShell); the step-0 OS disk snapshot;
//! - [`deliver`]: what the enrolment and fix scripts share: `fixer.exe` put in place
//!   (download, SHA-256 check) and a script rendered for Run Command and Serial Console;
//! - [`enrol`]: step 1, once per VM: the enrolment script (`trust add` of the page's key)
//!   and the console `trust add` line;
//! - [`fix`]: step 2: the fix script (`apply --yes`), which names the enrolment script when
//!   the VM does not trust the plan's key;
//! - [`repair`]: the rescue-VM sequence for an offline plan (`az vm repair create` → `run
//!   --custom-script-file` → `restore`, with the step-0 snapshot) and its repair script;
//! - [`names`]: resource group and VM names checked against Azure's rules;
//! - [`quote`]: bash, PowerShell and cmd.exe quoting.

pub mod azure;
pub mod collect;
pub mod config;
pub mod deliver;
pub mod enrol;
pub mod fix;
pub mod names;
pub mod quote;
pub mod repair;

pub use azure::{RunCommandForms, SnapshotCommands, run_command, snapshot};
pub use collect::{
    COLLECTION_BUDGET_BYTES, ChannelQuery, RUN_COMMAND_OUTPUT_BYTES, RemoteCollection,
    remote_collection,
};
pub use deliver::{Delivery, FixerSource, ScriptError, SerialLine};
pub use enrol::{KeyLabel, enrol_delivery, trust_command};
pub use fix::fix_delivery;
pub use names::{NameError, ResourceGroup, VmName};
pub use repair::{RepairInputs, RepairScript, RepairSequence, RepairStep, repair_sequence};
