//! The disk's hives loaded for a run, and unloaded again: their names ([`Mounts`], unique
//! per plan), [`Loaded`] (loads both, unloads on drop), and what a run that died left loaded
//! ([`LOADED_FILE`], [`unload_owned`], [`unload_stale`]). [`OfflineRecord`] is what the
//! journal's `begin` record says of the disk, so a rollback finds it and its mounts.
//!
//! Invariants: a mount is named in [`LOADED_FILE`] before its hive is loaded and leaves the
//! list only once it is unloaded (a list that cannot be rewritten names more, never fewer);
//! only names of the fixer's own form (`rdpfix-<8 hex>-SYSTEM` / `-SOFTWARE`) are unloaded
//! from that list; both hives are unloaded on every path out, each tried whatever the other
//! did, and what stays loaded is said with its `reg unload` command.

use super::disk::{Disk, SOFTWARE_HIVE, SYSTEM_HIVE, on_disk};
use crate::host::*;
use analyzer::plan::PlanId;
use analyzer::plan::offline::OfflineHive;
use serde::{Deserialize, Serialize};

/// The names the disk's hives are loaded under: `rdpfix-<plan id's first 8>-SYSTEM` and
/// `-SOFTWARE`, unique per plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mounts {
    pub system: String,
    pub software: String,
}

impl Mounts {
    /// The analyzer's names for the plan's mounts ([`OfflineHive::mount`]).
    pub fn for_plan(plan_id: &PlanId) -> Mounts {
        Mounts {
            system: OfflineHive::System.mount(plan_id),
            software: OfflineHive::Software.mount(plan_id),
        }
    }
}

/// What the journal's `begin` record says of an offline plan: the disk, and where its hives
/// are loaded, so a rollback after a crash finds them both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineRecord {
    /// The drive's root when it ran (`F:\`); a rollback finds the disk by `machine_guid`.
    pub root: String,
    pub machine_guid: String,
    pub control_set: u32,
    pub mounts: Mounts,
}

/// The file in the rescue VM's state directory listing the mounts this fixer loaded and
/// has not seen unloaded: written before a hive is loaded, rewritten after each unload. A
/// hive stays loaded when the process that loaded it dies (or when its unload fails); the
/// next apply or rollback unloads what this lists ([`unload_owned`]).
pub const LOADED_FILE: &str = "offline-loaded.json";

/// A hive left loaded, and why unloading it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StillLoaded {
    pub mount: String,
    pub error: String,
}

impl StillLoaded {
    /// What the admin runs to unload it.
    pub fn command(&self) -> String {
        format!(r"reg unload HKLM\{}", self.mount)
    }

    /// `HKLM\<mount> is still loaded (…): <command>`, one per hive.
    pub fn text(still: &[StillLoaded]) -> String {
        still
            .iter()
            .map(|s| {
                format!(
                    "HKLM\\{} is STILL LOADED (unloading it failed: {}); close what uses it \
                     (regedit), then run: {} (or any fixer apply or rollback here, which \
                     unloads it first) before the disk goes back to its VM",
                    s.mount,
                    s.error,
                    s.command()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Loading the disk's hives failed: nothing was changed; what could not be unloaded again.
#[derive(Debug)]
pub struct LoadFailed {
    pub error: HostError,
    pub still_loaded: Vec<StillLoaded>,
}

impl std::fmt::Display for LoadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the disk's hives could not be loaded, so nothing was changed: {}",
            self.error
        )?;
        if !self.still_loaded.is_empty() {
            write!(f, ". WARNING: {}", StillLoaded::text(&self.still_loaded))?;
        }
        Ok(())
    }
}

/// The mounts [`LOADED_FILE`] lists (names of the fixer's own form only).
fn owned(host: &dyn Host) -> HostResult<Vec<String>> {
    let bytes = host.state_read(LOADED_FILE)?.unwrap_or_default();
    let names: Vec<String> = serde_json::from_slice(&bytes).unwrap_or_default();
    Ok(names.into_iter().filter(|m| is_own_mount(m)).collect())
}

fn set_owned(host: &dyn Host, mounts: &[String]) -> HostResult<()> {
    host.state_write(
        LOADED_FILE,
        &serde_json::to_vec(mounts).unwrap_or_else(|_| b"[]".to_vec()),
    )
}

/// `rdpfix-<8 hex>-SYSTEM` or `-SOFTWARE`: a name [`OfflineHive::mount`] gives.
fn is_own_mount(mount: &str) -> bool {
    let Some(rest) = mount.strip_prefix("rdpfix-") else {
        return false;
    };
    let (id, hive) = rest.split_at_checked(8).unwrap_or(("", ""));
    id.bytes().all(|b| b.is_ascii_hexdigit())
        && !id.is_empty()
        && matches!(hive, "-SYSTEM" | "-SOFTWARE")
}

/// What [`unload_owned`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OwnedUnload {
    /// Mounts a run that died (or whose unload failed) had left loaded, unloaded now.
    pub unloaded: Vec<String>,
    /// Those that still could not be unloaded.
    pub still_loaded: Vec<StillLoaded>,
}

/// Unloads every hive [`LOADED_FILE`] lists that is still loaded (under the machine-wide
/// lock no other fixer is using one); the file then lists what is still loaded.
pub fn unload_owned(host: &dyn Host) -> HostResult<OwnedUnload> {
    let mut out = OwnedUnload::default();
    let listed = owned(host)?;
    if listed.is_empty() {
        return Ok(out);
    }
    for mount in listed {
        if !host.reg_key_exists(&mount)? {
            continue;
        }
        match host.hive_unload(&mount) {
            Ok(()) => out.unloaded.push(mount),
            Err(e) => out.still_loaded.push(StillLoaded {
                mount,
                error: e.to_string(),
            }),
        }
    }
    let still: Vec<String> = out.still_loaded.iter().map(|s| s.mount.clone()).collect();
    set_owned(host, &still)?;
    Ok(out)
}

/// The disk's two hives loaded under their mounts, unloaded when this is dropped (on a
/// failure too). [`Loaded::unload`] unloads and says what is still loaded.
#[derive(Debug)]
pub struct Loaded<'h> {
    host: &'h dyn Host,
    loaded: Vec<String>,
}

