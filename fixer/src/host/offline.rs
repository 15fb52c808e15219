//! The OS disk of a VM attached to this (rescue) machine, as a [`Host`]: what an offline
//! plan runs on. [`Disk`] is what the disk's own hives say about it (read from the files,
//! before anything is loaded); [`OfflineHost`] wraps the rescue VM's host and maps each
//! effect onto the disk:
//!
//! - registry: `SYSTEM\CurrentControlSet\…` → `HKLM\<mount>-SYSTEM\ControlSet00N\…` (the
//!   control set the plan names and `Select\Current` holds), `SOFTWARE\…` → its mount, by
//!   the analyzer's `OfflineTarget::hive_key` (the rule the plan and its preview were made
//!   with); reads also reach the keys above (the hives' roots, `CurrentControlSet`); any
//!   other key is refused. Before the hives are loaded (verify, the dry-run of check 10)
//!   the same keys are read from the hive files in place ([`HiveFile`]: the cells a lookup
//!   needs, never the whole file) and nothing can be written.
//! - services: their keys' `Start` and `DelayedAutostart` values; a service of a disk is
//!   never running, and starting, stopping or changing its account is refused.
//! - the Remote Desktop certificate store: the keys under `SOFTWARE\Microsoft\
//!   SystemCertificates\Remote Desktop\Certificates`, one per thumbprint, each holding a
//!   `Blob`; deleting one removes its `Blob` and the then empty key, a restore writes the
//!   `Blob` back byte for byte.
//! - files: `%ProgramData%` is the disk's (`F:\ProgramData`): MachineKeys' ACLs are
//!   written by well-known SID, which mean the same on both machines; any other path off
//!   the disk is refused except the rescue VM's own state directory.
//! - the state directory, journal, backups and lock stay the rescue VM's (`inner`).
//! - local groups, logon rights, firewall, listeners, logs, commit-confirm: refused with
//!   the reason. The analyzer leaves such steps out of an offline plan; this is the second
//!   wall.

use super::*;
use analyzer::input::hive::regf::{self, Hive};
use analyzer::plan::offline::OfflineHive;
use analyzer::plan::{OfflineTarget, PlanId};
use serde::{Deserialize, Serialize};

/// Where a Windows disk keeps its hives, below its root.
pub const SYSTEM_HIVE: &str = r"Windows\System32\config\SYSTEM";
pub const SOFTWARE_HIVE: &str = r"Windows\System32\config\SOFTWARE";
/// Largest hive file read (a SOFTWARE hive is some hundreds of MB at most).
pub const MAX_HIVE_BYTES: u64 = 1 << 30;
/// Where the Remote Desktop store's certificates are in the SOFTWARE hive.
pub const RDP_CERTIFICATES: &str =
    r"SOFTWARE\Microsoft\SystemCertificates\Remote Desktop\Certificates";
const MACHINE_GUID_KEY: &str = r"Microsoft\Cryptography";

/// What the disk's hives say about it, read from the files in place (a few cells each;
/// neither file is held: see [`HiveFile`]).
#[derive(Debug, Clone)]
pub struct Disk {
    /// The drive's root (`F:\`).
    pub root: PathBuf,
    /// `Select\Current` of its SYSTEM hive: the control set its last boot used.
    pub control_set: u32,
    /// `Select\Default`: the control set it boots next (`None`: not there). Check 6
    /// refuses a disk where the two differ.
    pub boots_next: Option<u32>,
    /// `ComputerName` of that control set.
    pub computer: String,
    /// `SOFTWARE\Microsoft\Cryptography\MachineGuid`, as stored.
    pub machine_guid: String,
    /// The Remote Desktop store's thumbprints (its subkeys), as the file holds them.
    pub certificates: Vec<String>,
}

/// `rel` (`\`-separated) below the disk's root, written with `\` whatever the build
/// (the simulated disk's paths are Windows paths on Linux too).
pub fn on_disk(root: &Path, rel: &str) -> PathBuf {
    let root = root.to_string_lossy();
    PathBuf::from(format!("{}\\{rel}", root.trim_end_matches(['\\', '/'])))
}

