//! A zip holding a `.evtx` far larger than any single allocation may be (the allocator here
//! refuses one over 4 MiB) is read whole: the member is decompressed and parsed as it is
//! read, never held. A test binary of its own, for the allocator.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::{Format, no_progress};
use std::io::{BufWriter, Write};
use testkit::alloc::Capped;

#[global_allocator]
static ALLOC: Capped = Capped::new(4 * 1024 * 1024);

const CHUNK: usize = 64 * 1024;
/// Copies of the real log's chunks: 40 × 17 chunks ≈ 42.5 MiB of `.evtx`.
const COPIES: usize = 40;

#[test]
fn a_member_ten_times_the_allocation_cap_is_read_as_it_streams() {
    let log = std::fs::read(testkit::fixture("corpus/system.evtx")).unwrap();
    let (header, chunks) = log.split_at(4096);
    let chunks = &chunks[..chunks.len() / CHUNK * CHUNK];
    let one = {
        let mut session = Session::new();
        let mut whole = header.to_vec();
        whole.extend_from_slice(chunks);
        session.add_bytes("one.evtx", &whole, &mut no_progress);
        session.finish(&DiagnoseOptions::default()).events
    };
    let path = std::env::temp_dir().join(format!("rdpfix-big-{}.zip", std::process::id()));
    {
        let file = BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .large_file(true);
        zip.start_file("rdpfix-logs/System.evtx", options).unwrap();
        zip.write_all(header).unwrap();
        for _ in 0..COPIES {
            zip.write_all(chunks).unwrap();
        }
        zip.finish().unwrap().flush().unwrap();
    }
    let file = std::fs::File::open(&path).unwrap();
    let len = file.metadata().unwrap().len();
    let mut session = Session::new();
    let reports = session
        .add_seekable(
            "big.zip",
            std::io::BufReader::new(file),
            len,
            &mut no_progress,
        )
        .to_vec();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(reports.len(), 2, "{reports:#?}");
    assert_eq!(reports[0].format, Some(Format::Zip));
    let member = &reports[1];
    assert_eq!(member.bytes, (4096 + COPIES * chunks.len()) as u64);
    assert!(member.bytes > 10 * 4 * 1024 * 1024);
    assert_eq!(member.errors, 0, "{member:#?}");
    assert_eq!(member.events, one * COPIES as u64);
}
