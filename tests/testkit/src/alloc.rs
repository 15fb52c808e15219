//! An allocator that refuses any single allocation over a cap, for the tests of parsers of
//! untrusted input: a length read from the input that sizes an allocation then fails the
//! test (the process aborts with "memory allocation of N bytes failed"), even on a machine
//! that overcommits memory and would have let a 4 GB reservation pass. `cargo xtask fuzz`
//! puts the same cap on the fuzz targets (libFuzzer's `-malloc_limit_mb`).
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: testkit::alloc::Capped = testkit::alloc::Capped::new(testkit::alloc::MAX_ALLOCATION_BYTES);
//! ```

use std::alloc::{GlobalAlloc, Layout, System};

/// The largest single allocation a parser may make on the inputs of the tests and the fuzz
/// targets (all of them small): far above any legitimate one (a chunk, a block, a field),
/// far below what a length taken from the input on trust asks for.
pub const MAX_ALLOCATION_BYTES: usize = 64 * 1024 * 1024;

/// The system allocator, refusing any allocation over `max` bytes.
#[derive(Debug)]
pub struct Capped {
    max: usize,
}

impl Capped {
    pub const fn new(max: usize) -> Capped {
        Capped { max }
    }
}

// The one `unsafe` here: a `GlobalAlloc` cannot be written without it. Every call is passed
// to `System` unchanged, or answered with null (allocation failure) when over the cap.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Capped {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > self.max {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller's contract for `alloc` holds for `System` too.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > self.max {
            return std::ptr::null_mut();
        }
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > self.max {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` came from `System` through this allocator, with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
