//! The service control manager: status, start type, stop and start with waits.

use super::wide::{from_wide_ptr, last_error, os_error, wide};
use crate::host::{HostError, HostResult, ServiceState, ServiceStatus, StartType};
use std::time::{Duration, Instant};
use windows_sys::Win32::Foundation::{
    ERROR_INSUFFICIENT_BUFFER, ERROR_INVALID_LEVEL, ERROR_MORE_DATA, ERROR_SERVICE_NOT_ACTIVE,
};
use windows_sys::Win32::System::Services::{
    ChangeServiceConfig2W, ChangeServiceConfigW, CloseServiceHandle, ControlService,
    ENUM_SERVICE_STATUSW, EnumDependentServicesW, OpenSCManagerW, OpenServiceW,
    QUERY_SERVICE_CONFIGW, QueryServiceConfig2W, QueryServiceConfigW, QueryServiceStatusEx,
    SC_HANDLE, SC_MANAGER_CONNECT, SC_STATUS_PROCESS_INFO, SERVICE_ACTIVE, SERVICE_AUTO_START,
    SERVICE_BOOT_START, SERVICE_CHANGE_CONFIG, SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
    SERVICE_CONTROL_STOP, SERVICE_DELAYED_AUTO_START_INFO, SERVICE_DEMAND_START, SERVICE_DISABLED,
    SERVICE_ENUMERATE_DEPENDENTS, SERVICE_NO_CHANGE, SERVICE_QUERY_CONFIG, SERVICE_QUERY_STATUS,
    SERVICE_START, SERVICE_STATE_ALL, SERVICE_STATUS, SERVICE_STATUS_PROCESS, SERVICE_STOP,
    SERVICE_SYSTEM_START, StartServiceW,
};

struct Handle(SC_HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: a handle from OpenSCManagerW/OpenServiceW, closed once.
        unsafe { CloseServiceHandle(self.0) };
    }
}

fn open(name: &str, access: u32) -> HostResult<Handle> {
    // SAFETY: local machine, default database.
    let scm = unsafe { OpenSCManagerW(std::ptr::null(), std::ptr::null(), SC_MANAGER_CONNECT) };
    if scm.is_null() {
        return Err(last_error("OpenSCManagerW"));
    }
    let scm = Handle(scm);
    let w = wide(name);
    // SAFETY: open manager handle, NUL-terminated name.
    let svc = unsafe { OpenServiceW(scm.0, w.as_ptr(), access) };
    if svc.is_null() {
        return Err(last_error(format!("open service {name}")));
    }
    Ok(Handle(svc))
}

fn state_of(raw: u32) -> ServiceState {
    match raw {
        1 => ServiceState::Stopped,
        2 => ServiceState::StartPending,
        3 => ServiceState::StopPending,
        4 => ServiceState::Running,
        5 => ServiceState::ContinuePending,
        6 => ServiceState::PausePending,
        _ => ServiceState::Paused,
    }
}

fn raw_status(h: &Handle, name: &str) -> HostResult<SERVICE_STATUS_PROCESS> {
    let mut st = SERVICE_STATUS_PROCESS::default();
    let mut needed = 0;
    let size = std::mem::size_of::<SERVICE_STATUS_PROCESS>() as u32;
    // SAFETY: `st` is a SERVICE_STATUS_PROCESS of `size` bytes.
    let ok = unsafe {
        QueryServiceStatusEx(
            h.0,
            SC_STATUS_PROCESS_INFO,
            (&raw mut st).cast(),
            size,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(last_error(format!("query service {name}")));
    }
    Ok(st)
}

/// QueryServiceConfigW into a buffer it sizes itself; `f` reads the result.
fn with_config<T>(
    h: &Handle,
    name: &str,
    f: impl FnOnce(&QUERY_SERVICE_CONFIGW) -> T,
) -> HostResult<T> {
    let mut needed = 0;
    // SAFETY: a null buffer of size 0 asks for the size needed.
    unsafe { QueryServiceConfigW(h.0, std::ptr::null_mut(), 0, &mut needed) };
    let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(8)];
    let size = (buf.len() * 8) as u32;
    let cfg = buf.as_mut_ptr().cast::<QUERY_SERVICE_CONFIGW>();
    // SAFETY: `buf` holds `size` bytes, aligned for the struct.
    if unsafe { QueryServiceConfigW(h.0, cfg, size, &mut needed) } == 0 {
        return Err(last_error(format!("query config of service {name}")));
    }
    // SAFETY: filled in by the call above; its strings live in `buf`.
    Ok(f(unsafe { &*cfg }))
}

pub fn account(name: &str) -> HostResult<String> {
    let h = open(name, SERVICE_QUERY_CONFIG)?;
    // SAFETY: the account string lives in the config buffer for the closure's duration.
    with_config(&h, name, |c| unsafe { from_wide_ptr(c.lpServiceStartName) })
}

