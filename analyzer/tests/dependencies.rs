//! The analyzer's modules depend on each other one way, as ARCHITECTURE.md says: every
//! `crate::` path (and every `super::` chain that climbs to the crate root) in
//! `analyzer/src` is checked against the list there. The modules are not crates of their
//! own, so this test is what keeps the direction.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A → the modules A may use (besides `event`, which every module may use, and the items
/// `lib.rs` itself defines). Kept in step with ARCHITECTURE.md's "Module dependencies".
const ALLOWED: &[(&str, &[&str])] = &[
    ("event", &[]),
    ("plan", &[]),
    ("input", &["config"]),
    ("config", &["input"]),
    ("rules", &["input", "plan", "config"]),
    ("diagnose", &["input", "rules", "plan", "config"]),
    ("evidence_block", &["input", "rules"]),
    ("envelope", &["plan"]),
    ("remote", &["rules", "envelope", "config"]),
];

#[test]
fn modules_depend_on_each_other_as_the_map_says() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let modules = declared_modules(&lib);
    let reexported = reexports(&lib);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    assert_eq!(
        modules.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        allowed.keys().copied().collect::<BTreeSet<_>>(),
        "every module of lib.rs needs its row in ALLOWED (and ARCHITECTURE.md)"
    );

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let Some(path) = module_path(relative) else {
            continue; // lib.rs: the root may use every module
        };
        let text = without_comments(&std::fs::read_to_string(&file).unwrap());
        for used in used_modules(&text, &path, &modules, &reexported) {
            let from = &path[0];
            if used == *from {
                continue;
            }
            seen.entry(from.clone()).or_default().insert(used.clone());
            let ok = used == "event" || allowed[from.as_str()].contains(&used.as_str());
            if !ok {
                wrong.push(format!("{} uses `{used}`", relative.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "edges against the direction ARCHITECTURE.md gives:\n{}",
        wrong.join("\n")
    );
    // The checker sees what it must: the edges the map names are found in the code.
    for (from, to) in [
        ("rules", "plan"),
        ("diagnose", "rules"),
        ("envelope", "plan"),
        ("input", "config"),
        ("config", "input"),
        ("remote", "envelope"),
        ("evidence_block", "rules"),
    ] {
        assert!(
            seen.get(from).is_some_and(|s| s.contains(to)),
            "{from} → {to} not found: {seen:?}"
        );
    }
}

#[test]
fn the_checker_reads_paths_as_rust_resolves_them() {
    let modules: BTreeSet<String> = ["input", "rules", "plan", "event"].map(String::from).into();
    let reexported: BTreeMap<String, String> = [("Event".to_owned(), "event".to_owned())].into();
    let path = |p: &str| p.split("::").map(String::from).collect::<Vec<_>>();
    let used = |text: &str, at: &[String]| used_modules(text, at, &modules, &reexported);
    let deep = path("rules::collector::signal");
    assert_eq!(used("use crate::plan::Step;", &deep), ["plan"]);
    assert_eq!(used("use crate::Event;", &deep), ["event"]);
    // signal → collector → rules → the crate root, then a module.
    assert_eq!(used("use super::super::super::input::X;", &deep), ["input"]);
    assert!(used("use super::super::matching;", &deep).is_empty());
    let top = path("rules");
    assert_eq!(used("use super::plan::Step;", &top), ["plan"]);
    assert_eq!(
        module_path(Path::new("rules/collector/mod.rs")).unwrap(),
        path("rules::collector")
    );
    assert_eq!(module_path(Path::new("event.rs")).unwrap(), path("event"));
    assert_eq!(
        without_comments("a // crate::plan\n/// crate::x\nb"),
        "a \n\nb"
    );
}

/// `pub mod x;` lines of lib.rs.
fn declared_modules(lib: &str) -> BTreeSet<String> {
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .filter_map(|l| l.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// Names lib.rs re-exports (`pub use module::{A, B};`) → their module.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            out.insert(name.trim().to_owned(), module.to_owned());
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file under `src/` is: `rules/collector/mod.rs` → `rules::collector`.
/// `None` for `lib.rs`.
fn module_path(relative: &Path) -> Option<Vec<String>> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "lib.rs" if parts.is_empty() => return None,
        "mod.rs" => {}
        file => parts.push(file.trim_end_matches(".rs").to_owned()),
    }
    Some(parts)
}

/// `text` without `//` comments (doc links name paths that are not dependencies). A `//`
/// inside a string literal cuts that line short: a path after it on the line is missed,
/// which the code here does not have.
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.find("//").map_or(l, |at| &l[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules the code of module `at` names: `crate::x…`, a name lib.rs
/// re-exports (`crate::Event` → `event`), and `super::` chains that climb to the root.
/// Inline `mod` blocks are not followed: a `super` inside one is counted from the file's
/// module, which can raise a false alarm (a submodule named as a top-level one) but never
/// misses a path that reaches the root.
fn used_modules(
    text: &str,
    at: &[String],
    modules: &BTreeSet<String>,
    reexported: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = BTreeSet::new();
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.contains("::"))
        .collect();
    for word in words {
        let segments: Vec<&str> = word.split("::").filter(|s| !s.is_empty()).collect();
        let from_root = match segments.first() {
            Some(&"crate") => segments.get(1),
            Some(&"super") => {
                let climbs = segments.iter().take_while(|s| **s == "super").count();
                // A file's own module is `at`; each `super` is one step up from it.
                if climbs >= at.len() {
                    segments.get(climbs)
                } else {
                    None
                }
            }
            _ => None,
        };
        let Some(first) = from_root else { continue };
        if modules.contains(*first) {
            out.insert((*first).to_owned());
        } else if let Some(module) = reexported.get(*first) {
            out.insert(module.clone());
        }
    }
    out.into_iter().collect()
}
