//! Every `cargo fuzz` target's seed corpus, replayed on stable through the very functions
//! the targets call (`testkit::fuzz`), whole and cut short: CI exercises each parser of
//! untrusted input on its seeds without nightly, under the allocation cap `cargo xtask fuzz`
//! gives libFuzzer (an input that makes a parser reserve what it announces aborts this test
//! even where memory is overcommitted). Also keeps the fuzz crate, its targets and their
//! seeds in step.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::PathBuf;
use testkit::alloc::{Capped, MAX_ALLOCATION_BYTES};
use testkit::fuzz::TARGETS;

#[global_allocator]
static ALLOC: Capped = Capped::new(MAX_ALLOCATION_BYTES);

fn fuzz_dir() -> PathBuf {
    testkit::repo_root().join("fuzz")
}

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("seeds").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_fuzz_target_survives_its_seeds_whole_and_cut() {
    for (name, body) in TARGETS {
        let files = seeds(name);
        assert!(!files.is_empty(), "fuzz/seeds/{name}/ has no seed");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            body(&data);
            // Cut where a console or Run Command would: a tail, a head, the middle.
            for cut in [
                1,
                7,
                data.len() / 3,
                data.len() / 2,
                data.len().saturating_sub(5),
            ] {
                let cut = cut.min(data.len());
                body(&data[..cut]);
                body(&data[cut..]);
            }
        }
    }
}

#[test]
fn the_fuzz_crate_registers_every_target_and_nothing_else() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("\n[workspace]\n"),
        "the fuzz crate must stay out of the root workspace"
    );
    let mut files: Vec<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_owned()))
        .collect();
    files.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    names.sort();
    assert_eq!(
        files, names,
        "fuzz_targets/ and testkit::fuzz::TARGETS differ"
    );
    for name in &names {
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml does not register {name}"
        );
        let source =
            std::fs::read_to_string(fuzz_dir().join("fuzz_targets").join(format!("{name}.rs")))
                .unwrap();
        assert!(
            source.contains(&format!("testkit::fuzz::{name}(data)")),
            "fuzz_targets/{name}.rs must call testkit::fuzz::{name}"
        );
    }
}

#[test]
fn cargo_xtask_fuzz_caps_allocations_as_this_replay_does() {
    let xtask = std::fs::read_to_string(testkit::repo_root().join("xtask/src/fuzz.rs")).unwrap();
    let mb = MAX_ALLOCATION_BYTES / (1024 * 1024);
    assert!(
        xtask.contains(&format!("pub const MALLOC_LIMIT_MB: u32 = {mb};")),
        "xtask/src/fuzz.rs must give libFuzzer -malloc_limit_mb={mb} (testkit::alloc's cap)"
    );
}
