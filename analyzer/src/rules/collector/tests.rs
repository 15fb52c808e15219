//! The collector's tests: an excerpt's cuts name the items trimming cuts, and cutting only
//! those is trimming; candidates kept lent, given or given with cuts (in reused allocations)
//! hold what fresh trimmed copies held; what is pruned or kept by no signal comes back once
//! asked; shards absorbed in order collect what one collector does; name counts absorbed in
//! order count as one by one.

use super::signal::{KEEP_UNDATED, PRUNE_AT, kept as kept_by_pruning, trim, trim_items};
use super::*;
use crate::event::{Location, Origin};
use crate::input::{EXCERPT_CHARS, EXCERPT_ITEMS as MAX_DATA_ITEMS, EXCERPT_NAME_CHARS};
use proptest::prelude::*;

/// What the collector kept before it reused pruned candidates: a fresh trimmed copy.
fn fresh_copy(event: &Event) -> Event {
    Event {
        message: event
            .message
            .as_deref()
            .map(|m| matching::shorten(m, EXCERPT_CHARS)),
        data: event
            .data
            .iter()
            .take(MAX_DATA_ITEMS)
            .map(|(k, v)| {
                (
                    matching::shorten(k, 64),
                    matching::shorten(v, EXCERPT_CHARS),
                )
            })
            .collect(),
        ..event.clone()
    }
}

/// A 4625 of the burst signal, with `items` data values of `width` characters.
fn failure(n: u64, second: Option<i64>, items: usize, width: usize, message: bool) -> Event {
    let origin = Origin {
        input: format!("input-{}", n % 3),
        location: Location::Record {
            record_id: n,
            chunk: 0,
        },
    };
    let mut event = Event::new("Microsoft-Windows-Security-Auditing", 4625, origin);
    event.channel = Some("Security".into());
    event.computer = n.is_multiple_of(2).then(|| format!("vm-{n}"));
    event.record_id = Some(n);
    event.time_created = second.and_then(|s| Timestamp::from_second(s).ok());
    event.data.push(("Status".into(), "0xc000006d".into()));
    for i in 0..items {
        let value = format!("{i}  {}", "x ".repeat(width * (i + 1) % 200));
        event.data.push((format!("Field{i}"), value));
    }
    event.message = message.then(|| "An account failed to log on.\n\n".repeat(width % 20));
    event
}

/// At the limits of an excerpt, one character either side: the items an excerpt
/// cuts are those its cuts name, and an event with a message or too many items has none.
#[test]
fn an_excerpt_cuts_the_items_its_cuts_name() {
    let base = || {
        let mut event = failure(1, Some(1), 0, 0, false);
        event.data = (0..MAX_DATA_ITEMS)
            .map(|i| {
                let name = if i == 0 {
                    "n".repeat(EXCERPT_NAME_CHARS)
                } else {
                    format!("Name {i}")
                };
                (name, "v ".repeat(EXCERPT_CHARS / 2 - 1) + "vv")
            })
            .collect();
        event
    };
    // Per item: whether trimming changes its name, its value.
    let cut = |event: &Event| {
        let mut trimmed = event.clone();
        trim(&mut trimmed);
        (0..event.data.len())
            .map(|i| {
                let (name, value) = (&trimmed.data[i], &event.data[i]);
                (name.0 != value.0, name.1 != value.1)
            })
            .collect::<Vec<(bool, bool)>>()
    };
    let named = |cuts: ExcerptCuts| {
        (0..MAX_DATA_ITEMS)
            .map(|i| (cuts.cuts_name(i), cuts.cuts_value(i)))
            .collect::<Vec<(bool, bool)>>()
    };
    let event = base();
    assert_eq!(cut(&event), vec![(false, false); MAX_DATA_ITEMS]);
    assert_eq!(named(ExcerptCuts::of(&event).unwrap()), cut(&event));
    type Change = fn(&mut Event);
    let changes: [(usize, bool, Change); 6] = [
        (0, true, |e| e.data[0].0.push('n')),
        (1, false, |e| e.data[1].1.push('v')),
        (2, false, |e| e.data[2].1 = "two  spaces".into()),
        (3, true, |e| e.data[3].0 = " Name".into()),
        (4, true, |e| e.data[4].0 = "Name\u{a0}4".into()),
        (23, false, |e| e.data[23].1 = "tab\there".into()),
    ];
    for (item, name, change) in changes {
        let mut event = base();
        change(&mut event);
        let mut expected = vec![(false, false); MAX_DATA_ITEMS];
        expected[item] = (name, !name);
        assert_eq!(cut(&event), expected, "item {item}");
        assert_eq!(
            named(ExcerptCuts::of(&event).unwrap()),
            expected,
            "item {item}"
        );
    }
    let mut event = base();
    event.message = Some("m".into());
    assert_eq!(ExcerptCuts::of(&event), None);
    let mut event = base();
    event.data.push(("One".into(), "more".into()));
    assert_eq!(ExcerptCuts::of(&event), None);
}

