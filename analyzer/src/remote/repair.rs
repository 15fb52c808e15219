//! The rescue-VM sequence around an offline plan, for a VM nothing runs on (no guest agent
//! for Run Command, no booted Windows for Serial Console): Azure's `vm-repair` extension
//! copies the OS disk, attaches the copy to a new repair VM, runs a script there and swaps
//! the repaired copy in (`../shared/OFFLINE-REPAIR.md` §1). What is built here, as text
//! blocks for Azure Cloud Shell (bash):
//!
//! 0. a snapshot of the OS disk (step 0) ([`snapshot`]), the real undo;
//! 1. `az extension add -n vm-repair`;
//! 2. `az vm repair create` (and its form for a disk encrypted with Azure Disk Encryption);
//! 3. the repair script saved as [`SCRIPT_FILE`] in Cloud Shell (a quoted here-document);
//! 4. `az vm repair run --run-on-repair --custom-script-file` [`SCRIPT_FILE`];
//! 5. what to check in its output before the swap;
//! 6. `az vm repair restore`;
//! 7. after: the VM started, RDP tried, and only then the old OS disk deleted.
//!
//! The repair script puts `fixer.exe` in place with the same statements as the Run Command
//! scripts ([`deliver`](super::deliver)), enrols the plan's signing key (`trust add
//! --fingerprint`: refused unless the key is the one the page showed) and runs `fixer apply
//! --offline auto --yes <token>` (the fixer finds the attached disk by the plan's
//! MachineGuid). How the repair driver runs it shapes it (Azure/azure-cli-extensions,
//! `vm-repair`'s `win-run-driver.ps1` and `custom.py`): the file is appended to the driver's
//! own script, so it has no `param()` block and must not `exit` (that would end it before
//! it says how it ended); its output goes to a log file written as ASCII, and the CLI
//! reports success only when that log holds `[STATUS]::SUCCESS`, showing the messages of
//! `[Output <MM/dd/yyyy HH:mm:ss>]` lines (`[Error …]` lines on failure); Run Command
//! returns only the log's last 4,096 bytes, so the result and the status come last.

use super::azure::snapshot;
use super::deliver::{FixerSource, OnFailure, ScriptError, fetch_statements, fix_token};
use super::enrol::KeyLabel;
use super::names::{ResourceGroup, VmName};
use super::quote;
use crate::envelope::PublicKey;
use jiff::Timestamp;
use serde::Serialize;

/// The repair script's file name in Cloud Shell, as `--custom-script-file` names it.
pub const SCRIPT_FILE: &str = "rdpfix-offline.ps1";
/// The word the repair CLI looks for in the log to call the run a success.
pub const STATUS_SUCCESS: &str = "[STATUS]::SUCCESS";
/// The word the repair script prints last when the plan was not applied.
pub const STATUS_ERROR: &str = "[STATUS]::ERROR";
/// The here-document's end marker in the save command; the script never holds it as a line.
const HEREDOC_END: &str = "RDPFIX_OFFLINE_PS1";

/// What the sequence is for: the broken VM, the offline plan, its signer and `fixer.exe`.
#[derive(Debug, Clone, Copy)]
pub struct RepairInputs<'a> {
    pub group: &'a ResourceGroup,
    pub vm: &'a VmName,
    /// The fix token of an offline plan (the fixer refuses it without `--offline`, and an
    /// online plan with it).
    pub token: &'a str,
    /// The key that signed the plan and the label it is enrolled under on the repair VM.
    pub key: &'a PublicKey,
    pub label: &'a KeyLabel,
    pub source: &'a FixerSource,
    /// When the sequence is made (the caller's clock): names the snapshot.
    pub at: Timestamp,
}

/// One block of the sequence: what it does and the Cloud Shell (bash) lines to paste, each
/// a command of its own (possibly none: a block that only says what to check).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairStep {
    /// A stable name for tests and the page (`snapshot`, `extension`, `create`, `save`,
    /// `run`, `check`, `restore`, `after`).
    pub id: &'static str,
    pub title: String,
    pub what: String,
    pub commands: Vec<String>,
}

/// The script `az vm repair run` runs on the repair VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairScript {
    pub file_name: &'static str,
    /// PowerShell 5.1, ASCII only, `\n` line ends.
    pub text: String,
    pub bytes: usize,
}

/// The whole sequence: the blocks in order and the script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepairSequence {
    /// The step-0 snapshot's name (`restore`'s block and the old disk's deletion use it).
    pub snapshot_name: String,
    pub steps: Vec<RepairStep>,
    pub script: RepairScript,
}

