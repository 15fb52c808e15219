//! The walk against the `evtx` crate, chunk by chunk: the same events for the records a
//! rule lists, the same counts for the others, the same issues.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::HashSet;

use crate::input::Checked;

use super::super::settings;
use super::*;

macro_rules! corpus {
    ($name:literal, $intact:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../../../", $name)).as_slice(),
            $intact,
        )
    };
}

/// Every corpus log and two samples (records written by the testkit: no end-of-stream
/// token after their template instance), and how many of their chunks are intact (CRC32s
/// present and matching, counted by another program): the chunks the walk must read.
const CORPUS: [(&str, &[u8], usize); 10] = [
    corpus!("static/samples/rdp-cert-keys.evtx", 27),
    corpus!("static/samples/rdp-broker-renamed.evtx", 28),
    corpus!("tests/fixtures/corpus/system.evtx", 15),
    corpus!("tests/fixtures/corpus/2-vss_7-System.evtx", 11),
    corpus!(
        "tests/fixtures/corpus/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx",
        14
    ),
    corpus!(
        "tests/fixtures/corpus/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx",
        14
    ),
    corpus!("tests/fixtures/corpus/security.evtx", 26),
    corpus!("tests/fixtures/corpus/security_bad_string_cache.evtx", 25),
    corpus!(
        "tests/fixtures/corpus/sample_with_a_bad_chunk_magic.evtx",
        1
    ),
    corpus!("tests/fixtures/corpus/Application_no_crc32.evtx", 0),
];

fn chunks(file: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    file.get(4096..)
        .unwrap_or_default()
        .chunks_exact(64 * 1024)
        .enumerate()
        .map(|(n, c)| (n as u64, c))
}

fn job(details: Details) -> ChunkJob {
    ChunkJob {
        input: "corpus".to_owned(),
        details,
    }
}

/// The crate path's outcome with System-only events, turned into what the walk gives:
/// needed events kept, the others counted per provider, channel and computer.
fn expected(outcome: ChunkOutcome, needed: &HashSet<u16>) -> Vec<Emitted> {
    let mut items: Vec<Emitted> = Vec::new();
    for item in outcome.items {
        let Emitted::Event(event) = item else {
            panic!("the crate path gives events");
        };
        if needed.contains(&event.event_id) {
            items.push(Emitted::Event(event));
            continue;
        }
        let same = |t: &Tally| {
            t.provider == event.provider
                && t.channel == event.channel
                && t.computer == event.computer
        };
        let found = items.iter_mut().find_map(|i| match i {
            Emitted::Tally(t) if same(t) => Some(t),
            _ => None,
        });
        let tally = match found {
            Some(t) => t,
            None => {
                items.push(Emitted::Tally(Tally {
                    provider: event.provider.clone(),
                    channel: event.channel.clone(),
                    computer: event.computer.clone(),
                    events: 0,
                    undated: 0,
                    oldest: None,
                    newest: None,
                }));
                match items.last_mut() {
                    Some(Emitted::Tally(t)) => t,
                    _ => unreachable!(),
                }
            }
        };
        tally.events += 1;
        match event.time_created {
            Some(t) => {
                tally.oldest = Some(tally.oldest.map_or(t, |o| o.min(t)));
                tally.newest = Some(tally.newest.map_or(t, |n| n.max(t)));
            }
            None => tally.undated += 1,
        }
    }
    items
}

/// The event IDs in a chunk, as the crate reads them.
fn ids_in(chunk: &[u8], number: u64, settings: &Arc<ParserSettings>) -> Vec<u16> {
    parse_chunk(
        chunk,
        number,
        0,
        settings,
        &job(Details::All),
        &mut EventSpare::default(),
    )
    .items
    .iter()
    .filter_map(|i| match i {
        Emitted::Event(e) | Emitted::WithCuts(e, _) => Some(e.event_id),
        Emitted::Tally(_) => None,
    })
    .collect()
}

