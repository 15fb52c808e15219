//! Properties of the `.evtx` paths real diagnoses take, on damaged chunks whose CRC32s were
//! made to match again (`testkit::seal_chunks`), so damage that the checksum would have kept
//! away reaches the `Details::Checked` walk and the page's chunk ranges: no panic, no
//! allocation over testkit's cap, every record read or skipped as the `evtx` crate's full
//! read does, and ranges merged in order equal to one read.
//!
//! Not checked: that the walk skips exactly the records the crate skips. It reads only what
//! a tally needs, so a record whose other values are damaged (event data, a nested
//! template) is counted by it and skipped by the crate — about one single-byte damage in 30
//! here. A checksum that matches such damage is not what Windows writes.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::{ChunkPart, EvtxMerge, no_progress, parse_evtx_chunks};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::ops::ControlFlow;
use testkit::alloc::{Capped, MAX_ALLOCATION_BYTES};
use testkit::seal_chunks;

#[global_allocator]
static ALLOC: Capped = Capped::new(MAX_ALLOCATION_BYTES);

const NAME: &str = "damaged.evtx";

/// The file header and first two chunks of a real System log (templated records, CRC32s).
fn two_chunks() -> &'static [u8] {
    const SYSTEM: &[u8] = include_bytes!("../../tests/fixtures/corpus/system.evtx");
    &SYSTEM[..4096 + 2 * 65536]
}

/// `bytes` with `flips` applied inside its chunks, then sealed.
fn damaged(flips: &[(usize, u8)]) -> Vec<u8> {
    let mut bytes = two_chunks().to_vec();
    for (at, v) in flips {
        bytes[4096 + at % (2 * 65536)] = *v;
    }
    seal_chunks(&mut bytes);
    bytes
}

fn diagnose(bytes: &[u8], whole: bool) -> Diagnosis {
    let mut session = Session::new();
    if whole {
        session = session.read_every_record_whole();
    }
    session.add_bytes(NAME, bytes, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

/// The page's read (`web/src/split.rs`): ranges of `batch` chunks merged in order into a
/// session, the digest given at the end.
fn diagnose_in_ranges(bytes: &[u8], batch: u64) -> Diagnosis {
    let mut session = Session::new();
    let report = {
        let mut sink = session.input_sink();
        let mut progress = no_progress;
        let head = &bytes[..bytes.len().min(4096)];
        let mut merge = EvtxMerge::new(NAME, head, bytes.len() as u64, &mut sink, &mut progress);
        let layout = merge.layout();
        let details = merge.details();
        let mut parts: Vec<ChunkPart> = Vec::new();
        let mut from = 0;
        while from < layout.chunks {
            let to = (from + batch).min(layout.chunks);
            // The batch's bytes alone, as a reader hands them over (the last chunk may be
            // cut short by the file's end).
            let start = layout.chunk_offset(from);
            let end = (layout.chunk_offset(to) as usize).min(bytes.len());
            parse_evtx_chunks(
                &bytes[(start as usize).min(end)..end],
                start,
                &layout,
                from..to,
                NAME,
                &details,
                &mut |p| {
                    parts.push(p);
                    ControlFlow::Continue(())
                },
            );
            from = to;
        }
        for part in parts {
            assert!(merge.push(part).is_continue());
        }
        let (at, n) = layout.tail();
        let sha256 = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        merge.finish(&bytes[at as usize..(at + n) as usize], Some(sha256))
    };
    session.add_report(report);
    session.finish(&DiagnoseOptions::default())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sealed_damage_loses_no_record_counted_or_whole(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
    ) {
        let bytes = damaged(&flips);
        let (counted, whole) = (diagnose(&bytes, false), diagnose(&bytes, true));
        let (c, w) = (&counted.inputs[0], &whole.inputs[0]);
        // Every record is read or skipped, both ways.
        prop_assert_eq!(c.events + c.skipped, w.events + w.skipped);
        prop_assert_eq!(&c.evtx, &w.evtx);
    }

    #[test]
    fn sealed_damage_read_in_chunk_ranges_equals_one_read(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..12),
        batch in 1u64..3,
    ) {
        let bytes = damaged(&flips);
        prop_assert_eq!(diagnose_in_ranges(&bytes, batch), diagnose(&bytes, false));
    }
}