/// The rescue-VM sequence for `inputs`. Refused only for a token that is not one.
pub fn repair_sequence(inputs: &RepairInputs<'_>) -> Result<RepairSequence, ScriptError> {
    let token = fix_token(inputs.token)?;
    let script = repair_script(inputs.source, inputs.key, inputs.label, token);
    let g = quote::bash(inputs.group.as_str());
    let n = quote::bash(inputs.vm.as_str());
    let snap = snapshot(inputs.group, inputs.vm, inputs.at);
    let snap_name = quote::bash(&snap.name);
    let file = SCRIPT_FILE;
    let step = |id, title: &str, what: &str, commands: Vec<String>| RepairStep {
        id,
        title: title.to_owned(),
        what: what.to_owned(),
        commands,
    };
    let steps = vec![
        step(
            "snapshot",
            "Snapshot the OS disk first",
            "The snapshot is the undo of everything below: the repair VM, with the fixer's \
             backups and journal on it, is deleted by the swap. If the VM still runs, stop it \
             first (az vm stop): a copy of a running disk is only crash-consistent. The \
             second line shows the disk the snapshot is of (the VM's OS disk, by id).",
            vec![
                snap.az,
                format!(
                    "az snapshot show -g {g} -n {snap_name} --query creationData.sourceResourceId -o tsv"
                ),
            ],
        ),
        step(
            "extension",
            "Install the vm-repair extension",
            "Azure CLI 2.0.67 or later (Cloud Shell has it); if it is installed already, \
             update it instead: az extension update -n vm-repair.",
            vec!["az extension add -n vm-repair".to_owned()],
        ),
        step(
            "create",
            "Create the repair VM",
            "Copies the OS disk, creates a repair VM (same size and region, in a new \
             resource group) and attaches the copy to it as a data disk. It asks for the \
             repair VM's administrator name and password. For a disk encrypted with Azure \
             Disk Encryption (managed disks, single-pass only) use the second line instead: \
             it unlocks the copy on the repair VM. Skip this step when the repair VM you \
             diagnosed the disk on is still there: run and restore find the repair VM by \
             its tags and stop (\"More than one repair VM found\") when there are two. Do \
             not change the repair VM's tags: restore needs them; type the names with the \
             same letter case in every command.",
            vec![
                format!("az vm repair create -g {g} -n {n} --verbose"),
                format!("az vm repair create -g {g} -n {n} --unlock-encrypted-vm --verbose"),
            ],
        ),
        step(
            "save",
            "Save the repair script in Cloud Shell",
            &format!(
                "Writes {file} in Cloud Shell's current folder (or download it from this \
                 page and upload it). It puts fixer.exe on the repair VM (refused unless its \
                 SHA-256 is the published one), enrols the key that signed the plan \
                 (refused unless its fingerprint is the page's) and applies the plan to the \
                 attached disk whose MachineGuid the plan names."
            ),
            vec![format!(
                "cat > {file} <<'{HEREDOC_END}'\n{}{HEREDOC_END}",
                script.text
            )],
        ),
        step(
            "run",
            "Run it on the repair VM",
            "Runs the script through the repair VM's Run Command (the broken VM's guest \
             agent is not needed); one script at a time, at most 90 minutes; the repair VM \
             needs outbound port 443 (GitHub, for the repair driver, and this site, for \
             fixer.exe).",
            vec![format!(
                "az vm repair run -g {g} -n {n} --run-on-repair --custom-script-file {file} --verbose"
            )],
        ),
        step(
            "check",
            "Check before the swap",
            "Swap only when the run says \"Script completed succesfully\" (the CLI's \
                 spelling) and its output ends with \"rdpfix: RESULT: APPLIED\" after the \
                 fixer's own report of the plan (what it changed on the disk and verified). \"Script completed with errors\" shows the [Error] lines: \
                 the fixer's refusal or the step that failed (exit 3: refused, nothing \
                 changed; 4: a step failed and every step was undone; 5: undoing was \
                 incomplete: run fixer journal on the repair VM before anything else). A plan \
                 is applied once: after exit 4 or 5 the same plan is refused, so fix the \
                 cause, sign a new plan and save and run its script. Do not run a script \
                 again to see what happened when its output was lost: a plan that was \
                 applied is refused the second time (exit 3, already applied), which reads \
                 as NOT APPLIED; run fixer journal on the repair VM instead. To read the disk again, connect to the repair VM and run \
                 fixer.exe diagnose --offline <drive> (fixer.exe is in Program Files\\rdpfix). \
                 The log's full copy is on the repair VM (its path is on the run's \
                 Log-End line) when the output was cut to its last 4 KB.",
            Vec::new(),
        ),
        step(
            "restore",
            "Swap the repaired disk in",
            "Detaches the repaired copy from the repair VM, makes it the VM's OS disk and \
             deletes the repair resource group (it asks first; the fixer's backups and \
             journal go with it: the step-0 snapshot stays). The old OS disk is kept.",
            vec![format!("az vm repair restore -g {g} -n {n} --verbose")],
        ),
        step(
            "after",
            "After the swap",
            "Start the VM if it is stopped and connect over RDP. Only when RDP works, \
             delete the old OS disk (the second line: the disk the step-0 snapshot was taken \
             of; Azure refuses to delete a disk a VM still uses, and az asks before \
             deleting). Keep the snapshot until you are sure; then delete it too.",
            vec![
                format!("az vm start -g {g} -n {n}"),
                format!(
                    "az disk delete --ids \"$(az snapshot show -g {g} -n {snap_name} --query creationData.sourceResourceId -o tsv)\""
                ),
                format!("az snapshot delete -g {g} -n {snap_name}"),
            ],
        ),
    ];
    Ok(RepairSequence {
        snapshot_name: snap.name,
        steps,
        script,
    })
}