/// Counts per set of needed IDs (none, one in three, every ID in the chunk).
#[derive(Debug, Default)]
struct Compared {
    /// Chunks the walk read.
    walked: [usize; 3],
    /// In them, the needed records built from their values, and those left to the crate.
    built: [usize; 3],
    rendered: [usize; 3],
    /// Needed events emitted with their excerpts' cuts.
    with_cuts: [usize; 3],
    /// Needed events read with only some data items ([`Details::Checked`]) that lost some.
    checked: [usize; 3],
}

/// What a sink reading some items of `needed` events asks: per ID, the first item name
/// its first event with data has and a name none has; every third ID, no item.
fn reads_of(needed: &HashSet<u16>, whole: &[Emitted]) -> Checked {
    let mut ids: Vec<u16> = needed.iter().copied().collect();
    ids.sort_unstable();
    let reads = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let first = whole.iter().find_map(|item| match item {
                Emitted::Event(e) if e.event_id == *id => e.data.first(),
                _ => None,
            });
            let fields = match first {
                Some((name, _)) if i % 3 != 2 => {
                    vec!["NoSuchItem".to_owned(), name.to_ascii_uppercase()]
                }
                _ => Vec::new(),
            };
            (*id, fields)
        })
        .collect();
    Checked { reads }
}

/// Reads `chunk` with [`Details::Checked`] and checks every item is the whole read's
/// (`whole`: [`Details::Counted`], cuts taken off) with its event cut by
/// [`Checked::cut`]; answers how many events lost items.
fn compare_checked(
    chunk: &[u8],
    number: u64,
    offset: u64,
    needed: &HashSet<u16>,
    whole: &[Emitted],
) -> usize {
    let reads = reads_of(needed, whole);
    let checked = parse_chunk(
        chunk,
        number,
        offset,
        &settings(),
        &job(Details::Checked(reads.clone())),
        &mut EventSpare::default(),
    );
    assert_eq!(checked.items.len(), whole.len(), "chunk {number}: items");
    let mut lost = 0;
    for (got, want) in checked.items.into_iter().zip(whole) {
        let got = match got {
            Emitted::WithCuts(event, cuts) => {
                assert_eq!(Some(cuts), ExcerptCuts::of(&event), "chunk {number}");
                Emitted::Event(event)
            }
            other => other,
        };
        let want = match want {
            Emitted::Event(event) => {
                let mut cut = event.clone();
                reads.cut(&mut cut);
                lost += usize::from(cut.data.len() < event.data.len());
                Emitted::Event(cut)
            }
            other => other.clone(),
        };
        assert_eq!(got, want, "chunk {number}");
    }
    lost
}