/// Why a disk cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error(transparent)]
    Host(#[from] HostError),
    #[error(
        "{hive} is dirty ({detail}): Windows has not yet written the changes its .LOG1/.LOG2 \
         hold into it, and rdpfix does not replay them, so it will not edit this hive. Windows \
         replays them when it loads a hive: on this repair VM, as Administrator, run \
         {replay}, and run the fixer again (it reads the hive afresh and refuses it again if \
         it is still dirty: that the unload writes the replayed hive back is not verified \
         here). Or \
         start the VM from this disk once and run the plan there"
    )]
    Dirty {
        hive: String,
        detail: String,
        /// [`analyzer::input::hive::replay_logs_commands`] for this hive file.
        replay: String,
    },
    #[error("{hive} cannot be read: {detail}")]
    Unreadable { hive: String, detail: String },
    #[error(
        "{key} in {hive} is a registry symbolic link: loaded on this rescue VM its target \
         could be one of the rescue VM's own keys, so rdpfix never reads or writes through it"
    )]
    Link { hive: String, key: String },
    /// `--offline auto` found no disk, or several, that fit.
    #[error("{0}")]
    NoDisk(String),
}

impl Disk {
    /// Reads what identifies the disk at `root` from its two hives, one after the other,
    /// each opened in place and closed again; a dirty or damaged hive is refused.
    pub fn read(host: &dyn Host, root: &Path) -> Result<Disk, DiskError> {
        let system = HiveFile::open(host, &on_disk(root, SYSTEM_HIVE))?;
        let word = |v: Option<RegValue>| v.and_then(|v| v.as_dword());
        let control_set = word(system.lookup("Select", "Current")?)
            .ok_or_else(|| system.unreadable(r"it has no Select\Current".into()))?;
        let boots_next = word(system.lookup("Select", "Default")?);
        let text = |v: Option<RegValue>| v.and_then(|v| reg_text(&v));
        let computer = text(system.lookup(
            &format!(r"ControlSet{control_set:03}\Control\ComputerName\ComputerName"),
            "ComputerName",
        )?)
        .ok_or_else(|| system.unreadable("it holds no ComputerName".into()))?;
        drop(system);
        let software = HiveFile::open(host, &on_disk(root, SOFTWARE_HIVE))?;
        let machine_guid =
            text(software.lookup(MACHINE_GUID_KEY, "MachineGuid")?).ok_or_else(|| {
                software.unreadable(r"it holds no Microsoft\Cryptography\MachineGuid".into())
            })?;
        let certificates = software.subkeys(strip_root(RDP_CERTIFICATES))?;
        Ok(Disk {
            root: root.to_path_buf(),
            control_set,
            boots_next,
            computer,
            machine_guid,
            certificates,
        })
    }
}

/// A hive file of the disk open for reading in place ([`Host::disk_open`]): its base
/// block checked (a dirty or damaged hive is refused), its bins mapped, then only the
/// cells a lookup needs are read. Memory: the bin map and the cells read, whatever the
/// file's size.
#[derive(Debug)]
pub struct HiveFile<'h> {
    path: PathBuf,
    hive: std::cell::RefCell<Hive<regf::SeekSource<Box<dyn DiskReader + 'h>>>>,
}