/// Once asked, the collector gives back what it prunes (beyond the candidates it
/// reuses itself) and the events no signal keeps, when they came with their cuts.
#[test]
fn what_is_pruned_or_not_kept_comes_back_once_asked() {
    let catalog = Catalog::builtin().unwrap();
    let at = catalog
        .index()
        .signals()
        .iter()
        .position(|s| catalog.rules[s.rule].signals[s.signal].id == "failed-logon-burst")
        .unwrap();
    let mut collector = Collector::new(catalog);
    let mut back = Vec::new();
    let observe = |collector: &mut Collector, n: u64, id: u16| {
        let mut event = failure(n, Some(n as i64 * 60), 0, 0, false);
        event.event_id = id;
        let cuts = ExcerptCuts::of(&event).unwrap();
        collector.observe_with_cuts(event, cuts);
    };
    // Before it is asked, nothing is held.
    for n in 0..300 {
        observe(&mut collector, n, 4625);
    }
    collector.reclaim(&mut back);
    assert!(back.is_empty());
    let pruned_before = 300 - collector.slots()[at].state.dated.len();
    for n in 300..600 {
        observe(&mut collector, n, 4625);
    }
    // An ID no signal lists: given back as it is.
    observe(&mut collector, 600, 65_000);
    collector.reclaim(&mut back);
    let state = &collector.slots()[at].state;
    assert_eq!(state.dated_total, 600);
    // Every candidate pruned since (the collector's own spare was filled before), and
    // the unlisted event.
    let pruned_since = 600 - state.dated.len() - pruned_before;
    assert!(pruned_since > 250, "{pruned_since}");
    assert_eq!(back.len(), pruned_since + 1);
    assert_eq!(back.iter().filter(|e| e.event_id == 65_000).count(), 1);
    back.clear();
    collector.reclaim(&mut back);
    assert!(back.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn cutting_the_named_items_is_trimming(
        data in prop::collection::vec(
            ("[A-Za-z]{0,6}( [a-z]{1,3})?|[ a-z\t]{0,4}", "[ -~\t\u{a0}é]{0,8}|[a-z]{298,302}"),
            0..26,
        ),
        message in prop::option::weighted(0.2, "[a-z ]{0,4}"),
    ) {
        let mut event = failure(1, Some(1), 0, 0, false);
        event.data = data;
        event.message = message;
        let mut trimmed = event.clone();
        trim(&mut trimmed);
        if let Some(cuts) = ExcerptCuts::of(&event) {
            let mut scratch = String::from("left over");
            trim_items(&mut event, cuts, &mut scratch);
            prop_assert_eq!(event, trimmed);
        }
    }

    #[test]
    fn reused_candidates_hold_what_fresh_copies_held(
        events in prop::collection::vec(
            (prop::option::weighted(0.9, 0i64..5_000), 0usize..30, 0usize..400, any::<bool>()),
            0..400,
        ),
    ) {
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        let at = catalog
            .index()
            .signals()
            .iter()
            .position(|s| catalog.rules[s.rule].signals[s.signal].id == "failed-logon-burst")
            .unwrap_or_else(|| panic!("no failed-logon-burst signal"));
        let mut given = Collector::new(catalog.clone());
        let mut excerpts = Collector::new(catalog.clone());
        let mut collector = Collector::new(catalog);
        // The old way, side by side: fresh copies, pruned as `keep` prunes.
        let (mut dated, mut undated) = (Vec::new(), Vec::new());
        for (n, (second, items, width, message)) in events.into_iter().enumerate() {
            let event = failure(n as u64, second.map(|s| s * 7), items, width, message);
            collector.observe(&event);
            given.observe_owned(event.clone());
            match ExcerptCuts::of(&event) {
                Some(cuts) => excerpts.observe_with_cuts(event.clone(), cuts),
                None => excerpts.observe_owned(event.clone()),
            }
            // Taking back what it is done with changes nothing it keeps.
            if n % 7 == 0 {
                let mut back = Vec::new();
                excerpts.reclaim(&mut back);
            }
            if event.time_created.is_some() {
                dated.push(fresh_copy(&event));
            } else if undated.len() < KEEP_UNDATED {
                undated.push(fresh_copy(&event));
            }
        }
        let state = &collector.slots()[at].state;
        // All fresh copies, settled as pruning settles them: by time, those it keeps.
        if dated.len() > PRUNE_AT {
            dated.sort_by_key(|e| e.time_created);
            let times: Vec<_> = dated.iter().map(|e| e.time_created).collect();
            let mut keep = kept_by_pruning(&times, None, state.recent_hours).into_iter();
            dated.retain(|_| keep.next().unwrap_or(true));
        }
        let kept = |c: &[Candidate]| c.iter().map(|c| c.event.clone()).collect::<Vec<_>>();
        let settled = |s: &SignalState| s.settled().into_iter().map(|c| c.event.clone()).collect::<Vec<_>>();
        prop_assert_eq!(settled(state), dated);
        prop_assert_eq!(kept(&state.undated), undated);
        let owned = &given.slots()[at].state;
        prop_assert_eq!(settled(owned), settled(state));
        prop_assert_eq!(kept(&owned.undated), kept(&state.undated));
        let excerpted = &excerpts.slots()[at].state;
        prop_assert_eq!(settled(excerpted), settled(state));
        prop_assert_eq!(kept(&excerpted.undated), kept(&state.undated));
        let held = |c: &Candidate| {
            matches!(c.checks.as_slice(), [Check::Held { value }] if value == "0xc000006d")
        };
        prop_assert!(state.dated.iter().chain(&state.undated).all(held));
        prop_assert!(owned.dated.iter().chain(&owned.undated).all(held));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Events observed one by one, or in shards absorbed in order, collect the same:
    /// statistics, per signal the settled candidates, counts, histogram and notes — with a
    /// shard made for each range, or one shard given every range (`reusing`), which
    /// absorbing leaves as a new one.
    #[test]
    fn shards_absorbed_in_order_collect_what_one_collector_does(
        events in prop::collection::vec(
            (
                0usize..6,
                prop::option::weighted(0.9, 0i64..200_000),
                0usize..5,
                0usize..4,
            ),
            0..600,
        ),
        cuts in prop::collection::vec(0usize..600, 0..12),
        wanted in any::<bool>(),
        now in prop::option::of(0i64..200_000),
        crossing in any::<bool>(),
        reusing in any::<bool>(),
    ) {
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut one = Collector::new(catalog.clone());
        let mut sharded = Collector::new(catalog.clone());
        // With `crossing`, each shard is made where a page's parsing helper makes it — by a
        // collector of its own, judging at the same now — and crosses as bytes.
        let mut helper = Collector::new(catalog);
        if let Some(now) = now.and_then(|s| Timestamp::from_second(s).ok()) {
            one.judging_at(now);
            sharded.judging_at(now);
            helper.judging_at(now);
        }
        if wanted {
            sharded.reclaim(&mut Vec::new());
        }
        let events: Vec<Event> = events
            .into_iter()
            .enumerate()
            .map(|(n, (kind, second, name, status))| mixed(n, kind, second, name, status))
            .collect();
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < events.len()).collect();
        cuts.sort_unstable();
        cuts.push(events.len());
        let mut from = 0;
        let (mut given, mut loading) = (None, None);
        for to in cuts {
            let made = || if crossing { helper.shard() } else { sharded.shard() };
            let mut shard = if reusing { given.take().unwrap_or_else(made) } else { made() };
            for event in events.get(from..to).unwrap_or_default() {
                one.observe(event);
                shard.observe_owned(event.clone());
                if event.event_id == 7 {
                    // A tally between events, as a walked chunk gives them.
                    let tally = Tally {
                        provider: event.provider.clone(),
                        channel: event.channel.clone(),
                        computer: event.computer.clone(),
                        events: 3,
                        undated: 1,
                        oldest: event.time_created,
                        newest: event.time_created,
                    };
                    one.observe_tally(&event.origin.input, &tally);
                    shard.observe_tally(&event.origin.input, &tally);
                }
            }
            shard.reclaim(&mut Vec::new());
            let mut absorbed = if crossing {
                let mut loaded = if reusing {
                    loading.take().unwrap_or_else(|| sharded.shard())
                } else {
                    sharded.shard()
                };
                prop_assert_eq!(loaded.load(&shard.to_bytes().unwrap()), Ok(()));
                // The helper's shard, once written, is emptied as absorbing would.
                helper.absorb(&mut shard);
                given = Some(shard);
                loaded
            } else {
                shard
            };
            sharded.absorb(&mut absorbed);
            prop_assert_eq!(as_new(&absorbed), as_new(&sharded.shard()));
            if crossing {
                loading = Some(absorbed);
            } else {
                given = Some(absorbed);
            }
            from = to.max(from);
        }
        prop_assert_eq!(summary(&sharded), summary(&one));
    }
}

/// One shard given range after range, each past what it holds before pruning, and absorbed
/// after each: left as new every time (its pruning's mark too), it collects what a shard
/// per range does and what one collector does.
#[test]
fn a_shard_absorbed_after_pruning_is_given_the_next_range_as_a_new_one() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let mut one = Collector::new(catalog.clone());
    let mut fresh = Collector::new(catalog.clone());
    let mut reused = Collector::new(catalog);
    let mut shard = reused.shard();
    for range in 0..3 {
        let mut each = fresh.shard();
        for n in range * 1_000..(range + 1) * 1_000 {
            // Out of order within the range, a few undated, statuses of every kind.
            let second = (n % 10 != 0).then_some(((n * 7_919) % 3_000) as i64 * 60);
            let event = mixed(n, 0, second, n % 3, n % 4);
            one.observe(&event);
            each.observe(&event);
            shard.observe_owned(event);
        }
        assert!(
            shard.signals.iter().any(|s| s.state.held > 0),
            "the shard pruned"
        );
        fresh.absorb(&mut each);
        reused.absorb(&mut shard);
        assert_eq!(as_new(&shard), as_new(&reused.shard()), "range {range}");
    }
    assert_eq!(summary(&reused), summary(&fresh));
    assert_eq!(summary(&reused), summary(&one));
}