/// Reads every chunk of `file` both ways — walked (needed records built from their
/// values where they can be) and by the crate (every record rendered as XML and read
/// back) — and checks that both give the same events, counts and issues. The events
/// are built in the allocations of those `spare` holds (of other records, other files),
/// and given back to it after each comparison.
fn compare(name: &str, file: &[u8], spare: &mut EventSpare) -> Compared {
    let settings = settings();
    let mut c = Compared::default();
    for (number, chunk) in chunks(file) {
        let ids = ids_in(chunk, number, &settings);
        let sets: [HashSet<u16>; 3] = [
            HashSet::new(),
            ids.iter().copied().step_by(3).collect(),
            ids.iter().copied().collect(),
        ];
        let offset = 4096 + number * 64 * 1024;
        for (set, needed) in sets.into_iter().enumerate() {
            let only = parse_chunk(
                chunk,
                number,
                offset,
                &settings,
                &job(Details::Only(needed.clone())),
                spare,
            );
            let mut counted = parse_chunk(
                chunk,
                number,
                offset,
                &settings,
                &job(Details::Counted(needed.clone())),
                spare,
            );
            let place = Place {
                input: "corpus",
                chunk: number as u32,
            };
            let counting = Details::Counted(needed.clone());
            let walk = walk_intact_chunk(chunk, &counting, place, &mut EventSpare::default());
            for item in walk.iter().flat_map(|w| &w.items) {
                match item {
                    Walked::Event(_) => c.built[set] += 1,
                    Walked::Needed { .. } => c.rendered[set] += 1,
                    Walked::Tally(_) => {}
                }
            }
            let walks = walk
                .and_then(|walk| {
                    read_needed(chunk, walk, number, offset, &settings, &job(Details::All))
                })
                .is_some();
            // A walked chunk's events come with their cuts where those can be known, and
            // they are their own; otherwise the events are the same.
            for item in &mut counted.items {
                match item {
                    Emitted::WithCuts(event, cuts) => {
                        assert_eq!(Some(*cuts), ExcerptCuts::of(event), "{name} {number}");
                        c.with_cuts[set] += 1;
                        let origin = event.origin.clone();
                        let event = std::mem::replace(event, Event::new("", 0, origin));
                        *item = Emitted::Event(event);
                    }
                    Emitted::Event(event) if walks => {
                        assert_eq!(ExcerptCuts::of(event), None, "{name} {number}");
                    }
                    Emitted::Event(_) | Emitted::Tally(_) => {}
                }
            }
            assert_eq!(counted.issues, only.issues, "{name} chunk {number}: issues");
            assert_eq!(
                counted.skipped, only.skipped,
                "{name} chunk {number}: skipped"
            );
            assert_eq!(counted.state, only.state, "{name} chunk {number}: state");
            // Walked: tallies; left to the crate: its events, System fields only.
            let expected = if walks {
                expected(only, &needed)
            } else {
                only.items
            };
            if let Some((got, want)) = counted
                .items
                .iter()
                .zip(&expected)
                .find(|(got, want)| got != want)
            {
                panic!("{name} chunk {number}: {got:#?}\ninstead of {want:#?}");
            }
            assert_eq!(
                counted.items.len(),
                expected.len(),
                "{name} chunk {number}: items"
            );
            c.walked[set] += usize::from(walks);
            c.checked[set] += compare_checked(chunk, number, offset, &needed, &counted.items);
            for item in counted.items.into_iter().chain(expected) {
                if let Emitted::Event(event) = item {
                    spare.give(event);
                }
            }
        }
    }
    c
}

#[test]
fn the_walk_gives_what_the_crate_gives_on_every_corpus_chunk() {
    let mut spare = EventSpare::default();
    for (name, file, intact) in CORPUS {
        let c = compare(name, file, &mut spare);
        assert_eq!(c.walked, [intact; 3], "{name}: chunks the walk read");
        // Reading some items leaves the others out of most events that have data.
        if name.contains("security") {
            assert!(c.checked[2] * 2 > c.built[2], "{name}: {c:?}");
        }
        // Most records some rule lists are built from their values: nearly all of the
        // Security logs' (typed values, EventData nested in the record's template).
        if name.contains("security") || name.contains("samples") {
            assert!(c.built[2] >= 19 * c.rendered[2], "{name}: {c:?}");
        }
    }
}

/// Every `.evtx` of the fixtures, the page's samples and the fuzz seeds (among them a
/// chunk of the bench's Security log under attack: typed values), found when the test
/// runs.
#[test]
fn built_and_rendered_events_are_the_same_in_every_evtx_fixture() {
    let files = testkit::evtx_fixture_files();
    assert!(files.len() >= 12, "{files:?}");
    let mut built = 0;
    let mut spare = EventSpare::default();
    for path in files {
        let name = path.display().to_string();
        let c = compare(&name, &std::fs::read(&path).unwrap(), &mut spare);
        built += c.built[2];
        if name.contains("security-attack") {
            // Typed values (SIDs, hex status codes) as Windows writes 4625s: all built,
            // most with their excerpts' cuts (not 4624s: more than an excerpt's items).
            assert!(c.built[2] > 100 && c.rendered[2] == 0, "{name}: {c:?}");
            assert!(c.with_cuts[2] * 4 > c.built[2] * 3, "{name}: {c:?}");
        }
    }
    assert!(built > 10_000, "{built} records built");
}
