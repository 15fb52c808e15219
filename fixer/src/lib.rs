//! `fixer`: the native end of rdpfix. See ARCHITECTURE.md for the map.
//!
//! Every effect on the machine goes through [`host::Host`]; commands compute reports and
//! `main` prints them. Unsafe code is confined to the Windows host (`host::windows`), where
//! Win32 calls need it.
#![deny(unsafe_code)]

pub mod bundle;
pub mod cli;
pub mod commands;
pub mod executor;
pub mod exit;
pub mod host;
pub mod inputs;
pub mod journal;
pub mod offline;
pub mod operator;
pub mod report;
pub mod safe_folder;
pub mod sddl;
pub mod state_dir;
pub mod token;
pub mod trust;
pub mod verification;

use host::sim::{Fault, Machine, SimHost};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file `--simulate` reads and writes back: a machine and an optional fault to inject.
#[derive(Debug, Serialize, Deserialize)]
pub struct SimFile {
    pub machine: Machine,
    #[serde(default)]
    pub fault: Option<Fault>,
}

impl SimFile {
    pub fn load(path: &Path) -> anyhow::Result<SimHost> {
        let bytes = std::fs::read(path)?;
        let file: SimFile = serde_json::from_slice(&bytes)?;
        let host = SimHost::new(file.machine);
        if let Some(f) = file.fault {
            host.inject(f);
        }
        Ok(host)
    }

    pub fn save(path: &Path, host: &SimHost) -> anyhow::Result<()> {
        let file = SimFile {
            machine: host.machine(),
            fault: None,
        };
        std::fs::write(path, serde_json::to_vec_pretty(&file)?)?;
        Ok(())
    }
}
