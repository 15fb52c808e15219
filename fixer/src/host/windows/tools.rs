//! Where a Windows tool does the job better than reimplementing it: `wevtutil.exe` exports
//! and queries event logs (its XPath dialect and .evtx writer are the real ones), and
//! `schtasks.exe /Create /XML` registers the commit-confirm rollback task. Always by full
//! path under System32, never through PATH.

use super::WindowsHost;
use super::wide::message;
use crate::host::task::{task_name, task_xml};
use crate::host::{FirewallProfile, HostError, HostResult, LogExport, PortListener};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::process::Command;
use windows_sys::Win32::System::SystemInformation::{
    GetSystemDirectoryW, GetSystemWindowsDirectoryW,
};

/// The System32 folder as Windows reports it (`GetSystemDirectoryW`), never from the
/// environment: `SystemRoot` can be set per user (`HKCU\Environment`) by a process of the
/// same user without elevation, and an elevated prompt inherits it.
fn system_dir() -> PathBuf {
    // SAFETY: the buffer is writable for the length passed.
    from_windows(|buf, len| unsafe { GetSystemDirectoryW(buf, len) })
        .unwrap_or_else(|| PathBuf::from(r"C:\Windows\System32"))
}

/// The Windows folder (`GetSystemWindowsDirectoryW`, the shared one on Terminal Server).
fn windows_dir() -> PathBuf {
    // SAFETY: the buffer is writable for the length passed.
    from_windows(|buf, len| unsafe { GetSystemWindowsDirectoryW(buf, len) })
        .unwrap_or_else(|| PathBuf::from(r"C:\Windows"))
}

/// The system drive (`C:`): the Windows folder's, never the `SystemDrive` variable, which a
/// user can set for their own processes.
pub(super) fn system_drive() -> String {
    let windows = windows_dir();
    let text = windows.to_string_lossy();
    match text.get(..2) {
        Some(drive) if drive.ends_with(':') => drive.to_owned(),
        _ => "C:".to_owned(),
    }
}

/// A path from a `Get…DirectoryW` call: it returns the length written (without the NUL), or
/// the size needed (with it) when the buffer is too small, or 0 on failure.
fn from_windows(call: impl Fn(*mut u16, u32) -> u32) -> Option<PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    let mut buf = vec![0u16; 261];
    for _ in 0..2 {
        let len = u32::try_from(buf.len()).ok()?;
        let n = usize::try_from(call(buf.as_mut_ptr(), len)).ok()?;
        if n == 0 {
            return None;
        }
        if n < buf.len() {
            buf.truncate(n);
            return Some(PathBuf::from(std::ffi::OsString::from_wide(&buf)));
        }
        buf.resize(n, 0);
    }
    None
}

fn system32(exe: &str) -> PathBuf {
    system_dir().join(exe)
}

