//! How much memory reading a text export takes beyond the text itself: a small multiple of
//! its size, whatever its lines (session 11's probe F10: 10 MB of empty lines took 1.2 GB,
//! tens of bytes a line held at once). A test binary of its own, for the allocator that
//! counts what is held.
#![allow(clippy::unwrap_used)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use analyzer::input::{FnSink, no_progress, read_bytes};

/// The system allocator, counting the bytes held now and the most held since [`reset`].
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let now = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// A `GlobalAlloc` cannot be written without `unsafe`: every call is passed to `System`
// unchanged, and only counted.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: the caller's contract for `alloc` holds for `System` too.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Both blocks are held while the old one is copied.
        grew(new_size);
        HELD.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// The most memory held at once while `bytes` (held by the caller) were read, beyond what
/// was held before, and the events read. One test at a time: the count is the process's.
fn peak_reading(bytes: &[u8]) -> (usize, u64) {
    let before = HELD.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut events = 0u64;
    let mut sink = FnSink(|_| events += 1);
    let report = read_bytes("big.txt", bytes, &mut sink, &mut no_progress);
    assert_eq!(report.events, events);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    eprintln!("{} bytes read: {peak} bytes held at most", bytes.len());
    (peak, events)
}

/// The one test of this binary: the count above is the process's, so its cases run in turn.
#[test]
fn reading_a_text_takes_a_small_multiple_of_its_size() {
    // 4 MB of empty lines: four million lines, no event (10 MB of them peaked at
    // 1,112,272 KB RSS before session 12); now the text's copy and 4 bytes a line.
    let empty = vec![b'\n'; 4_000_000];
    let (peak, events) = peak_reading(&empty);
    assert_eq!(events, 0);
    assert!(
        peak <= 8 * empty.len(),
        "{peak} bytes held for {} bytes of empty lines",
        empty.len()
    );
    // A real wevtutil export repeated to 8 MiB: the text's copy, its line starts, one
    // event's lines at a time.
    let one = std::fs::read(testkit::fixture("inputs/wevtutil-en-2016.txt")).unwrap();
    let copies = 8 * 1024 * 1024 / one.len();
    let mut text = Vec::with_capacity(one.len() * copies);
    for _ in 0..copies {
        text.extend_from_slice(&one);
        if !one.ends_with(b"\n") {
            text.push(b'\n');
        }
    }
    let (peak, events) = peak_reading(&text);
    assert!(events > 0);
    assert!(
        peak <= 2 * text.len(),
        "{peak} bytes held for a {} byte export",
        text.len()
    );
}
