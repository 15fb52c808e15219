//! Properties of the `RDPFIX-CONFIG` reader on untrusted text: no panic on anything; what
//! the writer writes reads back exactly (values of every kind, any text in them); a block
//! cut anywhere never yields a value it did not hold; an unknown key never hides a known
//! one.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::config::schema::{KEYS, Kind, Section};
use analyzer::config::text::{Writer, decode, encode};
use analyzer::config::{Reading, Value, find_snapshots};
use analyzer::input::{no_progress, read_bytes};
use proptest::prelude::*;
use testkit::alloc::{Capped, MAX_ALLOCATION_BYTES};

#[global_allocator]
static ALLOC: Capped = Capped::new(MAX_ALLOCATION_BYTES);

/// A valid value for a key's kind (texts of any characters: the writer encodes them).
fn value_for(kind: Kind) -> BoxedStrategy<Value> {
    let set = match kind {
        Kind::Dword => any::<u32>().prop_map(|n| n.to_string()).boxed(),
        Kind::Int => any::<i64>().prop_map(|n| n.to_string()).boxed(),
        Kind::Decimal => (-1.0e6f64..1.0e6).prop_map(|f| format!("{f:.4}")).boxed(),
        Kind::Hex => "[0-9A-F]{1,40}".boxed(),
        Kind::Time => (0i64..4_000_000_000)
            .prop_map(|s| {
                jiff::Timestamp::from_second(s)
                    .unwrap()
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
            .boxed(),
        Kind::Text => ".{0,60}".boxed(),
        Kind::List => Just(String::new()).boxed(),
        Kind::Word(words) => prop::sample::select(words.to_vec())
            .prop_map(str::to_owned)
            .boxed(),
    };
    prop_oneof![
        1 => Just(Value::Absent),
        1 => Just(Value::Unreadable),
        6 => set.prop_map(Value::Set),
    ]
    .boxed()
}

/// (section, subject, key, value) for keys that are not lists.
fn arb_entry() -> impl Strategy<Value = (Section, Option<String>, String, Value)> {
    let keys: Vec<_> = KEYS.iter().filter(|k| k.kind != Kind::List).collect();
    (prop::sample::select(keys), "[A-Za-z0-9 .{}-]{1,20}").prop_flat_map(|(k, subject)| {
        let subject = k.section.has_subject().then_some(subject);
        (
            Just(k.section),
            Just(subject),
            Just(k.key.to_owned()),
            value_for(k.kind),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn anything_reads_without_panicking(text in ".{0,400}", head in any::<bool>()) {
        let text = if head { format!("RDPFIX-CONFIG v1 host=x\n{text}") } else { text };
        let _ = find_snapshots(&text, "prop");
        read_bytes("prop", text.as_bytes(), &mut Vec::new(), &mut no_progress);
    }

    #[test]
    fn encoding_round_trips_any_text(text in ".{0,80}") {
        let e = encode(&text);
        prop_assert!(!e.chars().any(|c| c == ' ' || c == '=' || c == ','));
        prop_assert_eq!(decode(&e), text);
    }

    #[test]
    fn what_the_writer_writes_reads_back(
        entries in prop::collection::vec(arb_entry(), 0..30),
        host in ".{1,20}",
        lists in prop::collection::vec(".{1,12}", 0..6),
    ) {
        let mut w = Writer::new(&host, None, Some(20348));
        for (section, subject, key, value) in &entries {
            w.value(*section, subject.as_deref(), key, value);
        }
        w.list(Section::Rights, None, "allow", &lists);
        let text = w.finish();
        let found = find_snapshots(&text, "prop");
        prop_assert_eq!(found.len(), 1);
        prop_assert!(found[0].issues.is_empty(), "{:?}\n{}", found[0].issues, text);
        let s = found[0].snapshot.as_ref().unwrap();
        prop_assert_eq!(&s.computer, &host);
        // The last value written for a key is the one read.
        for (section, subject, key, _) in &entries {
            let last = entries
                .iter()
                .rev()
                .find(|(s2, sub2, k2, _)| s2 == section && k2 == key
                    && sub2.as_deref().map(str::to_lowercase) == subject.as_deref().map(str::to_lowercase))
                .map(|e| &e.3)
                .unwrap();
            let read = s.text(*section, subject.as_deref(), key);
            let expected = match last {
                Value::Absent => Reading::Absent,
                Value::Unreadable => Reading::Unreadable,
                Value::Set(v) => Reading::Value(v.as_str()),
            };
            prop_assert_eq!(read, expected, "{:?} {:?} {}\n{}", section, subject, key, text);
        }
        let expected_list: Vec<String> = lists.clone();
        prop_assert_eq!(s.list(Section::Rights, None, "allow"), expected_list);
    }

    #[test]
    fn a_cut_block_holds_nothing_it_did_not_hold(
        entries in prop::collection::vec(arb_entry(), 1..20),
        cut in 0.0f64..1.0,
    ) {
        let mut w = Writer::new("vm", None, Some(17763));
        for (section, subject, key, value) in &entries {
            w.value(*section, subject.as_deref(), key, value);
        }
        let whole = w.finish();
        let at = (whole.len() as f64 * cut) as usize;
        let Some(part) = whole.get(..at) else { return Ok(()) };
        let full = find_snapshots(&whole, "p").remove(0).snapshot.unwrap();
        for f in find_snapshots(part, "p") {
            let Some(s) = f.snapshot else { continue };
            for e in &s.entries {
                prop_assert!(full.entries.contains(e), "{e:?} not in the whole block");
            }
        }
    }

    #[test]
    fn an_unknown_key_never_hides_a_known_one(port in any::<u32>(), junk in "[a-z]{1,8}=[a-z0-9%.-]{0,8}") {
        let text = format!(
            "RDPFIX-CONFIG v1 host=a\nrdp {junk} port={port} {junk}\nEND RDPFIX-CONFIG lines=1\n"
        );
        let s = find_snapshots(&text, "p").remove(0).snapshot.unwrap();
        if junk.starts_with("port=") {
            return Ok(());
        }
        prop_assert_eq!(s.dword(Section::Rdp, None, "port"), Reading::Value(port));
    }
}

/// `reg query` output of the Terminal Server key with `TSServerDrainMode` as a REG_SZ of
/// `data`, then `fDenyTSConnections`, cut into lines of `width` characters as a console does.
fn wrapped_reg_query(data: &str, width: usize) -> String {
    let key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server";
    let lines = [
        key.to_owned(),
        String::new(),
        key.to_owned(),
        format!("    TSServerDrainMode    REG_SZ    {data}"),
        "    fDenyTSConnections    REG_DWORD    0x1".to_owned(),
        String::new(),
    ];
    let mut out = String::new();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            out.push_str("\r\n");
        }
        for chunk in chars.chunks(width) {
            out.extend(chunk);
            out.push_str("\r\n");
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_value_wrapped_at_any_console_width_reads_back_whole(
        // Data as `reg query` prints it; a piece after a wrap never starts with 4 spaces.
        data in "[!-~]([!-~ ]{0,300}[!-~])?",
        width in 80usize..=160,
    ) {
        prop_assume!(!data.contains("    "));
        let text = wrapped_reg_query(&data, width);
        let report = read_bytes("prop", text.as_bytes(), &mut Vec::new(), &mut no_progress);
        prop_assert_eq!(report.configs.len(), 1);
        let s = &report.configs[0];
        prop_assert_eq!(s.text(Section::Ts, None, "drain"), Reading::Value(data.as_str()));
        prop_assert_eq!(s.dword(Section::Ts, None, "deny"), Reading::Value(1));
    }

    #[test]
    fn reg_query_shaped_text_reads_without_panicking(text in "(    |HKEY_LOCAL_MACHINE\\\\|REG_SZ|\r\n|[ -~]){0,80}") {
        let text = format!("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\n    REG_\n{text}");
        let _ = analyzer::config::read_reg_query(&text, "prop");
        read_bytes("prop", text.as_bytes(), &mut Vec::new(), &mut no_progress);
    }
}
