//! Properties of the registry hive reader on untrusted bytes: no panic and bounded memory on
//! anything (whole files, and hive bins behind a valid base block); what the test kit's
//! writer writes — any tree of keys, any names, values of every type — reads back exactly;
//! a fixture with any bytes changed never panics and never loses the report; the page's
//! seekable read and the in-memory read agree.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::input::hive::regf::{Hive, parse_header};
use analyzer::input::hive::tree::read_tree;
use analyzer::input::{Format, no_progress, read_bytes, read_seekable};
use proptest::prelude::*;
use std::io::Cursor;
use testkit::alloc::{Capped, MAX_ALLOCATION_BYTES};
use testkit::hive_writer::{self, HiveWriter, KeySpec};

#[global_allocator]
static ALLOC: Capped = Capped::new(MAX_ALLOCATION_BYTES);

/// A value: its type and data, as the writer takes them.
fn value() -> impl Strategy<Value = (u32, Vec<u8>)> {
    prop_oneof![
        any::<u32>().prop_map(|v| (hive_writer::REG_DWORD, v.to_le_bytes().to_vec())),
        any::<u64>().prop_map(|v| (hive_writer::REG_QWORD, v.to_le_bytes().to_vec())),
        "\\PC{0,40}".prop_map(|s| (hive_writer::REG_SZ, hive_writer::sz(&s))),
        prop::collection::vec(any::<u8>(), 0..40_000).prop_map(|b| (hive_writer::REG_BINARY, b)),
    ]
}

/// Names as Windows allows them (no backslash), Latin-1 or not, unique without case.
fn names(max: usize) -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[^\\\\\\x00]{1,20}", 0..max).prop_map(|mut v| {
        let mut seen = std::collections::HashSet::new();
        v.retain(|n| seen.insert(n.to_uppercase()));
        v
    })
}

fn tree(depth: u32) -> BoxedStrategy<KeySpec> {
    let values = names(6).prop_flat_map(|ns| {
        let n = ns.len();
        (Just(ns), prop::collection::vec(value(), n))
    });
    let leaf = values.prop_map(|(ns, vs)| KeySpec {
        name: String::new(),
        values: ns
            .into_iter()
            .zip(vs)
            .map(|(n, (k, d))| (n, k, d))
            .collect(),
        subkeys: Vec::new(),
    });
    if depth == 0 {
        return leaf.boxed();
    }
    (leaf, names(5))
        .prop_flat_map(move |(key, ns)| {
            let n = ns.len();
            (
                Just(key),
                Just(ns),
                prop::collection::vec(tree(depth - 1), n),
            )
        })
        .prop_map(|(mut key, ns, kids)| {
            key.subkeys = ns
                .into_iter()
                .zip(kids)
                .map(|(n, mut k)| {
                    k.name = n;
                    k
                })
                .collect();
            key
        })
        .boxed()
}

fn check(hive: &mut Hive<&[u8]>, at: &analyzer::input::hive::regf::Key, spec: &KeySpec) {
    for (name, kind, data) in &spec.values {
        let got = hive.value(at, name).unwrap().unwrap();
        assert_eq!((got.kind, &got.bytes), (*kind, data), "value {name:?}");
    }
    let kids = hive.subkeys(at).unwrap();
    assert_eq!(kids.len(), spec.subkeys.len());
    for k in &spec.subkeys {
        let found = hive.subkey(at, &k.name).unwrap().unwrap();
        assert_eq!(found.name, k.name);
        check(hive, &found, k);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn what_the_writer_writes_reads_back_exactly(mut root in tree(2)) {
        root.name = "ROOT".to_owned();
        let mut w = HiveWriter::new("PROP");
        w.root = root.clone();
        let bytes = w.write().bytes;
        let header = parse_header(&bytes[..4096]).unwrap();
        prop_assert!(header.checksum_ok && !header.dirty());
        let mut hive = Hive::new(bytes.as_slice(), header);
        let walk = hive.map_bins(bytes.len() as u64);
        prop_assert!(!walk.short);
        let top = hive.root().unwrap();
        check(&mut hive, &top, &root);
        prop_assert!(hive.damage.is_empty(), "{:?}", hive.damage);
        // Read whole, the tree is the one written; written again, the same bytes.
        let whole = read_tree(&bytes).unwrap();
        prop_assert_eq!(whole.root.normalized(), root.normalized());
        let mut again = whole.writer();
        again.primary_sequence = w.primary_sequence;
        again.secondary_sequence = w.secondary_sequence;
        prop_assert_eq!(again.write().bytes, bytes);
    }

    #[test]
    fn a_fixture_with_bytes_changed_reads_whole_only_as_itself_or_not_at_all(
        edits in prop::collection::vec((0usize..20_480, any::<u8>()), 1..20),
    ) {
        let original = hive_writer::system(1, |_| {});
        let mut bytes = original.write().bytes;
        for (at, b) in edits {
            let n = bytes.len();
            bytes[at % n] = b;
        }
        // A changed byte may fall in slack (a free cell, a bin's spare bytes) or the
        // base block's unused part (then the checksum refuses it); either way a tree that
        // reads whole is never missing a key the bytes still hold. A changed name byte can
        // leave a key list out of order, which the writer sorts: compared in one order.
        if let Ok(tree) = read_tree(&bytes) {
            let again = tree.writer().write().bytes;
            prop_assert_eq!(read_tree(&again).unwrap().root.normalized(), tree.root.normalized());
        }
    }

    #[test]
    fn any_bytes_behind_regf_are_read_without_panic(data in prop::collection::vec(any::<u8>(), 0..20_000)) {
        for input in [
            [b"regf".as_slice(), &data].concat(),
            hive_writer::behind_base_block(&data),
        ] {
            let report = read_bytes("SYSTEM", &input, &mut Vec::new(), &mut no_progress);
            prop_assert_eq!(report.format, Some(Format::RegistryHive));
            prop_assert!(report.configs.len() <= 1);
        }
    }

    #[test]
    fn a_fixture_with_bytes_changed_is_read_without_panic_and_alike_both_ways(
        edits in prop::collection::vec((0usize..20_480, any::<u8>()), 1..40),
        which in 0usize..3,
    ) {
        let name = ["healthy/SYSTEM", "healthy/SOFTWARE", "dirty/SYSTEM"][which];
        let mut bytes = std::fs::read(testkit::fixture("hives").join(name)).unwrap();
        for (at, b) in edits {
            if let Some(x) = bytes.get_mut(at) {
                *x = b;
            }
        }
        let mem = read_bytes(name, &bytes, &mut Vec::new(), &mut no_progress);
        let seek = read_seekable(name, Cursor::new(&bytes), bytes.len() as u64, &mut Vec::new(), &mut no_progress);
        prop_assert_eq!(&mem, &seek);
        if bytes.starts_with(b"regf") {
            prop_assert_eq!(mem.format, Some(Format::RegistryHive));
        }
    }
}

/// The root's name is written as it reads: one byte a character when it can be (the
/// compressed-name flag set), UTF-16 otherwise (the flag clear, for the root as for any
/// key). The root's flags once always claimed a compressed name.
#[test]
fn a_root_named_outside_latin_1_reads_back_as_written() {
    let mut tree = read_tree(&hive_writer::system(1, |_| {}).write().bytes).unwrap();
    tree.root.name = "ルート-鍵".to_owned();
    let again = read_tree(&tree.writer().write().bytes).unwrap();
    assert_eq!(again.root.name, "ルート-鍵");
    assert_eq!(again.root.normalized(), tree.root.normalized());
}