impl<'h> HiveFile<'h> {
    pub fn open(host: &'h dyn Host, path: &Path) -> Result<HiveFile<'h>, DiskError> {
        use std::io::{Read, Seek, SeekFrom};
        let mut file = host.disk_open(path, MAX_HIVE_BYTES)?;
        let unreadable = |detail: String| DiskError::Unreadable {
            hive: path.display().to_string(),
            detail,
        };
        let io = |e: std::io::Error| unreadable(format!("it could not be read ({e})"));
        let len = file.seek(SeekFrom::End(0)).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut block = Vec::new();
        (&mut file)
            .take(regf::BASE_BLOCK)
            .read_to_end(&mut block)
            .map_err(io)?;
        let header = regf::parse_header(&block)
            .map_err(|e| unreadable(format!("not a registry hive ({e:?})")))?;
        if header.dirty() {
            return Err(DiskError::Dirty {
                hive: path.display().to_string(),
                replay: analyzer::input::hive::replay_logs_commands(&format!(
                    "\"{}\"",
                    path.display()
                )),
                detail: format!(
                    "primary sequence {}, secondary {}, checksum {}",
                    header.primary_sequence,
                    header.secondary_sequence,
                    if header.checksum_ok { "right" } else { "wrong" }
                ),
            });
        }
        let mut hive = Hive::new(regf::SeekSource(file), header);
        hive.map_bins(len);
        Ok(HiveFile {
            path: path.to_path_buf(),
            hive: std::cell::RefCell::new(hive),
        })
    }

    fn unreadable(&self, detail: String) -> DiskError {
        DiskError::Unreadable {
            hive: self.path.display().to_string(),
            detail,
        }
    }

    /// `f` on the key at `path` (`None`: no such key); a damaged cell on the way is an
    /// error, never "absent".
    fn find_key<T>(
        &self,
        path: &str,
        f: impl FnOnce(
            &mut Hive<regf::SeekSource<Box<dyn DiskReader + 'h>>>,
            Option<regf::Key>,
        ) -> Result<T, regf::CellError>,
    ) -> Result<T, DiskError> {
        let mut hive = self.hive.borrow_mut();
        let damaged = |e: regf::CellError| {
            self.unreadable(format!("damaged at byte {}: {}", e.offset, e.what))
        };
        // Key by key: a registry symbolic link on the way is refused, never followed (loaded
        // on the rescue VM, its absolute target would name the rescue VM's own keys).
        let mut at = hive.root().map_err(damaged)?;
        let mut walked = String::new();
        for part in path.split('\\').filter(|p| !p.is_empty()) {
            if !walked.is_empty() {
                walked.push('\\');
            }
            walked.push_str(part);
            match hive.subkey(&at, part).map_err(damaged)? {
                Some(k) if k.flags & regf::KEY_SYM_LINK != 0 => {
                    return Err(DiskError::Link {
                        hive: self.path.display().to_string(),
                        key: walked,
                    });
                }
                Some(k) => at = k,
                None => return f(&mut hive, None).map_err(damaged),
            }
        }
        f(&mut hive, Some(at)).map_err(damaged)
    }

    /// The value `name` of the key at `path` below the hive's root.
    pub fn lookup(&self, path: &str, name: &str) -> Result<Option<RegValue>, DiskError> {
        self.find_key(path, |hive, key| match key {
            None => Ok(None),
            Some(k) => Ok(hive.value(&k, name)?.map(|d| RegValue {
                kind: d.kind,
                data: d.bytes,
            })),
        })
    }

    pub fn key_exists(&self, path: &str) -> Result<bool, DiskError> {
        self.find_key(path, |_, key| Ok(key.is_some()))
    }

    /// The names of the subkeys of `path` (none when it is missing).
    pub fn subkeys(&self, path: &str) -> Result<Vec<String>, DiskError> {
        self.find_key(path, |hive, key| match key {
            None => Ok(Vec::new()),
            Some(k) => Ok(hive.subkeys(&k)?.into_iter().map(|s| s.name).collect()),
        })
    }
}

fn host_error(e: DiskError) -> HostError {
    match e {
        DiskError::Host(h) => h,
        DiskError::Link { ref key, .. } => HostError::refused(key.clone(), e.to_string()),
        other => HostError::failed("the disk's hive files", other.to_string()),
    }
}

/// A `REG_SZ`'s text up to its NUL.
fn reg_text(v: &RegValue) -> Option<String> {
    (v.kind == REG_SZ || v.kind == REG_EXPAND_SZ).then(|| {
        let units: Vec<u16> = v
            .data
            .chunks_exact(2)
            .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    })
}

/// `SOFTWARE\X` → `X` (the key below the hive's root).
fn strip_root(key: &str) -> &str {
    key.split_once('\\').map_or("", |(_, rest)| rest)
}

/// The disk `given` names: a drive (`F:`, `F:\`) or a folder, or `auto`: of the disks
/// attached to this machine ([`Host::disk_roots`]), the one whose MachineGuid is `guid` —
/// the only one when `guid` is `None`. None, or several, is refused with the list.
pub fn find_disk(
    host: &dyn Host,
    given: &str,
    guid: Option<&analyzer::plan::MachineGuid>,
) -> Result<Disk, DiskError> {
    if !given.eq_ignore_ascii_case("auto") {
        return Disk::read(host, &crate::offline::drive_root(Path::new(given)));
    }
    let mut fits = Vec::new();
    let mut seen = Vec::new();
    for root in host.disk_roots()? {
        match Disk::read(host, &root) {
            Ok(disk) => {
                let its = analyzer::plan::MachineGuid::from_registry(&disk.machine_guid).ok();
                seen.push(format!(
                    "{}: {} (MachineGuid {})",
                    root.display(),
                    disk.computer,
                    disk.machine_guid
                ));
                if guid.is_none() || its.as_ref() == guid {
                    fits.push(disk);
                }
            }
            Err(e) => seen.push(format!("{}: {e}", root.display())),
        }
    }
    let want = guid.map_or_else(
        || "a Windows disk".to_owned(),
        |g| format!("the disk with MachineGuid {g}"),
    );
    let listed = if seen.is_empty() {
        "none is attached (Disk Management shows the disks; `az vm repair create` attaches \
         a copy of the VM's OS disk)"
            .to_owned()
    } else {
        format!("attached: {}", seen.join("; "))
    };
    match fits.len() {
        1 => Ok(fits.remove(0)),
        0 => Err(DiskError::NoDisk(format!(
            "--offline auto: no attached disk is {want}; {listed}"
        ))),
        n => Err(DiskError::NoDisk(format!(
            "--offline auto: {n} attached disks are {want}, name one by its drive; {listed}"
        ))),
    }
}

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

/// How the registry of the disk is reached.
#[derive(Debug)]
enum Registry<'h> {
    /// Read from the hive files in place; nothing can be written (verify, check 10's
    /// dry-run).
    Files {
        system: Box<HiveFile<'h>>,
        software: Box<HiveFile<'h>>,
    },
    /// The hives loaded under these mounts.
    Loaded(Mounts),
}

