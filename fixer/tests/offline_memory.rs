//! The memory an offline plan's checks take: the disk's hive files are read in place (the
//! cells a lookup needs), never whole. A SOFTWARE hive of ~48 MiB on the simulated disk;
//! the allocator here keeps the high-water mark of the bytes allocated, so each command's
//! peak above what was allocated before it is measured. A test binary of its own, for the
//! allocator; one test, so nothing else allocates at the same time.
//!
//! `cargo test -p fixer --test offline_memory -- --nocapture` prints the figures.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use clap::Parser;
use fixer::cli::Cli;
use fixer::exit::Exit;
use fixer::host::sim::{DiskFile, Machine, SimHost};
use fixer::operator::Nobody;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use support::{PlanSpec, key, now, plan, token};
use testkit::hive_writer::{DISK_GUID as GUID, DiskHives};
use testkit::plans::for_disk;

/// The system allocator, counting the bytes it has out and their high-water mark.
struct Peak;

static NOW_OUT: AtomicUsize = AtomicUsize::new(0);
static HIGH: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = NOW_OUT.fetch_add(by, Ordering::SeqCst) + by;
    HIGH.fetch_max(now, Ordering::SeqCst);
}

// A `GlobalAlloc` cannot be written without `unsafe`: every call is passed to `System`
// unchanged and only counted.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` holds for `System` too.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NOW_OUT.fetch_sub(layout.size(), Ordering::SeqCst);
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            NOW_OUT.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Peak = Peak;

/// `f`'s result and the most bytes it had allocated at once beyond what was out before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = NOW_OUT.load(Ordering::SeqCst);
    HIGH.store(base, Ordering::SeqCst);
    let out = f();
    (out, HIGH.load(Ordering::SeqCst) - base)
}

const MIB: usize = 1 << 20;

/// `fixer <args>` in this process: the exit and the text report (or the error).
fn run(host: &SimHost, args: &[&str]) -> (Exit, String) {
    let cli = Cli::try_parse_from(std::iter::once("fixer").chain(args.iter().copied())).unwrap();
    fixer::commands::run(&cli, host, &Nobody).map_or_else(
        |e| (e.exit, format!("error: {:#}", e.error)),
        |report| (report.exit(), report.text()),
    )
}

#[test]
fn verify_and_the_dry_run_read_a_48_mib_hive_in_place() {
    // 3,000 keys of 16,000 bytes each: a SOFTWARE hive as large as a real one with a few
    // applications installed.
    let disk = DiskHives::new(1, GUID).edit_software(|s| {
        s.key(r"Policies\Microsoft\Windows NT\Terminal Services")
            .dword("fDenyTSConnections", 1);
        for i in 0..3000u32 {
            s.key(&format!(r"Classes\Padding{i:05}"))
                .set("Data", 3, vec![(i % 251) as u8; 16_000]);
        }
    });
    let mut m = Machine::new("RESCUE01", "rescue01", now());
    for (rel, bytes) in disk.files() {
        m.disk_files.insert(format!(r"F:\{rel}"), DiskFile(bytes));
    }
    let hive_bytes = m.disk_files[r"F:\Windows\System32\config\SOFTWARE"].0.len();
    assert!(hive_bytes > 45 * MIB, "{hive_bytes}");

    let host = support::trusted(m);
    let config = support::config_steps();
    let p = plan(
        &[config[0].clone(), config[1].clone()],
        &PlanSpec::new("VM-APP-01", now()),
    );
    let t = token(&for_disk(p, GUID, 1), &key(1));

    let ((exit, text), verify) = peak_of(|| run(&host, &["verify", "--offline", "auto", &t]));
    assert_eq!(exit, Exit::Success, "{text}");
    let ((exit, text), dry) =
        peak_of(|| run(&host, &["apply", "--offline", "auto", "--dry-run", &t]));
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(text.contains("DRY RUN: 2 step(s) would change"), "{text}");
    let ((exit, text), apply) =
        peak_of(|| run(&host, &["apply", "--offline", "auto", "--yes", &t]));
    assert_eq!(exit, Exit::Success, "{text}");
    eprintln!(
        "SOFTWARE hive {:.1} MiB: peak allocated beyond the start: verify --offline {:.2} MiB, \
         apply --offline --dry-run {:.2} MiB, apply --offline --yes {:.1} MiB (the simulated \
         RegLoadKeyW/RegUnLoadKeyW read and write each hive whole, as the kernel would)",
        hive_bytes as f64 / MIB as f64,
        verify as f64 / MIB as f64,
        dry as f64 / MIB as f64,
        apply as f64 / MIB as f64,
    );
    // Reading either hive whole would take 48 MiB at least; in place it takes the bin map
    // and the cells a lookup reads.
    assert!(verify < 4 * MIB, "verify: {verify} bytes");
    assert!(dry < 4 * MIB, "dry-run: {dry} bytes");
}
