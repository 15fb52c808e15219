//! `fixer keygen <keyfile>`: a signing key for `fixer plan`, on the admin's workstation.
//!
//! The key file's format is analyzer's ([`SecretKey::to_file_text`]); the public key it
//! prints is what `fixer trust add` takes on the VM, and the fingerprint what both sides
//! show for comparison.

use super::{CommandError, CommandResult};
use crate::cli::KeygenArgs;
use crate::exit::Exit;
use crate::report::{Report, ascii_safe};
use analyzer::envelope::SecretKey;
use anyhow::Context;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

pub fn run(args: &KeygenArgs) -> CommandResult {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)
        .map_err(|e| CommandError::new(Exit::Failure, anyhow::anyhow!("no OS randomness: {e}")))?;
    let key = SecretKey::from_seed(seed);
    seed.fill(0);
    write_secret(&args.keyfile, &key.to_file_text(), args.force)
        .map_err(|e| CommandError::new(Exit::Failure, e))?;
    let public = key.public_key();
    Ok(Box::new(KeygenReport {
        keyfile: args.keyfile.display().to_string(),
        public_key: public.to_string(),
        fingerprint: public.fingerprint().to_string(),
    }))
}

/// Creates the key file readable by its owner only; never replaces one unless `force`.
fn write_secret(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).with_context(|| {
        if path.exists() && !force {
            format!(
                "{} already exists: keep that key, or add --force to replace it (plans it signed stop verifying)",
                path.display()
            )
        } else {
            format!("cannot create {}", path.display())
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[derive(Debug, Serialize)]
struct KeygenReport {
    keyfile: String,
    public_key: String,
    fingerprint: String,
}

impl Report for KeygenReport {
    fn exit(&self) -> Exit {
        Exit::Success
    }

    fn text(&self) -> String {
        format!(
            "Signing key written to {}. Keep it secret.\n\
             public key:  {}\n\
             fingerprint: {}\n\
             On the VM, enrol it (then compare the fingerprint it prints with the one above):\n\
             \x20 fixer.exe trust add {} --label <your name>\n",
            ascii_safe(&self.keyfile),
            self.public_key,
            self.fingerprint,
            self.public_key
        )
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}