/// The attached disk as a [`Host`] (see the module's doc).
#[derive(Debug)]
pub struct OfflineHost<'h> {
    inner: &'h dyn Host,
    disk: &'h Disk,
    /// The plan's target: which control set `CurrentControlSet` is
    /// ([`OfflineTarget::hive_key`] maps every key).
    target: OfflineTarget,
    registry: Registry<'h>,
    /// Certificates put back into the store by this run (a rollback's restore).
    added: std::cell::RefCell<Vec<String>>,
}

const NOT_RUNNING: &str = "it is on a disk attached to this rescue VM, not running: \
    an offline plan never has this step (it happens when the VM starts)";

impl<'h> OfflineHost<'h> {
    /// Reads the disk's registry from its hive files, opened in place: changing it is
    /// refused.
    pub fn files(
        inner: &'h dyn Host,
        disk: &'h Disk,
        target: OfflineTarget,
    ) -> Result<Self, DiskError> {
        Ok(OfflineHost {
            inner,
            disk,
            target,
            registry: Registry::Files {
                system: Box::new(HiveFile::open(inner, &on_disk(&disk.root, SYSTEM_HIVE))?),
                software: Box::new(HiveFile::open(inner, &on_disk(&disk.root, SOFTWARE_HIVE))?),
            },
            added: std::cell::RefCell::default(),
        })
    }

    /// The disk's registry as loaded under `mounts` (see [`Loaded`]).
    pub fn loaded(
        inner: &'h dyn Host,
        disk: &'h Disk,
        target: OfflineTarget,
        mounts: &Mounts,
    ) -> Self {
        OfflineHost {
            inner,
            disk,
            target,
            registry: Registry::Loaded(mounts.clone()),
            added: std::cell::RefCell::default(),
        }
    }

    /// The hive and the path below its root that `key` (as a running machine names it,
    /// below `HKLM\`) is on the disk: the analyzer's [`OfflineTarget::hive_key`], the one
    /// rule the plan was built with; a read may also reach the keys above those
    /// ([`OfflineTarget::hive_key_or_above`]: the hives' roots, `CurrentControlSet`).
    fn map(&self, key: &str, change: bool) -> HostResult<(OfflineHive, String)> {
        let full = format!(r"HKLM\{key}");
        let place = if change {
            self.target.hive_key(&full)
        } else {
            self.target.hive_key_or_above(&full)
        };
        place.ok_or_else(|| {
            HostError::refused(
                full,
                "an offline plan reaches only the disk's SYSTEM\\CurrentControlSet and \
                 SOFTWARE keys",
            )
        })
    }

