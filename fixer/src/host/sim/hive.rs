//! The simulated disk's hives: a hive file read whole into a tree when it is loaded
//! (`analyzer::input::hive::tree`, which refuses a dirty or damaged one), changed there by
//! the registry calls on its mount, and written back to the file when it is unloaded — as
//! Windows writes a loaded hive's changes — only when something was changed.

use crate::host::{HostError, HostResult, RegValue};
use analyzer::input::hive::tree::{self, KeySpec, same_name};
use serde::{Deserialize, Serialize};

/// A hive loaded under `HKLM\<mount>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimHive {
    /// The file it was loaded from (a key of `Machine::disk_files`).
    pub file: String,
    pub root: SimKey,
    /// What the file's header held, written back with the next sequence number.
    pub sequence: u32,
    pub minor: u32,
    pub file_name: String,
    /// A change was made since it was loaded: unloading writes the file.
    pub dirty: bool,
}

/// A key of a loaded hive, names as stored (compared without case).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimKey {
    pub name: String,
    #[serde(default)]
    pub values: Vec<(String, RegValue)>,
    #[serde(default)]
    pub subkeys: Vec<SimKey>,
}

impl SimHive {
    /// Reads the hive file's bytes whole; a dirty or damaged hive is refused as Windows
    /// would not load it as it is (a dirty one would be recovered from its logs first).
    pub fn load(file: &str, bytes: &[u8]) -> HostResult<SimHive> {
        let tree = tree::read_tree(bytes)
            .map_err(|e| HostError::failed(format!("load {file}"), e.to_string()))?;
        Ok(SimHive {
            file: file.to_owned(),
            root: SimKey::from_spec(&tree.root),
            sequence: tree.header.primary_sequence,
            minor: tree.header.minor,
            file_name: tree.header.file_name,
            dirty: false,
        })
    }

    /// The file's new bytes.
    pub fn write(&self) -> Vec<u8> {
        let next = self.sequence.wrapping_add(1);
        tree::HiveWriter {
            root: self.root.to_spec(),
            primary_sequence: next,
            secondary_sequence: next,
            minor: self.minor,
            file_name: self.file_name.clone(),
        }
        .write()
        .bytes
    }
}

fn parts(path: &str) -> impl Iterator<Item = &str> {
    path.split('\\').filter(|p| !p.is_empty())
}

impl SimKey {
    fn from_spec(k: &KeySpec) -> SimKey {
        SimKey {
            name: k.name.clone(),
            values: k
                .values
                .iter()
                .map(|(n, kind, data)| {
                    (
                        n.clone(),
                        RegValue {
                            kind: *kind,
                            data: data.clone(),
                        },
                    )
                })
                .collect(),
            subkeys: k.subkeys.iter().map(SimKey::from_spec).collect(),
        }
    }

    fn to_spec(&self) -> KeySpec {
        KeySpec {
            name: self.name.clone(),
            values: self
                .values
                .iter()
                .map(|(n, v)| (n.clone(), v.kind, v.data.clone()))
                .collect(),
            subkeys: self.subkeys.iter().map(SimKey::to_spec).collect(),
        }
    }

    pub fn find(&self, path: &str) -> Option<&SimKey> {
        let mut at = self;
        for part in parts(path) {
            at = at.subkeys.iter().find(|k| same_name(&k.name, part))?;
        }
        Some(at)
    }

    /// The key at `path`, made with its parents when missing (as `RegCreateKeyExW`).
    pub fn create(&mut self, path: &str) -> &mut SimKey {
        let mut at = self;
        for part in parts(path) {
            let i = match at.subkeys.iter().position(|k| same_name(&k.name, part)) {
                Some(i) => i,
                None => {
                    at.subkeys.push(SimKey {
                        name: part.to_owned(),
                        ..SimKey::default()
                    });
                    at.subkeys.len() - 1
                }
            };
            // `i` was just found, or is the key just pushed.
            #[allow(clippy::indexing_slicing)]
            {
                at = &mut at.subkeys[i];
            }
        }
        at
    }

    pub fn value(&self, path: &str, name: &str) -> Option<&RegValue> {
        self.find(path)?
            .values
            .iter()
            .find(|(n, _)| same_name(n, name))
            .map(|(_, v)| v)
    }

    pub fn set(&mut self, path: &str, name: &str, value: RegValue) {
        let key = self.create(path);
        match key.values.iter_mut().find(|(n, _)| same_name(n, name)) {
            Some(slot) => slot.1 = value,
            None => key.values.push((name.to_owned(), value)),
        }
    }

    /// Deleting a value that is not there succeeds, as on Windows.
    pub fn delete_value(&mut self, path: &str, name: &str) {
        let mut at = Some(self);
        for part in parts(path) {
            at = at.and_then(|k| k.subkeys.iter_mut().find(|s| same_name(&s.name, part)));
        }
        if let Some(key) = at {
            key.values.retain(|(n, _)| !same_name(n, name));
        }
    }

    /// Deletes the empty key at `path` (not the root); refuses one with values or subkeys.
    pub fn delete_empty_key(&mut self, path: &str) -> Result<(), &'static str> {
        let all: Vec<&str> = parts(path).collect();
        let Some((last, up)) = all.split_last() else {
            return Err("the hive's root cannot be deleted");
        };
        let mut at = Some(self);
        for part in up {
            at = at.and_then(|k| k.subkeys.iter_mut().find(|s| same_name(&s.name, part)));
        }
        let Some(parent) = at else { return Ok(()) };
        let Some(i) = parent.subkeys.iter().position(|k| same_name(&k.name, last)) else {
            return Ok(());
        };
        if parent
            .subkeys
            .get(i)
            .is_some_and(|k| !k.values.is_empty() || !k.subkeys.is_empty())
        {
            return Err("key is not empty");
        }
        parent.subkeys.remove(i);
        Ok(())
    }
}