/// A shard's bytes are loaded only into a shard of the same catalog, window and bounds, and
/// one refused is left as it was.
#[test]
fn shard_bytes_load_only_into_a_shard_like_theirs() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let parent = Collector::new(catalog.clone());
    let mut shard = parent.shard();
    for n in 0..150 {
        shard.observe_owned(mixed(
            n,
            n % 6,
            Some(i64::try_from(n).unwrap() * 61),
            n % 5,
            n % 4,
        ));
    }
    let bytes = shard.to_bytes().unwrap();
    let before = summary(&parent.shard());

    let mut fresh = parent.shard();
    assert_eq!(fresh.load(&bytes), Ok(()));
    assert_eq!(
        summary(&fresh),
        summary(&shard),
        "what crossed is what was collected"
    );

    let refused = |mut into: Collector, bytes: &[u8], why: &str| {
        let was = summary(&into);
        assert!(into.load(bytes).is_err(), "{why}: loaded");
        assert_eq!(summary(&into), was, "{why}: changed");
    };
    refused(parent.shard(), b"{\"signals\": 3}", "not a shard");
    refused(parent.shard(), &bytes[..bytes.len() / 2], "cut short");
    refused(
        Collector::new(Catalog::empty()).shard(),
        &bytes,
        "another catalog",
    );
    refused(
        Collector::new(catalog.clone()),
        &bytes,
        "bounded, not a shard",
    );
    let mut judging = Collector::new(catalog);
    judging.judging_at(Timestamp::from_second(86_400).unwrap());
    refused(judging.shard(), &bytes, "another window");
    // What observing cannot give, each in bytes otherwise a shard's.
    let wire: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let kept = wire["states"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| !s["dated"].as_array().unwrap().is_empty())
        .expect("a signal kept candidates");
    let tampered: [(&str, &str, serde_json::Value); 10] = [
        ("/states/0/bucket_minutes", "0-minute buckets", 0.into()),
        ("/states/0/bucket_minutes", "61-minute buckets", 61.into()),
        (
            "/stats/events",
            "more events than a file holds",
            (MAX_SHARD_COUNT + 1).into(),
        ),
        (
            "/stats/computers/entries",
            "a name under another key",
            serde_json::json!([["VM-0", "VM-0", 1]]),
        ),
        (
            "/stats/computers/entries",
            "a name counted twice",
            serde_json::json!([["vm-0", "vm-0", 1], ["vm-0", "vm-0", 1]]),
        ),
        (
            "/stats/contexts",
            "a context the catalog does not have",
            serde_json::json!({"no-such-context": ["provider x", 3]}),
        ),
        (
            &format!("/states/{kept}/dated/0/checks"),
            "a candidate without its checks",
            serde_json::json!([]),
        ),
        (
            &format!("/states/{kept}/histogram"),
            "more dated events in the histogram than counted",
            serde_json::json!({"0": MAX_SHARD_COUNT}),
        ),
        (
            &format!("/states/{kept}/tallies/0/held"),
            "a tally past the bound",
            u64::MAX.into(),
        ),
        (
            &format!("/states/{kept}/dated_total"),
            "fewer events than candidates",
            0.into(),
        ),
    ];
    for (at, why, value) in tampered {
        let mut wire = wire.clone();
        *wire.pointer_mut(at).unwrap_or_else(|| panic!("{at}")) = value;
        refused(parent.shard(), &serde_json::to_vec(&wire).unwrap(), why);
    }
    assert_eq!(summary(&parent.shard()), before);
}