    /// The key under its mount, for a loaded hive; `Err` when only the files are read.
    fn mounted(&self, key: &str, change: bool) -> HostResult<Option<String>> {
        let (hive, path) = self.map(key, change)?;
        match &self.registry {
            Registry::Loaded(m) => {
                let mount = match hive {
                    OfflineHive::System => &m.system,
                    OfflineHive::Software => &m.software,
                };
                Ok(Some(if path.is_empty() {
                    mount.clone()
                } else {
                    format!("{mount}\\{path}")
                }))
            }
            Registry::Files { .. } if change => Err(HostError::refused(
                format!(r"HKLM\{key}"),
                "the disk's hives are not loaded: this run only reads their files",
            )),
            Registry::Files { .. } => Ok(None),
        }
    }

    /// The hive file `key` is in, for a run that reads the files.
    fn file(&self, key: &str) -> HostResult<(&HiveFile<'h>, String)> {
        let (hive, path) = self.map(key, false)?;
        match &self.registry {
            Registry::Files { system, software } => Ok((
                match hive {
                    OfflineHive::System => system,
                    OfflineHive::Software => software,
                },
                path,
            )),
            Registry::Loaded(_) => Err(HostError::failed(
                format!(r"HKLM\{key}"),
                "the hives are loaded: read through their mounts",
            )),
        }
    }

    fn service_key(name: &str) -> String {
        format!(r"SYSTEM\CurrentControlSet\Services\{name}")
    }

    fn refuse<T>(what: String) -> HostResult<T> {
        Err(HostError::refused(what, NOT_RUNNING))
    }

    /// A path the plan may touch: on the disk, or in the rescue VM's state directory.
    fn check_path(&self, path: &Path) -> HostResult<()> {
        let text = path.to_string_lossy().to_lowercase();
        let under = |p: PathBuf| {
            let p = p.to_string_lossy().to_lowercase();
            let p = p.trim_end_matches('\\');
            text == p || text.starts_with(&format!("{p}\\"))
        };
        if under(self.disk.root.clone()) || under(self.inner.state_dir()) {
            return Ok(());
        }
        Err(HostError::refused(
            path.display().to_string(),
            format!(
                "it is not on the attached disk ({}): an offline plan changes only that disk",
                self.disk.root.display()
            ),
        ))
    }

    fn cert_key(thumbprint: &str) -> String {
        format!(r"{RDP_CERTIFICATES}\{thumbprint}")
    }
}

fn start_type(n: u32) -> Option<StartType> {
    Some(match n {
        0 => StartType::Boot,
        1 => StartType::System,
        2 => StartType::Auto,
        3 => StartType::Demand,
        4 => StartType::Disabled,
        _ => return None,
    })
}

fn start_number(t: StartType) -> u32 {
    match t {
        StartType::Boot => 0,
        StartType::System => 1,
        StartType::Auto => 2,
        StartType::Demand => 3,
        StartType::Disabled => 4,
    }
}

/// The certificate (DER) inside a store entry's `Blob`: a list of properties, each
/// `{id, 1, length, bytes}` in little-endian `u32`s; id 32 (`CERT_CERT_PROP_ID`) is the
/// certificate. Empty when the blob holds none (it is kept whole for a restore anyway).
fn der_of_blob(blob: &[u8]) -> Vec<u8> {
    const CERT_CERT_PROP_ID: u32 = 32;
    let word = |at: usize| {
        blob.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    };
    let mut at = 0usize;
    while let (Some(id), Some(len)) = (word(at), word(at + 8)) {
        let start = at + 12;
        let Some(end) = start.checked_add(len as usize) else {
            break;
        };
        let Some(data) = blob.get(start..end) else {
            break;
        };
        if id == CERT_CERT_PROP_ID {
            return data.to_vec();
        }
        at = end;
    }
    Vec::new()
}

