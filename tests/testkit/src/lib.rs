//! Test support: fixture paths and builders shared by the crates' tests.
//!
//! - [`evtx_writer`]: builds valid `.evtx` files from events (`EvtxWriter`), and buries test
//!   events among thousands of real ordinary ones (`bury`).
//! - [`seed`]: the seed article's events, per scenario.
//! - [`samples`]: the page's sample logs (deterministic generator).
//! - [`fuzz`]: the bodies of the `cargo fuzz` targets, replayed natively on their seeds.
//! - [`hive_writer`]: registry hives (`regf`) for fixtures, which hivex cannot create.
//! - [`plans`]: plans, keys, fix tokens and DSSE envelopes as the page makes them.
//! - [`alloc`]: an allocator refusing any allocation over a cap, for tests of parsers.

pub mod alloc;
pub mod evtx_writer;
pub mod fuzz;
pub mod hive_writer;
pub mod plans;
pub mod samples;
pub mod seed;

use std::path::PathBuf;

pub use evtx_writer::{DataLayout, EvtxWriter, Record, bury, event, seal_chunks};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fixture under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// Every `.evtx` of the fixtures, the page's samples and the fuzz seeds, sorted. Panics when
/// a folder cannot be read (a test's setup failing).
#[allow(clippy::expect_used)]
pub fn evtx_fixture_files() -> Vec<PathBuf> {
    let root = repo_root();
    let mut dirs = vec![
        root.join("tests/fixtures"),
        root.join("static/samples"),
        root.join("fuzz/seeds"),
    ];
    let mut files = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a fixture folder") {
            let path = entry.expect("a fixture file").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "evtx") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The rule fixture folders (`tests/fixtures/rules/<rule>/`), sorted: the scripts that
/// write some of them live beside them and are not rules. Panics when the folder cannot be
/// read (a test's setup failing).
#[allow(clippy::expect_used)]
pub fn rule_fixture_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture("rules"))
        .expect("tests/fixtures/rules")
        .map(|entry| entry.expect("a rule fixture folder").path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}
