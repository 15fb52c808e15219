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

use super::allowlist::AllowedStep;
use super::labels::Labels;
use super::offline::{OfflineForm, OfflineHive, certificate_store_key, service_key};
use super::payload::{OfflineTarget, Plan};
use super::step::StartType;
use super::step::{
    CertificateExpect, Expect, LogonRight, ManualAction, RegistryData, RegistryExpect,
};
use super::target::{AclTarget, RegistryValue};
use std::fmt::Write;

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

fn body(out: &mut String, n: usize, step: &AllowedStep, place: &Place<'_>) {
    match step {
        AllowedStep::SaveAcl { target } => {
            let _ = writeln!(
                out,
                "# icacls /save keeps permissions, not owners (fixer.exe saves both as SDDL)."
            );
            let _ = writeln!(
                out,
                "icacls {} /save \"$backup\\step{n}-acl.txt\" /t /c | Out-Null",
                place.acl_path(*target)
            );
            let _ = writeln!(
                out,
                "icacls {} /t /c > \"$backup\\step{n}-acl-readable.txt\"",
                place.acl_path(*target)
            );
        }
        AllowedStep::TakeOwnership { target, owner } => {
            let flag = if owner.as_sid() == "S-1-5-32-544" {
                " /a"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "icacls {} /save \"$backup\\step{n}-acl.txt\" /c | Out-Null",
                place.acl_path(*target)
            );
            let _ = writeln!(
                out,
                "takeown /f {}{flag} | Out-Null",
                place.acl_path(*target)
            );
            let _ = writeln!(out, "Test-Native {n} 'takeown'");
        }
        AllowedStep::GrantAccess { target, grants } => {
            let list: Vec<String> = grants
                .iter()
                .map(|g| format!("'{}:{}'", g.sid.as_icacls(), g.rights.as_icacls()))
                .collect();
            let _ = writeln!(
                out,
                "icacls {} /save \"$backup\\step{n}-acl.txt\" /c | Out-Null",
                place.acl_path(*target)
            );
            let _ = writeln!(
                out,
                "icacls {} /grant {} | Out-Null",
                place.acl_path(*target),
                list.join(" ")
            );
            let _ = writeln!(out, "Test-Native {n} 'icacls /grant'");
        }
        AllowedStep::ExportDeleteCertificates { store, expect } if place.is_disk() => {
            disk_certificates(out, n, &place.reg(certificate_store_key(*store)), expect);
        }
        AllowedStep::ExportDeleteCertificates { store, expect } => {
            let _ = writeln!(
                out,
                "$certs = @(Get-ChildItem -LiteralPath '{}')",
                store.path()
            );
            if let CertificateExpect::Thumbprint(t) = expect {
                let _ = writeln!(
                    out,
                    "if (-not ($certs | Where-Object Thumbprint -eq '{t}')) {{ throw 'step {n}: certificate {t} is not in {}' }}",
                    store.path()
                );
            }
            let _ = writeln!(out, "foreach ($cert in $certs) {{");
            let _ = writeln!(
                out,
                "    Export-Certificate -Cert $cert -FilePath \"$backup\\step{n}-$($cert.Thumbprint).cer\" | Out-Null"
            );
            let _ = writeln!(out, "    Remove-Item -LiteralPath $cert.PSPath");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::RestartService { service } => {
            let _ = writeln!(out, "Restart-Service -Name '{}' -Force", service.name());
        }
        AllowedStep::SetServiceStart {
            service,
            desired,
            expect,
        } if place.is_disk() => {
            disk_service_start(out, n, &place.reg(&service_key(*service)), *desired, expect);
        }
        AllowedStep::SetServiceStart {
            service,
            desired,
            expect,
        } => {
            let name = service.name();
            let _ = writeln!(out, "$start = (Get-Service -Name '{name}').StartType");
            let _ = writeln!(
                out,
                "if ($start -eq '{}') {{ Write-Host 'step {n}: already {}' }} else {{",
                desired.as_powershell(),
                desired.as_powershell()
            );
            if let Expect::Equals(expected) = expect {
                let _ = writeln!(
                    out,
                    "    if ($start -ne '{}') {{ throw \"step {n}: {name} starts $start, the plan expected {}\" }}",
                    expected.as_powershell(),
                    expected.as_powershell()
                );
            }
            let _ = writeln!(
                out,
                "    \"{name}|$start\" | Set-Content -LiteralPath \"$backup\\step{n}-start.txt\""
            );
            let _ = writeln!(
                out,
                "    sc.exe config '{name}' start= {} | Out-Null",
                desired.as_sc()
            );
            let _ = writeln!(out, "    Test-Native {n} 'sc.exe config'");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::SetServiceAccount {
            service,
            desired,
            expect,
        } => {
            let name = service.name();
            let _ = writeln!(
                out,
                "$account = (Get-CimInstance Win32_Service -Filter \"Name='{name}'\").StartName"
            );
            let _ = writeln!(
                out,
                "if ($account -eq '{}') {{ Write-Host 'step {n}: already {}' }} else {{",
                desired.as_sc(),
                desired.as_sc()
            );
            if let Expect::Equals(expected) = expect {
                let _ = writeln!(
                    out,
                    "    if ($account -ne '{}') {{ throw \"step {n}: {name} logs on as $account, the plan expected {}\" }}",
                    expected.as_sc(),
                    expected.as_sc()
                );
            }
            let _ = writeln!(
                out,
                "    \"{name}|$account\" | Set-Content -LiteralPath \"$backup\\step{n}-account.txt\""
            );
            let _ = writeln!(
                out,
                "    sc.exe config '{name}' obj= '{}' | Out-Null",
                desired.as_sc()
            );
            let _ = writeln!(out, "    Test-Native {n} 'sc.exe config'");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::QueryRegistryValue { value } => {
            let _ = writeln!(
                out,
                "$value = Get-RegValue '{}' '{}'",
                ps_key(&place.reg(value.key())),
                value.name()
            );
            let _ = writeln!(
                out,
                "if ($null -eq $value) {{ Write-Host 'step {n}: {} is not set' }} else {{ Write-Host 'step {n}: {} =' (@($value | ForEach-Object {{ if ($_ -is [byte]) {{ '{{0:X2}}' -f $_ }} else {{ $_ }} }}) -join '') }}",
                value.name(),
                value.name()
            );
        }
        AllowedStep::SetRegistryValue {
            value,
            desired,
            expect,
        } => {
            registry_change(out, n, *value, Some(desired), expect, place);
        }
        AllowedStep::DeleteRegistryValue { value, expect } => {
            registry_change(out, n, *value, None, expect, place);
        }
        AllowedStep::EnableTlsServerProtocol { protocol } => {
            let reg = place.reg(protocol.server_key());
            let key = ps_key(&reg);
            let _ = writeln!(
                out,
                "if ((Get-RegValue '{key}' 'Enabled') -eq 1 -and (Get-RegValue '{key}' 'DisabledByDefault') -eq 0) {{ Write-Host 'step {n}: {protocol} is already enabled for servers' }} else {{"
            );
            let _ = writeln!(
                out,
                "    Save-RegValue '{key}' 'Enabled' \"$backup\\step{n}-Enabled.txt\""
            );
            let _ = writeln!(
                out,
                "    Save-RegValue '{key}' 'DisabledByDefault' \"$backup\\step{n}-DisabledByDefault.txt\""
            );
            let _ = writeln!(
                out,
                "    reg add '{reg}' /v Enabled /t REG_DWORD /d 1 /f | Out-Null"
            );
            let _ = writeln!(out, "    Test-Native {n} 'reg add'");
            let _ = writeln!(
                out,
                "    reg add '{reg}' /v DisabledByDefault /t REG_DWORD /d 0 /f | Out-Null"
            );
            let _ = writeln!(out, "    Test-Native {n} 'reg add'");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::StartService { service } => {
            let name = service.name();
            let _ = writeln!(out, "$status = (Get-Service -Name '{name}').Status");
            let _ = writeln!(
                out,
                "if ($status -eq 'Running') {{ Write-Host 'step {n}: {name} is already running' }} else {{"
            );
            let _ = writeln!(
                out,
                "    \"{name}|$status\" | Set-Content -LiteralPath \"$backup\\step{n}-state.txt\""
            );
            let _ = writeln!(out, "    Start-Service -Name '{name}'");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::AddGroupMember { group, member } => {
            let _ = writeln!(
                out,
                "# Get-LocalGroupMember / Add-LocalGroupMember: Windows Server 2016 or later."
            );
            let _ = writeln!(out, "$group = Get-LocalGroup -SID '{}'", group.sid());
            let _ = writeln!(
                out,
                "$members = @(Get-LocalGroupMember -Group $group | ForEach-Object {{ $_.SID.Value }})"
            );
            let _ = writeln!(
                out,
                "if ($members -contains '{member}') {{ Write-Host 'step {n}: {member} is already a member' }} else {{"
            );
            let _ = writeln!(
                out,
                "    $members -join ',' | Set-Content -LiteralPath \"$backup\\step{n}-members.txt\""
            );
            let _ = writeln!(
                out,
                "    Add-LocalGroupMember -Group $group -Member '{member}'"
            );
            let _ = writeln!(out, "}}");
        }
        AllowedStep::GrantLogonRight { sid, right } => {
            logon_right(out, n, sid.as_str(), *right, true);
        }
        AllowedStep::RevokeLogonRight { sid, right } => {
            logon_right(out, n, sid.as_str(), *right, false);
        }
        AllowedStep::EnableFirewallRule { rule } => {
            let id = rule.id();
            let _ = writeln!(out, "$rule = Get-NetFirewallRule -Name '{id}'");
            let _ = writeln!(
                out,
                "if ($rule.Enabled -eq 'True') {{ Write-Host 'step {n}: {id} is already enabled' }} else {{"
            );
            let _ = writeln!(
                out,
                "    \"{id}|$($rule.Enabled)\" | Set-Content -LiteralPath \"$backup\\step{n}-rule.txt\""
            );
            let _ = writeln!(out, "    Enable-NetFirewallRule -Name '{id}'");
            let _ = writeln!(out, "}}");
        }
        AllowedStep::Manual { action } => {
            let _ = writeln!(
                out,
                "# MANUAL: neither this script nor fixer.exe does this. What to do:"
            );
            for line in action.instructions() {
                let _ = writeln!(out, "#   {}", comment_safe(line));
            }
            let note = match action {
                ManualAction::RestartComputer => "restart the VM when the script has finished",
                _ => "manual; see the comments in this script",
            };
            let _ = writeln!(out, "Write-Host 'step {n}: {note}'");
        }
    }
}

/// A logon right granted to (`grant`) or revoked from `sid`, through `secedit`: export the
/// user rights (the backup), then configure the one line with the SID added or removed.
fn logon_right(out: &mut String, n: usize, sid: &str, right: LogonRight, grant: bool) {
    let name = right.as_str();
    let _ = writeln!(
        out,
        "secedit /export /cfg \"$backup\\step{n}-rights.inf\" /areas USER_RIGHTS | Out-Null"
    );
    let _ = writeln!(out, "Test-Native {n} 'secedit /export'");
    let _ = writeln!(
        out,
        "$line = Select-String -LiteralPath \"$backup\\step{n}-rights.inf\" -Pattern '^{name}\\s*=' | Select-Object -First 1"
    );
    let _ = writeln!(
        out,
        "$holders = @(if ($line) {{ ($line.Line -split '=', 2)[1].Split(',') | ForEach-Object {{ $_.Trim() }} | Where-Object {{ $_ }} }})"
    );
    let (compliant, already, holders) = if grant {
        (
            format!("$holders -contains '*{sid}'"),
            "already holds",
            format!("@($holders) + '*{sid}'"),
        )
    } else {
        (
            format!("$holders -notcontains '*{sid}'"),
            "already lacks",
            format!("@($holders | Where-Object {{ $_ -ne '*{sid}' }})"),
        )
    };
    let _ = writeln!(
        out,
        "if ({compliant}) {{ Write-Host 'step {n}: {sid} {already} {name}' }} else {{"
    );
    let _ = writeln!(out, "    $new = ({holders}) -join ','");
    let _ = writeln!(
        out,
        "    \"[Unicode]`r`nUnicode=yes`r`n[Version]`r`nsignature=`\"`$CHICAGO`$`\"`r`nRevision=1`r`n[Privilege Rights]`r`n{name} = $new\" | Set-Content -LiteralPath \"$backup\\step{n}-apply.inf\" -Encoding Unicode"
    );
    let _ = writeln!(
        out,
        "    secedit /configure /db \"$backup\\step{n}.sdb\" /cfg \"$backup\\step{n}-apply.inf\" /areas USER_RIGHTS | Out-Null"
    );
    let _ = writeln!(out, "    Test-Native {n} 'secedit /configure'");
    let _ = writeln!(out, "}}");
}

/// A registry value set (`desired: Some`) or deleted (`None`), with its precondition.
fn registry_change(
    out: &mut String,
    n: usize,
    value: RegistryValue,
    desired: Option<&RegistryData>,
    expect: &RegistryExpect,
    place: &Place<'_>,
) {
    let reg = place.reg(value.key());
    let key = ps_key(&reg);
    let name = value.name();
    let _ = writeln!(out, "$current = Get-RegValue '{key}' '{name}'");
    let compliant = match desired {
        Some(data) => ps_equals("$current", data),
        None => "$null -eq $current".to_owned(),
    };
    let already = match desired {
        Some(data) => format!("already {data}"),
        None => "already absent".to_owned(),
    };
    let _ = writeln!(
        out,
        "if ({compliant}) {{ Write-Host 'step {n}: {name} is {already}' }} else {{"
    );
    match expect {
        RegistryExpect::Any => {}
        RegistryExpect::Absent => {
            let _ = writeln!(
                out,
                "    if ($null -ne $current) {{ throw 'step {n}: {name} exists, the plan expected it absent' }}"
            );
        }
        RegistryExpect::Equals(data) => {
            let _ = writeln!(
                out,
                "    if (-not ({})) {{ throw 'step {n}: {name} is not {data} as the plan expected' }}",
                ps_equals("$current", data)
            );
        }
    }
    let _ = writeln!(
        out,
        "    Save-RegValue '{key}' '{name}' \"$backup\\step{n}-{}.txt\"",
        name.replace(' ', "_")
    );
    match desired {
        Some(RegistryData::Dword(d)) => {
            let _ = writeln!(
                out,
                "    reg add '{reg}' /v '{name}' /t REG_DWORD /d {d} /f | Out-Null"
            );
        }
        Some(RegistryData::Binary(bytes)) => {
            let _ = writeln!(
                out,
                "    reg add '{reg}' /v '{name}' /t REG_BINARY /d {bytes} /f | Out-Null"
            );
        }
        None => {
            let _ = writeln!(out, "    reg delete '{reg}' /v '{name}' /f | Out-Null");
        }
    }
    let _ = writeln!(out, "    Test-Native {n} 'reg'");
    let _ = writeln!(out, "}}");
}

/// A PowerShell test that `$var` holds `data`.
fn ps_equals(var: &str, data: &RegistryData) -> String {
    match data {
        // .NET reads a REG_DWORD as a signed Int32: 4294967295 comes back as -1.
        RegistryData::Dword(d) => format!(
            "{var} -is [int] -and {var} -eq {}",
            i32::from_ne_bytes(d.to_ne_bytes())
        ),
        RegistryData::Binary(bytes) => format!(
            "{var} -is [byte[]] -and (($({var} | ForEach-Object {{ '{{0:X2}}' -f $_ }})) -join '') -eq '{bytes}'"
        ),
    }
}

/// A service's start type on the disk: its key's `Start` value (2 automatic, 3 manual, 4
/// disabled), as Windows reads it when the disk boots.
fn disk_service_start(
    out: &mut String,
    n: usize,
    reg: &str,
    desired: StartType,
    expect: &Expect<StartType>,
) {
    let start = |t: StartType| match t {
        StartType::Automatic => 2,
        StartType::Manual => 3,
        StartType::Disabled => 4,
    };
    let key = ps_key(reg);
    let want = start(desired);
    let _ = writeln!(out, "$start = Get-RegValue '{key}' 'Start'");
    let _ = writeln!(
        out,
        "if ($start -eq {want}) {{ Write-Host 'step {n}: already {}' }} else {{",
        desired.as_powershell()
    );
    if let Expect::Equals(expected) = expect {
        let _ = writeln!(
            out,
            "    if ($start -ne {}) {{ throw \"step {n}: Start is $start, the plan expected {} ({})\" }}",
            start(*expected),
            start(*expected),
            expected.as_powershell()
        );
    }
    let _ = writeln!(
        out,
        "    Save-RegValue '{key}' 'Start' \"$backup\\step{n}-Start.txt\""
    );
    let _ = writeln!(
        out,
        "    reg add '{reg}' /v Start /t REG_DWORD /d {want} /f | Out-Null"
    );
    let _ = writeln!(out, "    Test-Native {n} 'reg add'");
    let _ = writeln!(out, "}}");
}

/// The Remote Desktop store on the disk: one subkey per certificate under the loaded
/// SOFTWARE hive, each exported (`reg export`) before it is deleted.
fn disk_certificates(out: &mut String, n: usize, reg: &str, expect: &CertificateExpect) {
    let key = ps_key(reg);
    let _ = writeln!(
        out,
        "$certs = @(Get-ChildItem -LiteralPath '{key}' -ErrorAction SilentlyContinue)"
    );
    if let CertificateExpect::Thumbprint(t) = expect {
        let _ = writeln!(
            out,
            "if (-not ($certs | Where-Object PSChildName -eq '{t}')) {{ throw 'step {n}: certificate {t} is not in the store on the disk' }}"
        );
    }
    let _ = writeln!(out, "foreach ($cert in $certs) {{");
    let _ = writeln!(
        out,
        "    reg export ('{reg}\\' + $cert.PSChildName) \"$backup\\step{n}-$($cert.PSChildName).reg\" /y | Out-Null"
    );
    let _ = writeln!(out, "    Test-Native {n} 'reg export'");
    let _ = writeln!(out, "    Remove-Item -LiteralPath $cert.PSPath -Recurse");
    let _ = writeln!(out, "}}");
}
