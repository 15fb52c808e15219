//! A hive read whole (`tree::read_tree`) and written back: the fixtures read back as the
//! trees they were written from, byte for byte when written again; a dirty or damaged hive
//! is refused, never half read.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::input::hive::tree::{TreeError, read_tree};
use testkit::hive_writer;

#[test]
fn every_clean_fixture_reads_whole_and_writes_back_the_same_bytes() {
    for (name, writer) in hive_writer::fixture_writers() {
        let bytes = writer.write().bytes;
        if name.starts_with("dirty") {
            continue;
        }
        let tree = read_tree(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tree.root.normalized(), writer.root.normalized(), "{name}");
        let mut again = tree.writer();
        assert_eq!(again.primary_sequence, writer.primary_sequence + 1);
        assert_eq!(again.primary_sequence, again.secondary_sequence);
        again.primary_sequence = writer.primary_sequence;
        again.secondary_sequence = writer.secondary_sequence;
        assert_eq!(again.write().bytes, bytes, "{name}");
    }
}

#[test]
fn a_dirty_hive_is_refused_with_its_sequence_numbers() {
    let (_, dirty) = hive_writer::fixture_writers()
        .into_iter()
        .find(|(n, _)| *n == "dirty/SYSTEM")
        .unwrap();
    match read_tree(&dirty.write().bytes) {
        Err(TreeError::Dirty {
            primary: 9,
            secondary: 8,
            checksum: "right",
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_damaged_hive_is_refused_never_half_read() {
    for (name, bytes) in hive_writer::damaged() {
        let got = read_tree(&bytes);
        assert!(
            matches!(
                got,
                Err(TreeError::Damaged { .. } | TreeError::Dirty { .. })
            ),
            "{name}: {got:?}"
        );
    }
    assert!(matches!(
        read_tree(b"not a hive"),
        Err(TreeError::NotAHive(_))
    ));
}