pub fn set_account(name: &str, account: &str) -> HostResult<()> {
    let h = open(name, SERVICE_CHANGE_CONFIG)?;
    let (acct, empty) = (wide(account), wide(""));
    let null = std::ptr::null();
    // SAFETY: only the account changes; built-in accounts take an empty password.
    let ok = unsafe {
        ChangeServiceConfigW(
            h.0,
            SERVICE_NO_CHANGE,
            SERVICE_NO_CHANGE,
            SERVICE_NO_CHANGE,
            null,
            null,
            std::ptr::null_mut(),
            null,
            acct.as_ptr(),
            empty.as_ptr(),
            null,
        )
    };
    if ok == 0 {
        return Err(last_error(format!("set account of service {name}")));
    }
    Ok(())
}

fn start_type(h: &Handle, name: &str) -> HostResult<StartType> {
    let mut needed = 0;
    // SAFETY: a null buffer of size 0 asks for the size needed.
    unsafe { QueryServiceConfigW(h.0, std::ptr::null_mut(), 0, &mut needed) };
    // u64 units keep QUERY_SERVICE_CONFIGW aligned.
    let mut buf = vec![0u64; (needed as usize).div_ceil(8).max(8)];
    let size = (buf.len() * 8) as u32;
    let cfg = buf.as_mut_ptr().cast::<QUERY_SERVICE_CONFIGW>();
    // SAFETY: `buf` holds `size` bytes, aligned for the struct.
    if unsafe { QueryServiceConfigW(h.0, cfg, size, &mut needed) } == 0 {
        return Err(last_error(format!("query config of service {name}")));
    }
    // SAFETY: filled in by the call above.
    let raw = unsafe { (*cfg).dwStartType };
    Ok(match raw {
        SERVICE_BOOT_START => StartType::Boot,
        SERVICE_SYSTEM_START => StartType::System,
        SERVICE_AUTO_START => StartType::Auto,
        SERVICE_DEMAND_START => StartType::Demand,
        _ => StartType::Disabled,
    })
}

pub fn status(name: &str) -> HostResult<ServiceStatus> {
    let h = open(name, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG)?;
    Ok(ServiceStatus {
        state: state_of(raw_status(&h, name)?.dwCurrentState),
        start_type: start_type(&h, name)?,
        delayed_auto_start: delayed_auto_start(&h, name)?,
    })
}

