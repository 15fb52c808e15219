//! Each step kind as PowerShell: its precondition (already in the desired state: skipped;
//! in neither the expected nor the desired state: stopped), its backup into `$backup`, its
//! change, on the running machine or, through [`Place`], on the attached disk.

use super::{Place, comment_safe, ps_key};
use crate::plan::allowlist::AllowedStep;
use crate::plan::offline::{certificate_store_key, service_key};
use crate::plan::step::{
    CertificateExpect, Expect, LogonRight, ManualAction, RegistryData, RegistryExpect, StartType,
};
use crate::plan::target::RegistryValue;
use std::fmt::Write;

pub(super) fn body(out: &mut String, n: usize, step: &AllowedStep, place: &Place<'_>) {
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
