//! The Azure side of the channels: a script wrapped for `az vm run-command invoke` (bash,
//! Cloud Shell) and `Invoke-AzVMRunCommand` (PowerShell), and the step-0 snapshot of the OS
//! disk the source article asks for before troubleshooting.

use super::names::{ResourceGroup, VmName};
use super::quote;
use jiff::Timestamp;
use serde::Serialize;

/// One script, ready to send through Run Command from either shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunCommandForms {
    /// bash (Azure Cloud Shell): prints JSON whose `value[0].message` is the output.
    pub az: String,
    /// PowerShell with the Az module: prints the script's output, then its errors.
    pub powershell: String,
}

/// `script` wrapped for Run Command on `vm` in `group`.
pub fn run_command(group: &ResourceGroup, vm: &VmName, script: &str) -> RunCommandForms {
    RunCommandForms {
        az: format!(
            "az vm run-command invoke -g {} -n {} --command-id RunPowerShellScript --scripts {}",
            quote::bash(group.as_str()),
            quote::bash(vm.as_str()),
            quote::bash(script)
        ),
        powershell: format!(
            "$result = Invoke-AzVMRunCommand -ResourceGroupName {} -VMName {} -CommandId 'RunPowerShellScript' -ScriptString {}\n$result.Value | ForEach-Object {{ $_.Message }}",
            quote::powershell(group.as_str()),
            quote::powershell(vm.as_str()),
            quote::powershell(script)
        ),
    }
}

/// Snapshotting the VM's OS disk (a managed disk) before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotCommands {
    /// The snapshot's name: the VM's, `-os-rdpfix-` and the time (UTC, to the minute).
    pub name: String,
    /// One bash line (`az snapshot create`, the disk id from `az vm show`).
    pub az: String,
    /// PowerShell (`Get-AzVM`, `New-AzSnapshotConfig`, `New-AzSnapshot`).
    pub powershell: String,
}

/// The snapshot commands, named for `vm` and `at`.
pub fn snapshot(group: &ResourceGroup, vm: &VmName, at: Timestamp) -> SnapshotCommands {
    let stamp = at.strftime("%Y%m%dT%H%MZ").to_string();
    let suffix = format!("-os-rdpfix-{stamp}");
    // Snapshot names: at most 80 characters, starting with a letter or digit.
    let room = 80usize.saturating_sub(suffix.len());
    let base: String = vm.as_str().chars().take(room).collect();
    let name = format!("{base}{suffix}");
    let g = quote::bash(group.as_str());
    let az = format!(
        "az snapshot create -g {g} -n {} --source \"$(az vm show -g {g} -n {} --query storageProfile.osDisk.managedDisk.id -o tsv)\"",
        quote::bash(&name),
        quote::bash(vm.as_str()),
    );
    let g = quote::powershell(group.as_str());
    let powershell = format!(
        "$vm = Get-AzVM -ResourceGroupName {g} -Name {}\n\
         $config = New-AzSnapshotConfig -SourceUri $vm.StorageProfile.OsDisk.ManagedDisk.Id -Location $vm.Location -CreateOption Copy\n\
         New-AzSnapshot -ResourceGroupName {g} -SnapshotName {} -Snapshot $config",
        quote::powershell(vm.as_str()),
        quote::powershell(&name),
    );
    SnapshotCommands {
        name,
        az,
        powershell,
    }
}