const HEADER: [&str; 5] = [
    "rdpfix: the offline fix, run on the repair VM by",
    "  az vm repair run --run-on-repair --custom-script-file rdpfix-offline.ps1",
    "Puts fixer.exe in place (SHA-256 checked), enrols the key that signed the plan and applies",
    "the signed offline plan to the attached OS disk (fixer apply --offline auto). No param() block",
    "and no exit: the repair driver runs this file appended to its own script and reads its log.",
];

/// The repair script: ASCII, every line of its own output prefixed the way the repair CLI
/// parses (`[Output|Info|Error <time>]`), its status last.
fn repair_script(
    source: &FixerSource,
    key: &PublicKey,
    label: &KeyLabel,
    token: &str,
) -> RepairScript {
    let mut lines: Vec<String> = HEADER.iter().map(|l| format!("# {l}")).collect();
    // The repair CLI's log format: `[Level MM/dd/yyyy HH:mm:ss]message`; the lines after
    // it, unprefixed, belong to the same message.
    lines.push(
        "function Write-RdpfixLog([string]$Level, [string]$Text, [string[]]$More = @()) { \
Write-Output ('[' + $Level + ' ' + (Get-Date).ToString('MM/dd/yyyy HH:mm:ss', [Globalization.CultureInfo]::InvariantCulture) + ']' + $Text); \
foreach ($line in $More) { Write-Output ('    ' + $line) } }"
            .to_owned(),
    );
    lines.push("try {".to_owned());
    let key_text = quote::powershell(&key.to_string());
    let label = quote::powershell(label.as_str());
    let fingerprint = quote::powershell(&key.fingerprint().to_string());
    let body = fetch_statements(source, OnFailure::Throw)
        .into_iter()
        .chain([
            "Write-RdpfixLog 'Info' ('rdpfix: fixer.exe in place: ' + $exe + ', SHA-256 ' + $sha)".to_owned(),
            format!("$said = @(& $exe trust add {key_text} --label {label} --fingerprint {fingerprint} 2>&1 | ForEach-Object {{ [string]$_ }})"),
            "$code = $LASTEXITCODE".to_owned(),
            // A key enrolled by an earlier run is refused as already enrolled: the apply
            // below says whether the plan's signer is trusted.
            "if ($code -eq 0) { $level = 'Output' } else { $level = 'Warning' }".to_owned(),
            "Write-RdpfixLog $level ('rdpfix: fixer trust add, exit ' + $code + ':') $said".to_owned(),
            format!("$plan = {}", quote::powershell(token)),
            "$said = @(& $exe apply --offline auto --yes $plan 2>&1 | ForEach-Object { [string]$_ })".to_owned(),
            "$code = $LASTEXITCODE".to_owned(),
            format!(
                "if ($code -eq 0) {{ \
Write-RdpfixLog 'Output' 'rdpfix: fixer apply --offline auto, exit 0:' $said; \
Write-RdpfixLog 'Output' 'rdpfix: RESULT: APPLIED to the attached disk. Check the lines above, then swap it in: az vm repair restore'; \
Write-Output '{STATUS_SUCCESS}' }} \
else {{ \
Write-RdpfixLog 'Error' ('rdpfix: fixer apply --offline auto, exit ' + $code + ':') $said; \
Write-RdpfixLog 'Error' ('rdpfix: RESULT: NOT APPLIED (exit ' + $code + '; 3: refused, nothing changed by this run - if the refusal above says already applied, an earlier run applied it: run fixer journal here; 4: a step failed, every step undone; 5: undo incomplete, run fixer journal here; 1: applied but NOT READY - a hive left loaded is named above with its reg unload command, or the hive files do not hold the change: do not swap until the lines above are dealt with; any other exit: the fixer stopped - run fixer journal here, then fixer rollback with the plan id it shows, which unloads a hive left loaded first). Do not swap the disk in unless fixer journal shows the plan applied and nothing above says NOT READY.'); \
Write-Output '{STATUS_ERROR}' }}"
            ),
        ]);
    for statement in body {
        lines.push(format!("    {statement}"));
    }
    lines.push("} catch {".to_owned());
    lines.push(
        "    Write-RdpfixLog 'Error' ('rdpfix: RESULT: NOT APPLIED: ' + $_.Exception.Message + ' Do not swap the disk in.')"
            .to_owned(),
    );
    lines.push(format!("    Write-Output '{STATUS_ERROR}'"));
    lines.push("}".to_owned());
    let mut text = lines.join("\n");
    text.push('\n');
    RepairScript {
        file_name: SCRIPT_FILE,
        bytes: text.len(),
        text,
    }
}