impl Host for OfflineHost<'_> {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    /// The disk's Windows' name (its SYSTEM hive's `ComputerName`).
    fn computer_names(&self) -> HostResult<ComputerNames> {
        Ok(ComputerNames {
            netbios: self.disk.computer.clone(),
            dns_fqdn: self.disk.computer.clone(),
        })
    }

    fn wine_prefix_owner(&self) -> HostResult<Option<String>> {
        self.inner.wine_prefix_owner()
    }

    fn reg_key_exists(&self, key: &str) -> HostResult<bool> {
        match self.mounted(key, false)? {
            Some(k) => self.inner.reg_key_exists(&k),
            None => {
                let (file, path) = self.file(key)?;
                file.key_exists(&path).map_err(host_error)
            }
        }
    }

    fn reg_get(&self, key: &str, name: &str) -> HostResult<Option<RegValue>> {
        match self.mounted(key, false)? {
            Some(k) => self.inner.reg_get(&k, name),
            None => {
                let (file, path) = self.file(key)?;
                file.lookup(&path, name).map_err(host_error)
            }
        }
    }

    fn reg_set(&self, key: &str, name: &str, value: &RegValue) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_set(&k, name, value)
    }

    fn reg_delete_value(&self, key: &str, name: &str) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_delete_value(&k, name)
    }

    fn reg_delete_empty_key(&self, key: &str) -> HostResult<()> {
        let k = self.mounted(key, true)?.unwrap_or_default();
        self.inner.reg_delete_empty_key(&k)
    }

    /// Never running; the start type is the service key's `Start`.
    fn service_status(&self, name: &str) -> HostResult<ServiceStatus> {
        let key = Self::service_key(name);
        if !self.reg_key_exists(&key)? {
            return Err(HostError::NotFound {
                what: format!("service {name} on the disk"),
            });
        }
        let start = self.reg_get(&key, "Start")?.and_then(|v| v.as_dword());
        let start_type = start.and_then(start_type).ok_or_else(|| {
            HostError::failed(
                format!(r"{key}\Start"),
                format!("not a start type Windows knows ({start:?})"),
            )
        })?;
        let delayed = self
            .reg_get(&key, "DelayedAutostart")?
            .and_then(|v| v.as_dword())
            .is_some_and(|d| d != 0);
        Ok(ServiceStatus {
            state: ServiceState::Stopped,
            start_type,
            delayed_auto_start: delayed,
        })
    }

    fn service_dependents(&self, name: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("the services that depend on {name}"))
    }

    /// Nothing runs on a disk.
    fn service_running_dependents(&self, _name: &str) -> HostResult<Vec<String>> {
        Ok(Vec::new())
    }

    fn service_stop(&self, name: &str, _wait: Duration) -> HostResult<()> {
        Self::refuse(format!("stop service {name}"))
    }

    fn service_start(&self, name: &str, _wait: Duration) -> HostResult<()> {
        Self::refuse(format!("start service {name}"))
    }

    fn service_set_start_type(&self, name: &str, start: StartType) -> HostResult<()> {
        self.service_status(name)?;
        self.reg_set(
            &Self::service_key(name),
            "Start",
            &RegValue::dword(start_number(start)),
        )
    }

    fn service_set_delayed_auto_start(&self, name: &str, delayed: bool) -> HostResult<()> {
        self.service_status(name)?;
        self.reg_set(
            &Self::service_key(name),
            "DelayedAutostart",
            &RegValue::dword(u32::from(delayed)),
        )
    }

    fn service_account(&self, name: &str) -> HostResult<String> {
        let key = Self::service_key(name);
        self.reg_get(&key, "ObjectName")?
            .and_then(|v| reg_text(&v))
            .ok_or_else(|| HostError::NotFound {
                what: format!(r"{key}\ObjectName"),
            })
    }

    fn service_set_account(&self, name: &str, _account: &str) -> HostResult<()> {
        Self::refuse(format!("change the account of service {name}"))
    }

    fn group_members(&self, group: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("members of {group} (in the disk's SAM hive)"))
    }

    fn group_add_member(&self, group: &str, member: &str) -> HostResult<()> {
        Self::refuse(format!("add {member} to {group} (in the disk's SAM hive)"))
    }

    fn group_remove_member(&self, group: &str, member: &str) -> HostResult<()> {
        Self::refuse(format!(
            "remove {member} from {group} (in the disk's SAM hive)"
        ))
    }

    fn account_rights(&self, sid: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("rights of {sid} (in the disk's SECURITY hive)"))
    }

    fn right_holders(&self, right: &str) -> HostResult<Vec<String>> {
        Self::refuse(format!("holders of {right} (in the disk's SECURITY hive)"))
    }

    fn account_rights_add(&self, sid: &str, right: &str) -> HostResult<()> {
        Self::refuse(format!(
            "grant {right} to {sid} (in the disk's SECURITY hive)"
        ))
    }

    fn account_rights_remove(&self, sid: &str, right: &str) -> HostResult<()> {
        Self::refuse(format!(
            "take {right} from {sid} (in the disk's SECURITY hive)"
        ))
    }

    fn firewall_rule_enabled(&self, rule_id: &str) -> HostResult<Option<bool>> {
        Self::refuse(format!("firewall rule {rule_id}"))
    }

    fn firewall_rule_set_enabled(&self, rule_id: &str, _enabled: bool) -> HostResult<()> {
        Self::refuse(format!("firewall rule {rule_id}"))
    }

    fn firewall_profiles(&self) -> HostResult<Vec<FirewallProfile>> {
        Self::refuse("firewall profiles".into())
    }

    fn port_listener(&self, port: u16) -> HostResult<Option<PortListener>> {
        Self::refuse(format!("who listens on port {port}"))
    }

    fn system_drive_space(&self) -> HostResult<DiskSpace> {
        Self::refuse("the system drive's space".into())
    }

    /// The store's certificates the disk held when its files were read, and those put
    /// back since, that are there now.
    fn cert_list(&self, _store: CertStore) -> HostResult<Vec<CertInfo>> {
        let mut out = Vec::new();
        let mut known = self.disk.certificates.clone();
        for t in self.added.borrow().iter() {
            if !known.iter().any(|k| k.eq_ignore_ascii_case(t)) {
                known.push(t.clone());
            }
        }
        for thumbprint in &known {
            let Some(blob) = self.reg_get(&Self::cert_key(thumbprint), "Blob")? else {
                continue;
            };
            out.push(CertInfo {
                thumbprint: thumbprint.to_uppercase(),
                subject: String::new(),
                not_after: None,
                der: der_of_blob(&blob.data),
                key: None,
                blob: Some(blob.data),
            });
        }
        Ok(out)
    }

    fn cert_delete(&self, _store: CertStore, thumbprint: &str) -> HostResult<()> {
        let key = Self::cert_key(thumbprint);
        if self.reg_get(&key, "Blob")?.is_none() {
            return Err(HostError::NotFound {
                what: format!("certificate {thumbprint}"),
            });
        }
        self.reg_delete_value(&key, "Blob")?;
        self.reg_delete_empty_key(&key)
    }

    fn cert_add(&self, _store: CertStore, cert: &CertInfo) -> HostResult<()> {
        let what = format!("certificate {}", cert.thumbprint);
        let blob = cert.blob.clone().ok_or_else(|| {
            HostError::refused(
                &what,
                "its backup holds no registry Blob (it was not taken from a disk)",
            )
        })?;
        // The thumbprint names a registry key: a SHA-1 in hex, nothing else.
        if cert.thumbprint.len() != 40 || !cert.thumbprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(HostError::refused(
                what,
                "its thumbprint is not a SHA-1 in hex",
            ));
        }
        self.reg_set(
            &Self::cert_key(&cert.thumbprint),
            "Blob",
            &RegValue::binary(blob),
        )?;
        self.added.borrow_mut().push(cert.thumbprint.clone());
        Ok(())
    }

    /// The disk's (`F:\ProgramData`).
    fn program_data(&self) -> PathBuf {
        on_disk(&self.disk.root, "ProgramData")
    }

    fn fs_object(&self, path: &Path) -> HostResult<FsObject> {
        self.check_path(path)?;
        self.inner.fs_object(path)
    }

    fn fs_children(&self, folder: &FsObject) -> HostResult<FsListing> {
        self.check_path(Path::new(&folder.path))?;
        self.inner.fs_children(folder)
    }

    fn sd_read(&self, obj: &FsObject) -> HostResult<String> {
        self.check_path(Path::new(&obj.path))?;
        self.inner.sd_read(obj)
    }

    fn sd_write(&self, obj: &FsObject, expect: &str, write: &SdWrite) -> HostResult<()> {
        self.check_path(Path::new(&obj.path))?;
        self.inner.sd_write(obj, expect, write)
    }

    fn create_admin_dir(&self, path: &Path) -> HostResult<Made> {
        self.check_path(path)?;
        self.inner.create_admin_dir(path)
    }

    fn state_dir(&self) -> PathBuf {
        self.inner.state_dir()
    }

    fn state_read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        self.inner.state_read(rel)
    }

    fn state_write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.inner.state_write(rel, bytes)
    }

    fn state_append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        self.inner.state_append(rel, bytes)
    }

    fn state_truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        self.inner.state_truncate(rel, len)
    }

    fn state_create_dir(&self, rel: &str) -> HostResult<()> {
        self.inner.state_create_dir(rel)
    }

    fn state_list(&self, rel: &str) -> HostResult<Vec<String>> {
        self.inner.state_list(rel)
    }

    fn lock(&self, wait: Duration) -> HostResult<()> {
        self.inner.lock(wait)
    }

    fn unlock(&self) {
        self.inner.unlock();
    }

    fn log_export(&self, export: &LogExport, _dir: &Path, _file: &str) -> HostResult<PathBuf> {
        Self::refuse(format!("export event log {}", export.channel))
    }

    fn zip_logs(&self, dir: &Path, _files: &[PathBuf]) -> HostResult<LogBundle> {
        Self::refuse(format!("zip logs into {}", dir.display()))
    }

    fn collect_file(&self, dir: &Path, name: &str, _from: FileSource<'_>) -> HostResult<PathBuf> {
        Self::refuse(format!("write {}", dir.join(name).display()))
    }

    fn log_query_text(&self, export: &LogExport, _max: u32) -> HostResult<String> {
        Self::refuse(format!("query event log {}", export.channel))
    }

    fn disk_roots(&self) -> HostResult<Vec<PathBuf>> {
        self.inner.disk_roots()
    }

    fn disk_read(&self, path: &Path, max: u64) -> HostResult<Vec<u8>> {
        self.check_path(path)?;
        self.inner.disk_read(path, max)
    }

    fn disk_open<'a>(&'a self, path: &Path, max: u64) -> HostResult<Box<dyn DiskReader + 'a>> {
        self.check_path(path)?;
        self.inner.disk_open(path, max)
    }

    fn disk_write(&self, path: &Path, bytes: &[u8]) -> HostResult<()> {
        self.check_path(path)?;
        self.inner.disk_write(path, bytes)
    }

    fn hive_load(&self, mount: &str, _file: &Path) -> HostResult<()> {
        Self::refuse(format!(r"load a hive as HKLM\{mount}"))
    }

    fn hive_unload(&self, mount: &str) -> HostResult<()> {
        Self::refuse(format!(r"unload HKLM\{mount}"))
    }

    fn task_dir(&self) -> PathBuf {
        self.inner.task_dir()
    }

    fn schedule_rollback(&self, plan_id: &str, _deadline: Timestamp) -> HostResult<()> {
        Err(HostError::refused(
            format!("a timed rollback of plan {plan_id}"),
            "--confirm-within is for a running VM reached over RDP; an offline plan is \
             checked before the disk goes back (fixer rollback undoes it)",
        ))
    }

    /// Nothing is ever scheduled for an offline plan.
    fn cancel_scheduled_rollback(&self, _plan_id: &str) -> HostResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_found_in_its_blob_and_a_short_blob_gives_none() {
        let mut blob = Vec::new();
        for (id, data) in [(2u32, vec![9u8; 5]), (32, vec![0x30, 0x82, 1, 2])] {
            blob.extend(id.to_le_bytes());
            blob.extend(1u32.to_le_bytes());
            blob.extend(u32::try_from(data.len()).unwrap_or(0).to_le_bytes());
            blob.extend(data);
        }
        assert_eq!(der_of_blob(&blob), [0x30, 0x82, 1, 2]);
        assert_eq!(
            der_of_blob(blob.get(..30).unwrap_or_default()),
            Vec::<u8>::new()
        );
        assert_eq!(der_of_blob(&[]), Vec::<u8>::new());
    }

    #[test]
    fn mounts_are_named_after_the_plan() {
        let m = Mounts::for_plan(&"3f2a9c1eaaaabbbbcccc000000000000".parse().unwrap());
        assert_eq!(m.system, "rdpfix-3f2a9c1e-SYSTEM");
        assert_eq!(m.software, "rdpfix-3f2a9c1e-SOFTWARE");
    }
}