/// `SERVICE_CONFIG_DELAYED_AUTO_START_INFO`. Windows keeps it apart from the start type
/// (the service key's `DelayedAutostart` value), so a restore must read and write it too.
fn delayed_auto_start(h: &Handle, name: &str) -> HostResult<bool> {
    let mut info = SERVICE_DELAYED_AUTO_START_INFO {
        fDelayedAutostart: 0,
    };
    let mut needed = 0u32;
    // SAFETY: `info` is the structure this level fills, of the size given.
    let ok = unsafe {
        QueryServiceConfig2W(
            h.0,
            SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
            (&raw mut info).cast(),
            std::mem::size_of::<SERVICE_DELAYED_AUTO_START_INFO>() as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if code == ERROR_INVALID_LEVEL {
            return delayed_in_registry(name);
        }
        return Err(os_error(
            format!("query delayed start of service {name}"),
            code,
        ));
    }
    Ok(info.fDelayedAutostart != 0)
}

/// Where the SCM keeps the flag: the service key's `DelayedAutostart` (absent = 0). Read
/// here only when the API does not know the level: never on Windows since Vista, but under
/// Wine 8, whose QueryServiceConfig2W answers ERROR_INVALID_LEVEL.
fn delayed_in_registry(name: &str) -> HostResult<bool> {
    Ok(
        super::registry::get(&service_key(name), "DelayedAutostart")?
            .and_then(|v| v.as_dword())
            .is_some_and(|v| v != 0),
    )
}

/// The service's key, where the SCM keeps its configuration.
fn service_key(name: &str) -> String {
    format!(r"SYSTEM\CurrentControlSet\Services\{name}")
}

pub fn set_delayed_auto_start(name: &str, delayed: bool) -> HostResult<()> {
    let h = open(name, SERVICE_CHANGE_CONFIG)?;
    let info = SERVICE_DELAYED_AUTO_START_INFO {
        fDelayedAutostart: i32::from(delayed),
    };
    // SAFETY: the structure this level takes.
    if unsafe {
        ChangeServiceConfig2W(
            h.0,
            SERVICE_CONFIG_DELAYED_AUTO_START_INFO,
            (&raw const info).cast(),
        )
    } == 0
    {
        let code = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if code == ERROR_INVALID_LEVEL {
            // Wine, as above: the value the SCM reads at its next start.
            return super::registry::set(
                &service_key(name),
                "DelayedAutostart",
                &crate::host::RegValue::dword(u32::from(delayed)),
            );
        }
        return Err(os_error(
            format!("set delayed start of service {name}"),
            code,
        ));
    }
    Ok(())
}

/// The services that depend on `name`: only the running ones, or all of them.
pub fn dependents(name: &str, running_only: bool) -> HostResult<Vec<String>> {
    let state = if running_only {
        SERVICE_ACTIVE
    } else {
        SERVICE_STATE_ALL
    };
    let h = open(name, SERVICE_ENUMERATE_DEPENDENTS)?;
    let (mut needed, mut count) = (0u32, 0u32);
    let mut buf = vec![0u64; 512];
    loop {
        let size = (buf.len() * 8) as u32;
        let list = buf.as_mut_ptr().cast::<ENUM_SERVICE_STATUSW>();
        // SAFETY: `buf` holds `size` bytes, aligned for the struct array.
        let ok = unsafe { EnumDependentServicesW(h.0, state, list, size, &mut needed, &mut count) };
        if ok != 0 {
            // SAFETY: the call wrote `count` entries whose strings live in `buf`.
            let entries = unsafe { std::slice::from_raw_parts(list, count as usize) };
            // SAFETY: each name is a NUL-terminated string inside `buf`.
            return Ok(entries
                .iter()
                .map(|e| unsafe { from_wide_ptr(e.lpServiceName) })
                .collect());
        }
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if err == ERROR_MORE_DATA || err == ERROR_INSUFFICIENT_BUFFER {
            buf = vec![0u64; (needed as usize).div_ceil(8) + 1];
            continue;
        }
        return Err(os_error(format!("list dependents of service {name}"), err));
    }
}

fn wait_for(h: &Handle, name: &str, want: u32, wait: Duration, what: &str) -> HostResult<()> {
    let deadline = Instant::now() + wait;
    loop {
        let st = raw_status(h, name)?;
        if st.dwCurrentState == want {
            return Ok(());
        }
        // Waiting for it to run and it stopped: it started and exited (a broken
        // configuration), whatever its exit code, 0 included. Say so now, not after the wait.
        if want == 4 && st.dwCurrentState == 1 {
            return Err(HostError::Os {
                what: format!("{what} service {name} (it stopped right after starting)"),
                code: st.dwWin32ExitCode,
                message: if st.dwWin32ExitCode == 0 {
                    "the service stopped with exit code 0".into()
                } else {
                    super::wide::message(st.dwWin32ExitCode)
                },
            });
        }
        if Instant::now() >= deadline {
            return Err(HostError::Timeout {
                what: format!("{what} service {name}"),
                seconds: wait.as_secs(),
            });
        }
        // The documented cadence: a tenth of the wait hint, between 1 and 10 seconds.
        let hint = Duration::from_millis(u64::from(st.dwWaitHint / 10))
            .clamp(Duration::from_millis(250), Duration::from_secs(5));
        std::thread::sleep(hint);
    }
}

pub fn stop(name: &str, wait: Duration) -> HostResult<()> {
    let h = open(name, SERVICE_STOP | SERVICE_QUERY_STATUS)?;
    let mut st = SERVICE_STATUS::default();
    // SAFETY: open service handle; `st` receives the status.
    if unsafe { ControlService(h.0, SERVICE_CONTROL_STOP, &mut st) } == 0 {
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        if err != ERROR_SERVICE_NOT_ACTIVE {
            return Err(os_error(format!("stop service {name}"), err));
        }
    }
    wait_for(&h, name, 1, wait, "stop")
}

pub fn start(name: &str, wait: Duration) -> HostResult<()> {
    let h = open(name, SERVICE_START | SERVICE_QUERY_STATUS)?;
    // SAFETY: open service handle, no arguments.
    if unsafe { StartServiceW(h.0, 0, std::ptr::null()) } == 0 {
        let err = std::io::Error::last_os_error().raw_os_error().unwrap_or(0) as u32;
        // ERROR_SERVICE_ALREADY_RUNNING
        if err != 1056 {
            return Err(os_error(format!("start service {name}"), err));
        }
    }
    wait_for(&h, name, 4, wait, "start")
}

pub fn set_start_type(name: &str, start: StartType) -> HostResult<()> {
    let h = open(name, SERVICE_CHANGE_CONFIG)?;
    let raw = match start {
        StartType::Boot => SERVICE_BOOT_START,
        StartType::System => SERVICE_SYSTEM_START,
        StartType::Auto => SERVICE_AUTO_START,
        StartType::Demand => SERVICE_DEMAND_START,
        StartType::Disabled => SERVICE_DISABLED,
    };
    let null = std::ptr::null();
    // SAFETY: only the start type changes; every other field is SERVICE_NO_CHANGE or null.
    let ok = unsafe {
        ChangeServiceConfigW(
            h.0,
            SERVICE_NO_CHANGE,
            raw,
            SERVICE_NO_CHANGE,
            null,
            null,
            std::ptr::null_mut(),
            null,
            null,
            null,
            null,
        )
    };
    if ok == 0 {
        return Err(last_error(format!("set start type of service {name}")));
    }
    Ok(())
}