impl<'h> Loaded<'h> {
    /// Loads SYSTEM, then SOFTWARE, each named in [`LOADED_FILE`] first; when the second
    /// fails, the first is unloaded again, and what cannot be is said.
    pub fn load(
        host: &'h dyn Host,
        disk: &Disk,
        mounts: &Mounts,
    ) -> Result<Loaded<'h>, LoadFailed> {
        let failed = |error| LoadFailed {
            error,
            still_loaded: Vec::new(),
        };
        let mut listed = owned(host).map_err(failed)?;
        for m in [&mounts.system, &mounts.software] {
            if !listed.contains(m) {
                listed.push(m.clone());
            }
        }
        set_owned(host, &listed).map_err(failed)?;
        let mut loaded = Loaded {
            host,
            loaded: Vec::new(),
        };
        for (mount, file) in [
            (&mounts.system, SYSTEM_HIVE),
            (&mounts.software, SOFTWARE_HIVE),
        ] {
            if let Err(error) = host.hive_load(mount, &on_disk(&disk.root, file)) {
                return Err(LoadFailed {
                    error,
                    still_loaded: loaded.unload_all(),
                });
            }
            loaded.loaded.push(mount.clone());
        }
        Ok(loaded)
    }

    /// Unloads both (each tried, whatever the other did): what is still loaded.
    pub fn unload(mut self) -> Vec<StillLoaded> {
        self.unload_all()
    }

    fn unload_all(&mut self) -> Vec<StillLoaded> {
        let mut still = Vec::new();
        let mut done = Vec::new();
        for mount in std::mem::take(&mut self.loaded).into_iter().rev() {
            match self.host.hive_unload(&mount) {
                Ok(()) => done.push(mount),
                Err(e) => still.push(StillLoaded {
                    mount,
                    error: e.to_string(),
                }),
            }
        }
        // The list keeps only what may still be loaded; when it cannot be rewritten it
        // names more, which the next run finds unloaded and skips.
        if let Ok(listed) = owned(self.host) {
            let left: Vec<String> = listed.into_iter().filter(|m| !done.contains(m)).collect();
            let _ = set_owned(self.host, &left);
        }
        still
    }
}

impl Drop for Loaded<'_> {
    fn drop(&mut self) {
        if !self.loaded.is_empty() {
            let _ = self.unload_all();
        }
    }
}

/// Unloads what a run that died left loaded under `mounts` (a hive stays loaded when the
/// process that loaded it dies; unloading it writes its changes to the file).
pub fn unload_stale(host: &dyn Host, mounts: &Mounts) -> HostResult<Vec<String>> {
    let mut unloaded = Vec::new();
    for mount in [&mounts.software, &mounts.system] {
        if host.reg_key_exists(mount)? {
            host.hive_unload(mount)?;
            unloaded.push(mount.clone());
        }
    }
    Ok(unloaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_are_named_after_the_plan() {
        let m = Mounts::for_plan(&"3f2a9c1eaaaabbbbcccc000000000000".parse().unwrap());
        assert_eq!(m.system, "rdpfix-3f2a9c1e-SYSTEM");
        assert_eq!(m.software, "rdpfix-3f2a9c1e-SOFTWARE");
    }
}