/// Tool output in whatever encoding it came: UTF-16LE (with or without BOM), else UTF-8,
/// else bytes as Latin-1-ish lossy text (an OEM code page).
pub fn decode(bytes: &[u8]) -> String {
    let utf16 = bytes.starts_with(&[0xFF, 0xFE])
        || (bytes.len() >= 4
            && bytes
                .iter()
                .skip(1)
                .step_by(2)
                .take(64)
                .filter(|&&b| b == 0)
                .count()
                > 16);
    if utf16 {
        let body = bytes.strip_prefix(&[0xFF, 0xFE][..]).unwrap_or(bytes);
        let units: Vec<u16> = body
            .chunks_exact(2)
            .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn run(cmd: &mut Command, what: String) -> HostResult<String> {
    let out = cmd
        .output()
        .map_err(|e| HostError::failed(&what, e.to_string().to_lowercase()))?;
    if out.status.success() {
        return Ok(decode(&out.stdout));
    }
    let code = out.status.code().unwrap_or(-1) as u32;
    let stderr = decode(&out.stderr);
    let detail = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_owned);
    Err(HostError::Os {
        what,
        code,
        message: detail.unwrap_or_else(|| message(code)),
    })
}

pub fn wevtutil_export(export: &LogExport, dest: &Path) -> HostResult<()> {
    run(
        Command::new(system32("wevtutil.exe"))
            .arg("epl")
            .arg(&export.channel)
            .arg(dest)
            .arg(format!("/q:{}", export.query))
            .arg("/ow:true"),
        format!("wevtutil epl {}", export.channel),
    )
    .map(drop)
}

pub fn wevtutil_query_text(export: &LogExport, max: u32) -> HostResult<String> {
    run(
        Command::new(system32("wevtutil.exe"))
            .arg("qe")
            .arg(&export.channel)
            .arg(format!("/q:{}", export.query))
            .args(["/f:text", "/rd:true"])
            .arg(format!("/c:{max}")),
        format!("wevtutil qe {}", export.channel),
    )
}

/// Registers the task. Its fixer.exe is a copy of this one in `task_dir` (under
/// `%ProgramFiles%`), which the executor made or judged admin-only just before
/// (`safe_folder::ensure`): a task that runs as SYSTEM must never run a file a user could
/// replace. The copy is written beside and renamed over, so it is never half a file.
pub fn schedule_rollback(host: &WindowsHost, plan_id: &str, deadline: Timestamp) -> HostResult<()> {
    use crate::host::Host;
    let name = task_name(plan_id)?;
    let what = format!("schedule rollback of {plan_id}");
    let exe = host.task_dir().join("fixer.exe");
    let me = std::env::current_exe().map_err(|e| super::io_err(&what, &e))?;
    let mine = std::fs::read(&me).map_err(|e| super::io_err(&what, &e))?;
    if std::fs::read(&exe).ok().as_deref() != Some(mine.as_slice()) {
        let tmp = exe.with_extension("exe.tmp~");
        std::fs::write(&tmp, &mine)
            .and_then(|()| std::fs::rename(&tmp, &exe))
            .map_err(|e| super::io_err(&what, &e))?;
    }
    let xml_path = host.path(&format!("journal/{plan_id}/rollback-task.xml"));
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(
        task_xml(&exe, plan_id, deadline)
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    std::fs::write(&xml_path, bytes).map_err(|e| super::io_err(&what, &e))?;
    run(
        Command::new(system32("schtasks.exe"))
            .args(["/Create", "/TN", &name, "/XML"])
            .arg(&xml_path)
            .arg("/F"),
        what,
    )
    .map(drop)
}

pub fn cancel_rollback(plan_id: &str) -> HostResult<()> {
    let name = task_name(plan_id)?;
    run(
        Command::new(system32("schtasks.exe")).args(["/Delete", "/TN", &name, "/F"]),
        format!("cancel scheduled rollback of {plan_id}"),
    )
    .map(drop)
}

/// The firewall rule ids the fixer may read or change: exactly the allowlist's, so nothing
/// else ever reaches a command line.
fn firewall_rule_id(rule_id: &str) -> HostResult<&'static str> {
    analyzer::plan::FirewallRule::ALL
        .iter()
        .map(|r| r.id())
        .find(|id| *id == rule_id)
        .ok_or_else(|| {
            HostError::refused(
                format!("firewall rule {rule_id}"),
                "not a rule id a plan may name",
            )
        })
}

/// The NetSecurity cmdlets: the documented interface that selects a rule by its rule id
/// (`-Name`, the `InstanceID` of the `MSFT_NetFirewallRule` CIM class they wrap).
/// `INetFwPolicy2` / `INetFwRule` name a built-in rule by its display name, which is
/// localised; calling the CIM class directly would mean COM/WMI by hand from `windows-sys`.
///
/// The child gets no inherited environment: `PSModulePath` (a user's Documents modules
/// folder, or one set in `HKCU\Environment`) could put a planted module before the
/// system's. It gets the Windows folders from Windows, `PSModulePath` = the system's
/// modules only, `TEMP`/`TMP` = the Windows `Temp` folder (admin-writable, where SYSTEM's
/// own temp is; a user's temp folder is writable by that user's unelevated processes) and
/// a `PATH` of the system folders. `module` (under `PSModulePath`) is imported by its full
/// path first, so its cmdlets are the system's even if auto-loading looked elsewhere.
fn powershell(module: &str, script: &str, what: String) -> HostResult<String> {
    let windows = windows_dir();
    let system = system_dir();
    let ps_home = system.join(r"WindowsPowerShell\v1.0");
    let modules = ps_home.join("Modules");
    let temp = windows.join("Temp");
    let path = std::env::join_paths([
        system.clone(),
        windows.clone(),
        system.join("Wbem"),
        ps_home.clone(),
    ])
    .unwrap_or_else(|_| system.clone().into_os_string());
    let import = format!(
        "Import-Module -Name '{}' -ErrorAction Stop; ",
        modules
            .join(module)
            .display()
            .to_string()
            .replace('\'', "''")
    );
    run(
        Command::new(ps_home.join("powershell.exe"))
            .env_clear()
            .env("SystemRoot", &windows)
            .env("windir", &windows)
            .env("PSModulePath", &modules)
            .env("TEMP", &temp)
            .env("TMP", &temp)
            .env("PATH", path)
            .env("ComSpec", system.join("cmd.exe"))
            .args([
                "-NoProfile",
                "-NonInteractive",
                "-ExecutionPolicy",
                "Bypass",
            ])
            .args(["-Command", &format!("{import}{script}")]),
        what,
    )
}

pub fn firewall_rule_enabled(rule_id: &str) -> HostResult<Option<bool>> {
    let id = firewall_rule_id(rule_id)?;
    let what = format!("firewall rule {id}");
    let out = powershell(
        "NetSecurity",
        &format!(
            "$r = Get-NetFirewallRule -Name '{id}' -ErrorAction SilentlyContinue; \
             if ($r) {{ [string]$r.Enabled }} else {{ 'absent' }}"
        ),
        what.clone(),
    )?;
    match out.trim() {
        "True" => Ok(Some(true)),
        "False" => Ok(Some(false)),
        "absent" => Ok(None),
        other => Err(HostError::failed(
            what,
            format!("unexpected answer {other:?}"),
        )),
    }
}

pub fn firewall_rule_set_enabled(rule_id: &str, enabled: bool) -> HostResult<()> {
    let id = firewall_rule_id(rule_id)?;
    let value = if enabled { "True" } else { "False" };
    powershell(
        "NetSecurity",
        &format!("Set-NetFirewallRule -Name '{id}' -Enabled {value} -ErrorAction Stop"),
        format!("firewall rule {id} enabled= {value}"),
    )
    .map(drop)
}

/// `Get-NetFirewallProfile`: each profile's state and default inbound action
/// (`NotConfigured` is block: what Windows does).
pub fn firewall_profiles() -> HostResult<Vec<FirewallProfile>> {
    let what = "firewall profiles".to_owned();
    let out = powershell(
        "NetSecurity",
        "Get-NetFirewallProfile | ForEach-Object { '{0}|{1}|{2}' -f $_.Name, $_.Enabled, \
         $_.DefaultInboundAction }",
        what.clone(),
    )?;
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(
            |line| match line.split('|').collect::<Vec<_>>().as_slice() {
                [name, enabled, inbound] => Ok(FirewallProfile {
                    name: (*name).to_owned(),
                    enabled: *enabled == "True",
                    inbound_block: *inbound != "Allow",
                }),
                _ => Err(HostError::failed(
                    &what,
                    format!("unexpected line {line:?}"),
                )),
            },
        )
        .collect()
}

/// `Get-NetTCPConnection -State Listen`: the first process listening on `port`, its name
/// and the services it hosts.
pub fn port_listener(port: u16) -> HostResult<Option<PortListener>> {
    let what = format!("listener of TCP port {port}");
    let out = powershell(
        "NetTCPIP",
        &format!(
            "$c = Get-NetTCPConnection -LocalPort {port} -State Listen -ErrorAction \
             SilentlyContinue | Select-Object -First 1; if ($c) {{ $id = $c.OwningProcess; \
             $p = (Get-Process -Id $id -ErrorAction SilentlyContinue).ProcessName; \
             $s = @(Get-CimInstance Win32_Service -Filter \"ProcessId=$id\" | ForEach-Object \
             {{ $_.Name }}) -join ','; '{{0}}|{{1}}|{{2}}' -f $id, $p, $s }} else {{ 'none' }}"
        ),
        what.clone(),
    )?;
    let line = out.trim();
    if line == "none" {
        return Ok(None);
    }
    match line.split('|').collect::<Vec<_>>().as_slice() {
        [pid, process, services] => Ok(Some(PortListener {
            pid: pid
                .parse()
                .map_err(|_| HostError::failed(&what, format!("unexpected answer {line:?}")))?,
            process: (*process).to_owned(),
            services: services
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })),
        _ => Err(HostError::failed(
            what,
            format!("unexpected answer {line:?}"),
        )),
    }
}
