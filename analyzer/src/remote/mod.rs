//! Getting logs out of, and the fix into, a VM nobody can log into: Azure Run Command
//! (runs a PowerShell script as SYSTEM; only the last 4,096 bytes of its output come back)
//! and Serial Console (a cmd.exe or PowerShell prompt, text only).
//!
//! Pure functions used by the page and the fixer:
//! - [`collect`]: per-channel `wevtutil qe` / `Get-WinEvent` queries generated from the
//!   rule catalog, and the Run Command script that prints what fits;
//! - [`azure`]: any script as `az vm run-command invoke` (bash) and `Invoke-AzVMRunCommand`
//!   (PowerShell); the step-0 OS disk snapshot;
//! - [`fix`]: the Run Command fix script (download, SHA-256 check, `apply --yes`) and its
//!   Serial Console line;
//! - [`names`]: resource group and VM names checked against Azure's rules;
//! - [`quote`]: bash, PowerShell and cmd.exe quoting.

pub mod azure;
pub mod collect;
pub mod fix;
pub mod names;
pub mod quote;

pub use azure::{RunCommandForms, SnapshotCommands, run_command, snapshot};
pub use collect::{
    COLLECTION_BUDGET_BYTES, ChannelQuery, RUN_COMMAND_OUTPUT_BYTES, RemoteCollection,
    remote_collection,
};
pub use fix::{FixDelivery, FixScriptError, SerialLine, fix_delivery};
pub use names::{NameError, ResourceGroup, VmName};
