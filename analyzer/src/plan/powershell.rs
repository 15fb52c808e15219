//! The plan as a PowerShell script: for review before signing, and for admins who apply the
//! fix by hand without `fixer.exe`.
//!
//! It renders the typed steps one by one, in the plan's order, with the same
//! preconditions (a step whose target is already in the desired state is skipped; one
//! that is in neither the expected nor the desired state stops the script) and a backup
//! before each change. Every string in it comes from the allowlist's constants or from
//! validated plan values (hex ids, timestamps, a host name of letters, digits, `-`, `_`
//! and `.`); no log text ever reaches it. Windows PowerShell 5.1, elevated.
//!
//! A plan for an OS disk attached to a rescue VM (`Plan::target.offline`) is rendered for
//! that rescue VM: the disk's drive set at the top, its SYSTEM and SOFTWARE hives loaded
//! with `reg load` under the plan's mount names, the disk checked to be the plan's (its
//! MachineGuid, `Select\Current`, its computer name), every registry step written on the
//! loaded hive's control set, file steps on the disk's `ProgramData`, and the hives
//! unloaded in a `finally`, on failure too.
//!
//! Here is the script around the steps (where they act, its header, the hives' load and
//! unload); `steps.rs` writes each step kind's commands.

use super::allowlist::AllowedStep;
use super::labels::Labels;
use super::offline::{OfflineForm, OfflineHive};
use super::payload::{OfflineTarget, Plan};
use super::target::AclTarget;
use std::fmt::Write;

mod steps;

use steps::body;

/// Renders `steps` (the plan's steps in typed form) as a script.
pub fn render(plan: &Plan, steps: &[AllowedStep]) -> String {
    let place = Place::of(plan);
    let mut out = String::new();
    header(&mut out, plan, &place);
    let total = steps.len();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "# --- Step {n} of {total}: {}",
            comment_safe(&step.summary())
        );
        labels_comment(&mut out, &step.labels());
        if place.has_place(n, step, &mut out) {
            body(&mut out, n, step, &place);
        }
    }
    if let Place::Disk { .. } = place {
        unload(&mut out);
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Write-Host 'rdpfix: all {total} steps done; backups are in' $backup"
    );
    out
}

/// Where the plan's steps act: the running machine, or the OS disk attached to a rescue
/// VM, its hives loaded under the plan's mount names.
enum Place<'a> {
    Running,
    Disk {
        target: &'a OfflineTarget,
        system: String,
        software: String,
    },
}

