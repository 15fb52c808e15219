//! Fault injection: a fault at the n-th changing call or at the first one naming a target
//! (an error, a crash, a torn append), another user acting between two calls, and the
//! read and change wrappers every [`Host`](super::Host) call of [`SimHost`] goes through.

use super::{HostError, HostResult, Machine, SimHost};
use serde::{Deserialize, Serialize};

/// Where a fault strikes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAt {
    /// The n-th changing call (1-based), counting every change including journal writes.
    Call(u64),
    /// The first changing call whose description contains this text (e.g. a value name).
    Target(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// The call fails with an error; the process goes on.
    Fail,
    /// The process dies just before the call: this and every later call fails, as if
    /// nothing ran after it. [`SimHost::restart`] brings the machine back.
    Crash,
    /// Like `Crash`, but an append dies half-way: the first half of its bytes reach the
    /// file (a torn journal line). Other calls die before they start.
    Torn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub at: FaultAt,
    pub kind: FaultKind,
}

/// Another user acting on the machine at a chosen moment: just before the first changing
/// call whose description contains `before`, `act` changes the machine (swaps a file for a
/// junction, edits an ACL…). This is how tests race the fixer between a read and a write.
pub(super) struct Tamper {
    before: String,
    act: Box<dyn FnOnce(&mut Machine)>,
}

impl std::fmt::Debug for Tamper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tamper(before {:?})", self.before)
    }
}

impl SimHost {
    /// Injects one fault; the change counter restarts at zero.
    pub fn inject(&self, fault: Fault) {
        let mut inner = self.inner.borrow_mut();
        inner.fault = Some(fault);
        inner.changes = 0;
    }

    /// Arranges for `act` to change the machine just before the first changing call whose
    /// description contains `before` (a `Tamper`: another user acting between two calls).
    pub fn tamper(&self, before: &str, act: impl FnOnce(&mut Machine) + 'static) {
        self.inner.borrow_mut().tamper = Some(Tamper {
            before: before.to_owned(),
            act: Box::new(act),
        });
    }

    pub(super) fn read<T>(&self, f: impl FnOnce(&Machine) -> HostResult<T>) -> HostResult<T> {
        let inner = self.inner.borrow();
        if inner.crashed {
            return Err(HostError::Crashed {
                what: "read".into(),
            });
        }
        f(&inner.machine)
    }

    /// Runs one change, unless a fault strikes first.
    pub(super) fn change<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut Machine) -> HostResult<T>,
    ) -> HostResult<T> {
        self.change_or_tear(what, f, |_| {})
    }

    /// [`change`](Self::change), with what a [`FaultKind::Torn`] leaves behind.
    pub(super) fn change_or_tear<T>(
        &self,
        what: String,
        f: impl FnOnce(&mut Machine) -> HostResult<T>,
        torn: impl FnOnce(&mut Machine),
    ) -> HostResult<T> {
        let mut inner = self.inner.borrow_mut();
        if inner.crashed {
            return Err(HostError::Crashed { what });
        }
        inner.changes += 1;
        if inner
            .tamper
            .as_ref()
            .is_some_and(|t| what.contains(t.before.as_str()))
            && let Some(t) = inner.tamper.take()
        {
            (t.act)(&mut inner.machine);
        }
        let strikes = match &inner.fault {
            Some(Fault {
                at: FaultAt::Call(n),
                ..
            }) => *n == inner.changes,
            Some(Fault {
                at: FaultAt::Target(t),
                ..
            }) => what.contains(t.as_str()),
            None => false,
        };
        if strikes {
            let kind = inner.fault.as_ref().map(|f| f.kind);
            inner.fault = None;
            if kind == Some(FaultKind::Torn) {
                torn(&mut inner.machine);
            }
            if matches!(kind, Some(FaultKind::Crash | FaultKind::Torn)) {
                inner.crashed = true;
                return Err(HostError::Crashed { what });
            }
            return Err(HostError::Injected { what });
        }
        let result = f(&mut inner.machine);
        if result.is_ok() {
            inner.log.push(what);
        }
        result
    }
}
