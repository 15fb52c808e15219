//! rdpfix's core, shared by the web page (wasm32) and the native `fixer`.
//!
//! Everything here is pure: bytes and a clock value go in, data comes out. No file system,
//! no network, no wall clock, no randomness (callers pass them in), and no panic on any
//! input — in the browser a panic kills the page.
#![forbid(unsafe_code)]

pub mod config;
pub mod diagnose;
pub mod envelope;
pub mod event;
pub mod evidence_block;
pub mod input;
pub mod plan;
pub mod remote;
pub mod rules;

pub use event::{Event, Level, Location, Origin};

/// The analyzer's version, recorded in every signed plan.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