impl<'a> Place<'a> {
    fn of(plan: &'a Plan) -> Place<'a> {
        match &plan.target.offline {
            None => Place::Running,
            Some(target) => Place::Disk {
                target,
                system: OfflineHive::System.mount(&plan.plan_id),
                software: OfflineHive::Software.mount(&plan.plan_id),
            },
        }
    }

    /// `key` (`HKLM\…` as the running machine spells it) where the steps write it: itself,
    /// or in the loaded hive of the disk. `None`: it has no place on the disk.
    fn key(&self, key: &str) -> Option<String> {
        match self {
            Place::Running => Some(key.to_owned()),
            Place::Disk {
                target,
                system,
                software,
            } => target.hive_key(key).map(|(hive, path)| {
                let mount = match hive {
                    OfflineHive::System => system,
                    OfflineHive::Software => software,
                };
                format!(r"HKLM\{mount}\{path}")
            }),
        }
    }

    fn is_disk(&self) -> bool {
        matches!(self, Place::Disk { .. })
    }

    /// [`Place::key`] of a key [`Place::has_place`] found a place for.
    fn reg(&self, key: &str) -> String {
        self.key(key)
            .unwrap_or_else(|| format!(r"HKLM\rdpfix-no-place\{key}"))
    }

    fn acl_path(&self, target: AclTarget) -> String {
        let root = match self {
            Place::Running => "$env:ProgramData",
            Place::Disk { .. } => "$disk\\ProgramData",
        };
        format!("\"{root}\\{}\"", target.relative_to_program_data())
    }

    /// Whether step `n` can be rendered here; on the disk, a step without an offline form
    /// (a plan for a disk never holds one) or whose key has no place there stops the
    /// script instead.
    fn has_place(&self, n: usize, step: &AllowedStep, out: &mut String) -> bool {
        if let Place::Running = self {
            return true;
        }
        let why = match step.offline() {
            OfflineForm::LeftOut { why } => why.text().to_owned(),
            OfflineForm::Registry { key, .. } if self.key(&key).is_none() => {
                format!("{key} has no place on the attached disk")
            }
            _ => return true,
        };
        let _ = writeln!(out, "# NOT ON AN ATTACHED DISK: {}", comment_safe(&why));
        let _ = writeln!(
            out,
            "throw 'step {n}: this step has no form on an attached disk'"
        );
        false
    }
}

fn header(out: &mut String, plan: &Plan, place: &Place<'_>) {
    let findings: Vec<&str> = plan.findings.iter().map(|f| f.as_str()).collect();
    let (target, about, check) = match place {
        Place::Running => (
            format!("for computer {}", plan.target.computer),
            "\
# The steps fixer.exe applies from the signed plan, written out for review or for running
# by hand in an elevated Windows PowerShell on the VM. fixer.exe also verifies the
# signature, journals every change and rolls back on failure; this script stops at the
# first error and leaves the backups in $backup for you to restore."
                .to_owned(),
            "\
$names = @($env:COMPUTERNAME, [System.Net.Dns]::GetHostEntry('').HostName)
if ($names -notcontains $computer -and $names -notcontains $computer.Split('.')[0]) {
    throw \"this plan is for $computer, not $($names -join ' / ')\"
}"
            .to_owned(),
        ),
        Place::Disk {
            target,
            system,
            software,
        } => (
            format!(
                "for the OS disk of computer {} attached to a rescue VM (MachineGuid {}, {})",
                plan.target.computer,
                target.machine_guid,
                target.control_set_key()
            ),
            format!(
                "\
# The steps `fixer apply --offline` applies from the signed plan, written out for review or
# for running by hand in an elevated Windows PowerShell on the rescue VM. They edit the
# disk's SYSTEM and SOFTWARE hives loaded with `reg load` as HKLM\\{system} and
# HKLM\\{software} (unloaded at the end, on failure too), and its files. fixer.exe
# also verifies the signature, refuses a dirty hive, journals every change and rolls back
# on failure; this script stops at the first error and leaves the backups in $backup.
# Each step below names its key as the running VM spells it (HKLM\\SYSTEM\\CurrentControlSet);
# it writes it in the loaded hive, under the control set the plan names."
            ),
            "\
# The drive the disk is attached at on this rescue VM: check it (Get-Volume) and set it here.
$disk = 'F:'
if (-not (Test-Path -LiteralPath \"$disk\\Windows\\System32\\config\\SYSTEM\")) {
    throw \"no Windows at ${disk}: set `$disk to the attached OS disk's drive\"
}"
            .to_owned(),
        ),
    };
    let _ = write!(
        out,
        "\
# rdpfix remediation plan {id}
# {target}; issued {issued}; valid until {expires}
# findings: {findings}
# analyzer {version}; evidence sha256 {evidence}
#
{about}
#Requires -RunAsAdministrator
$ErrorActionPreference = 'Stop'
$plan = '{id}'
$computer = '{computer}'
{check}
$backup = Join-Path $env:ProgramData \"rdpfix\\manual\\$plan\"
New-Item -ItemType Directory -Force -Path $backup | Out-Null

function Get-RegValue([string]$Key, [string]$Name) {{
    $item = Get-Item -LiteralPath $Key -ErrorAction SilentlyContinue
    if ($item -and ($item.GetValueNames() -contains $Name)) {{ , $item.GetValue($Name) }} else {{ $null }}
}}

function Save-RegValue([string]$Key, [string]$Name, [string]$File) {{
    $item = Get-Item -LiteralPath $Key -ErrorAction SilentlyContinue
    if ($item -and ($item.GetValueNames() -contains $Name)) {{
        $data = $item.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
        '{{0}}|{{1}}|{{2}}' -f $Name, $item.GetValueKind($Name), (@($data) -join ',') | Set-Content -LiteralPath $File
    }} else {{
        \"$Name|absent\" | Set-Content -LiteralPath $File
    }}
}}

function Test-Native([int]$Step, [string]$What) {{
    if ($LASTEXITCODE -ne 0) {{ throw \"step ${{Step}}: $What failed (exit code $LASTEXITCODE)\" }}
}}
",
        id = plan.plan_id,
        computer = plan.target.computer,
        issued = plan.issued_at,
        expires = plan.expires_at,
        findings = findings.join(", "),
        version = plan.analyzer_version,
        evidence = plan.evidence_sha256,
    );
    if let Place::Disk {
        target,
        system,
        software,
    } = place
    {
        load(out, target, system, software);
    }
}

/// Loads the disk's hives (SYSTEM before the `try`, so that a failure past it unloads it),
/// and checks that the disk is the plan's: its MachineGuid, the control set
/// `Select\Current` names, its computer name.
fn load(out: &mut String, target: &OfflineTarget, system: &str, software: &str) {
    let set = target.control_set_key();
    let _ = write!(
        out,
        "
$system = 'HKLM\\{system}'
$software = 'HKLM\\{software}'
$mounts = @(@($software, 'HKLM:\\{software}'), @($system, 'HKLM:\\{system}'))
$stuck = @()
reg load $system \"$disk\\Windows\\System32\\config\\SYSTEM\" | Out-Null
if ($LASTEXITCODE -ne 0) {{ throw \"reg load of the disk's SYSTEM hive failed (exit code $LASTEXITCODE)\" }}
try {{
reg load $software \"$disk\\Windows\\System32\\config\\SOFTWARE\" | Out-Null
if ($LASTEXITCODE -ne 0) {{ throw \"reg load of the disk's SOFTWARE hive failed (exit code $LASTEXITCODE)\" }}
$guid = Get-RegValue 'HKLM:\\{software}\\Microsoft\\Cryptography' 'MachineGuid'
if ($guid -ne '{guid}') {{ throw \"the disk at $disk is the Windows with MachineGuid $guid, not the plan's {guid}\" }}
$selected = Get-RegValue 'HKLM:\\{system}\\Select' 'Current'
if ($selected -ne {n}) {{ throw \"the disk boots from control set $selected, the plan was made for {set}\" }}
$name = Get-RegValue 'HKLM:\\{system}\\{set}\\Control\\ComputerName\\ComputerName' 'ComputerName'
if ($name -ne $computer -and $name -ne $computer.Split('.')[0]) {{ throw \"the disk's Windows is $name, the plan is for $computer\" }}
",
        guid = target.machine_guid,
        n = target.control_set,
    );
}

/// The end of the `try` [`load`] opened: both hives unloaded whatever happened. The
/// registry keys PowerShell opened are closed by their finalizers, so the collection waits
/// for them; a hive still held is retried, and one that stays loaded is said on stderr
/// (and, when the steps succeeded, ends the script with that error): a disk whose hive was
/// never unloaded must not be swapped in. A hive never loaded is skipped.
fn unload(out: &mut String) {
    let _ = write!(
        out,
        "
}} finally {{
    foreach ($mount in $mounts) {{
        $hive, $path = $mount
        foreach ($try in 1..5) {{
            if (-not (Test-Path -LiteralPath $path)) {{ break }}
            [GC]::Collect(); [GC]::WaitForPendingFinalizers()
            cmd.exe /c \"reg unload $hive >nul 2>&1\"
            if ($LASTEXITCODE -ne 0) {{ Start-Sleep -Seconds 1 }}
        }}
        if (Test-Path -LiteralPath $path) {{ $stuck += $hive }}
    }}
    if ($stuck) {{
        [Console]::Error.WriteLine(\"NOT UNLOADED: $($stuck -join ', '). Close what holds it and run: reg unload <name>. Do not swap the disk in before.\")
    }}
}}
if ($stuck) {{ throw \"NOT UNLOADED: $($stuck -join ', ')\" }}
"
    );
}

fn labels_comment(out: &mut String, labels: &Labels) {
    let tags = labels.tags();
    let _ = writeln!(out, "#     {}", tags.join(" | "));
    for caveat in &labels.caveats {
        let _ = writeln!(out, "#     ! {}", comment_safe(caveat.text()));
    }
}

/// Comments are single lines: no line breaks can come from the texts, but make sure.
fn comment_safe(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// `HKLM\X` → `HKLM:\X`, the registry drive PowerShell's cmdlets take.
fn ps_key(key: &str) -> String {
    format!("HKLM:\\{}", key.trim_start_matches("HKLM\\"))
}
