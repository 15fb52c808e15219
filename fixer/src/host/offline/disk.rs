//! The attached disk as found, before anything is loaded: which disk ([`find_disk`]), what
//! its hives say about it ([`Disk`]), and a hive file read in place ([`HiveFile`]).
//!
//! Invariants: only reads (through [`Host::disk_open`], by handle); a hive file is never
//! held whole — its base block is checked, its bins mapped, then only the cells a lookup
//! needs are read (memory: the bin map and those cells, whatever the file's size); a dirty
//! hive (its logs not replayed) or a damaged one is refused with why, a damaged cell on a
//! key's path is an error, never "absent"; a registry symbolic link on the path is refused,
//! never followed.

use crate::host::*;
use analyzer::input::hive::regf::{self, Hive};

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
        let text = |v: Option<RegValue>| v.and_then(|v| v.as_text());
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