proptest! {
    /// Names counted with `add` (the same name repeated, spelt with other cases and
    /// spaces) are counted as a map keyed by the trimmed, lowercased name would count them,
    /// under the first spelling seen.
    #[test]
    fn names_are_counted_under_their_key(
        names in prop::collection::vec(
            prop::sample::select(vec!["a", "A", " a\t", "", " ", "b", "B ", "a b", "A B"]),
            0..60,
        ),
    ) {
        let mut counts = NameCounts::default();
        let mut oracle: Vec<(String, String, u64)> = Vec::new();
        for name in &names {
            counts.add(name, 1);
            let key = name.trim().to_ascii_lowercase();
            match oracle.iter_mut().find(|(k, _, _)| *k == key) {
                Some(entry) => entry.2 += 1,
                None => oracle.push((key, name.trim().to_string(), 1)),
            }
        }
        let mut expected: Vec<(&str, u64)> =
            oracle.iter().map(|(_, name, n)| (name.as_str(), *n)).collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        prop_assert_eq!(counts.ranked(), expected);
        prop_assert_eq!(counts.fits(), Ok(()));
    }
}

proptest! {
    /// Past the bound, names counted in shards absorbed in order, and between them, count
    /// as one by one.
    #[test]
    fn name_counts_absorbed_in_order_count_as_one_by_one(
        names in prop::collection::vec((0usize..2_600, 1u64..4), 0..4_000),
        cuts in prop::collection::vec(0usize..4_000, 0..6),
    ) {
        let mut one = NameCounts::default();
        let mut absorbed = NameCounts::default();
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < names.len()).collect();
        cuts.sort_unstable();
        cuts.push(names.len());
        let mut from = 0;
        for to in cuts {
            let mut shard = NameCounts::new(true);
            for (i, (name, n)) in names.iter().enumerate().take(to).skip(from) {
                // Spelled two ways: counted under the first spelling seen.
                let name = if i % 2 == 0 { format!("VM-{name}") } else { format!("vm-{name}") };
                one.add(&name, *n);
                shard.add(&name, *n);
            }
            absorbed.absorb(shard);
            // And one counted straight after absorbing (the name last counted before it
            // is remembered across the absorbing).
            if let Some((name, n)) = names.get(to) {
                let name = format!("vm-{name}");
                one.add(&name, *n);
                absorbed.add(&name, *n);
            }
            from = to.max(from) + 1;
        }
        prop_assert_eq!(absorbed.ranked(), one.ranked());
        prop_assert_eq!(absorbed.other, one.other);
    }
}

