//! A simulated Windows machine in memory, with fault injection: what the executor's tests run
//! against on Linux, and what `fixer --simulate <machine.json>` drives end to end.
//!
//! The machine is plain data ([`Machine`]), so a test can snapshot it before and after and
//! compare the whole thing. Registry keys and value names compare case-insensitively, as on
//! Windows. The service control manager refuses what Windows refuses: stopping a service
//! whose dependents run (error 1051), starting a disabled one (1058).
//!
//! Here: [`SimHost`] and what a test does to it between calls; `fault.rs` the faults it
//! injects and the wrappers every call goes through; `host.rs` each [`Host`] call on the
//! machine; `machine.rs` the data, `hive.rs` the simulated disk's hives.

mod fault;
mod hive;
mod host;
mod machine;

use fault::Tamper;
pub use fault::{Fault, FaultAt, FaultKind};
pub use hive::{SimHive, SimKey};
pub use machine::{DiskFile, KNOWN_RIGHTS, Machine, SimService};

use super::*;
use std::cell::RefCell;

/// The simulated host: a [`Machine`] plus fault injection and a log of the changes made.
#[derive(Debug)]
pub struct SimHost {
    inner: RefCell<Inner>,
}

#[derive(Debug)]
struct Inner {
    machine: Machine,
    fault: Option<Fault>,
    tamper: Option<Tamper>,
    changes: u64,
    crashed: bool,
    log: Vec<String>,
}

pub const STATE_DIR: &str = r"C:\ProgramData\rdpfix";
pub const TASK_DIR: &str = r"C:\Program Files\rdpfix";
/// What `state_init` gives the state directory: protected, SYSTEM and Administrators only.
pub const SAFE_STATE_SDDL: &str = "O:BAG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

impl SimHost {
    pub fn new(machine: Machine) -> Self {
        SimHost {
            inner: RefCell::new(Inner {
                machine,
                fault: None,
                tamper: None,
                changes: 0,
                crashed: false,
                log: Vec::new(),
            }),
        }
    }

    /// Changes the machine now, as another user or process would.
    pub fn edit(&self, f: impl FnOnce(&mut Machine)) {
        f(&mut self.inner.borrow_mut().machine);
    }

    /// After a simulated crash: a new process on the same machine, faults cleared. The OS
    /// released the dead process's lock.
    pub fn restart(&self) {
        let mut inner = self.inner.borrow_mut();
        inner.crashed = false;
        inner.fault = None;
        inner.changes = 0;
        inner.machine.lock_held = false;
    }

    pub fn crashed(&self) -> bool {
        self.inner.borrow().crashed
    }

    pub fn machine(&self) -> Machine {
        self.inner.borrow().machine.clone()
    }

    pub fn set_now(&self, now: Timestamp) {
        self.inner.borrow_mut().machine.now = now;
    }

    /// The changes made so far, one line each, in order.
    pub fn change_log(&self) -> Vec<String> {
        self.inner.borrow().log.clone()
    }

    /// How many changing calls were made since the last `inject` or `restart`.
    pub fn change_count(&self) -> u64 {
        self.inner.borrow().changes
    }
}

/// A file of the simulated disk open for reading ([`Host::disk_open`]): it reads the file
/// as it is at each call, as a handle on a file would.
#[derive(Debug)]
struct SimDiskReader<'a> {
    host: &'a SimHost,
    name: String,
    at: u64,
}

impl SimDiskReader<'_> {
    fn len(&self) -> u64 {
        let inner = self.host.inner.borrow();
        inner
            .machine
            .disk_files
            .get(&self.name)
            .map_or(0, |f| f.0.len() as u64)
    }
}

impl std::io::Read for SimDiskReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let inner = self.host.inner.borrow();
        let Some(file) = inner.machine.disk_files.get(&self.name) else {
            return Err(std::io::ErrorKind::NotFound.into());
        };
        let start = usize::try_from(self.at).unwrap_or(usize::MAX);
        let rest = file.0.get(start..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(rest.get(..n).unwrap_or_default());
        self.at += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for SimDiskReader<'_> {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let at = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::End(d) => self.len().checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.at.checked_add_signed(d),
        };
        self.at = at.ok_or(std::io::ErrorKind::InvalidInput)?;
        Ok(self.at)
    }
}

/// The loaded hive `key` is in (marked changed: the caller changes it) and the path below
/// its mount.
fn in_hive<'m>(m: &'m mut Machine, key: &str) -> Option<(&'m mut SimHive, String)> {
    let (mount, rest) = m.hive_of(key)?;
    let hive = m.hives.get_mut(&mount)?;
    hive.dirty = true;
    Some((hive, rest))
}

#[cfg(test)]
mod tests;
