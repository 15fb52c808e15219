//! `fixer keygen`: the key file it writes signs plans that verify against the public key
//! it prints.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use analyzer::envelope::{PublicKey, SecretKey};
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rdpfix-keygen-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn keygen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fixer"))
        .arg("--json")
        .arg("keygen")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn writes_a_key_whose_public_key_and_fingerprint_it_prints() {
    let dir = scratch("new");
    let path = dir.join("ops.key");
    let out = keygen(&[path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let printed: PublicKey = report["public_key"].as_str().unwrap().parse().unwrap();
    let key = SecretKey::from_file_text(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(key.public_key(), printed);
    assert_eq!(
        report["fingerprint"].as_str().unwrap(),
        printed.fingerprint().to_string()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn never_replaces_a_key_without_force() {
    let dir = scratch("exists");
    let path = dir.join("ops.key");
    assert!(keygen(&[path.to_str().unwrap()]).status.success());
    let first = std::fs::read_to_string(&path).unwrap();

    let again = keygen(&[path.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), first);

    let forced = keygen(&[path.to_str().unwrap(), "--force"]);
    assert!(forced.status.success());
    assert_ne!(std::fs::read_to_string(&path).unwrap(), first);
    let _ = std::fs::remove_dir_all(dir);
}