/// An event of one of six kinds: a 4625 of the burst signal (two statuses, one of which
/// its condition rejects), one from another provider (a near miss), one in another
/// channel, a 4624, an event no rule lists, and one counted with a tally after it.
fn mixed(n: usize, kind: usize, second: Option<i64>, name: usize, status: usize) -> Event {
    let n64 = n as u64;
    let mut event = failure(n64, second, 0, 0, false);
    event.origin.input = format!("input-{}", name % 2);
    event.computer = Some(format!("VM-{name}"));
    event.data = vec![(
        "Status".into(),
        match status % 4 {
            0 => "0xc000006d",
            1 => "0xc000006a",
            2 => "0xC000006D",
            _ => "0x0",
        }
        .into(),
    )];
    match kind {
        1 => event.provider = format!("Other-Provider-{}", (n * 7 + name) % 23),
        2 => event.channel = Some(format!("Channel-{name}")),
        3 => event.event_id = 4624,
        4 => event.event_id = 1,
        5 => event.event_id = 7,
        _ => {}
    }
    event
}

/// Everything a collector holds but for its caches and pools: what a shard emptied by
/// absorbing must share with a new one.
fn as_new(c: &Collector) -> String {
    let states: Vec<String> = c.signals.iter().map(|s| format!("{:?}", s.state)).collect();
    format!("{:?}\n{}", c.stats, states.join("\n"))
}

