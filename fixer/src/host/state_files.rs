//! The state directory's files on a real file system, shared by the Windows and the posix
//! host: atomic replace, flushed appends, truncation, exclusive folder creation, listing, and
//! the machine-wide lock. The directory itself is judged by `safe_folder` before any of
//! these run: nobody but SYSTEM and Administrators can have put anything in it.

use super::{HostError, HostResult};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The file whose exclusive lock is the machine-wide lock.
const LOCK_FILE: &str = "lock";

#[derive(Debug)]
pub struct StateFiles {
    root: PathBuf,
    /// The lock file while this process holds the lock (the OS lets go when it dies).
    lock: std::cell::RefCell<Option<fs::File>>,
}

pub fn io_err(what: impl Into<String>, e: &std::io::Error) -> HostError {
    let what = what.into();
    match e.raw_os_error() {
        #[cfg(windows)]
        Some(code) => HostError::Os {
            what,
            code: code as u32,
            message: super::windows::message(code as u32),
        },
        _ => HostError::failed(what, e.to_string().to_lowercase()),
    }
}

impl StateFiles {
    pub fn new(root: PathBuf) -> Self {
        StateFiles {
            root,
            lock: std::cell::RefCell::new(None),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` (`/` separators) under the root; empty parts and `..` are dropped, so a name
    /// never leaves the state directory.
    pub fn path(&self, rel: &str) -> PathBuf {
        rel.split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
            .fold(self.root.clone(), |p, part| p.join(part))
    }

    pub fn read(&self, rel: &str) -> HostResult<Option<Vec<u8>>> {
        let path = self.path(rel);
        match fs::read(&path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("read {}", path.display()), &e)),
        }
    }

    /// Write beside, flush to disk, rename over: the old file or the new one, never half.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("write {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        let tmp = path.with_extension("tmp~");
        let mut f = fs::File::create(&tmp).map_err(|e| io_err(&what, &e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&what, &e))?;
        drop(f);
        fs::rename(&tmp, &path).map_err(|e| io_err(&what, &e))
    }

    /// Appends and flushes the data and the file's size (`sync_all`: FlushFileBuffers on
    /// Windows, fsync elsewhere) before returning.
    pub fn append(&self, rel: &str, bytes: &[u8]) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("append to {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        let mut f = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_err(&what, &e))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&what, &e))
    }

    pub fn truncate(&self, rel: &str, len: u64) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("truncate {}", path.display());
        let f = fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&what, &e))?;
        f.set_len(len)
            .and_then(|()| f.sync_all())
            .map_err(|e| io_err(&what, &e))
    }

    /// Creates `rel`, which must not exist (`CreateDirectoryW` / `mkdir` fail if it does):
    /// of two runs racing to create it, one gets [`HostError::Exists`].
    pub fn create_dir(&self, rel: &str) -> HostResult<()> {
        let path = self.path(rel);
        let what = format!("create {}", path.display());
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_err(&what, &e))?;
        }
        match fs::create_dir(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(HostError::Exists { what })
            }
            Err(e) => Err(io_err(what, &e)),
        }
    }

    pub fn list(&self, rel: &str) -> HostResult<Vec<String>> {
        let dir = self.path(rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(format!("list {}", dir.display()), &e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".tmp~") && (!rel.is_empty() || n != LOCK_FILE))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Takes an exclusive lock on `<root>/lock`, retrying until `wait` has passed.
    pub fn lock(&self, wait: Duration) -> HostResult<()> {
        let path = self.path(LOCK_FILE);
        let what = path.display().to_string();
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err(&what, &e))?;
        let deadline = Instant::now() + wait;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    *self.lock.borrow_mut() = Some(file);
                    return Ok(());
                }
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(HostError::Busy { what }),
                Err(fs::TryLockError::Error(e)) => return Err(io_err(what, &e)),
            }
        }
    }

    pub fn unlock(&self) {
        if let Some(f) = self.lock.borrow_mut().take() {
            let _ = f.unlock();
        }
    }
}