/// What a collector collected, in a comparable form (no scratch, settled candidates).
fn summary(c: &Collector) -> String {
    use std::fmt::Write as _;
    let st = &c.stats;
    let names = |n: &NameCounts| format!("{:?} other {}", n.ranked(), n.other);
    let mut out = format!(
        "events {} undated {} local {} span {:?}..{:?}\nchannels {}\nproviders {}\ncomputers {}\ncontexts {:?}\n",
        st.events,
        st.undated,
        st.local_times,
        st.oldest,
        st.newest,
        names(&st.channels),
        names(&st.providers),
        names(&st.computers),
        st.contexts,
    );
    for (input, n) in &st.channels_by_input {
        let _ = writeln!(out, "input {input}: {}", names(n));
    }
    for slot in &c.signals {
        let s = &slot.state;
        let kept = |c: &[&Candidate]| {
            c.iter()
                .map(|c| {
                    // The whole event: what crossing as bytes must not change either.
                    format!("{:?} {:?}", c.event, c.checks)
                })
                .collect::<Vec<_>>()
        };
        let undated: Vec<&Candidate> = s.undated.iter().collect();
        let _ = writeln!(
            out,
            "signal {}/{}: dated {} {:?}\nundated {} {:?}\ncomplete {} buckets {} {:?}\ntallies {:?}\nother {:?} rejected {} {:?} other channel {}",
            slot.rule,
            slot.signal,
            s.dated_total,
            kept(&s.settled()),
            s.undated_total,
            kept(&undated),
            s.complete,
            s.bucket_minutes,
            s.histogram,
            s.tallies,
            s.other_providers,
            s.rejected,
            s.rejected_values,
            s.other_channel,
        );
    }
    out
}
