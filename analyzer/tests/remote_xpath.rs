//! The generated collection queries, checked with a real XPath 1.0 engine (sxd-xpath) on
//! the event XML of every rule fixture: in each channel the queries select exactly the
//! events some rule reads (provider and 16-bit ID; conditions are the analyzer's job) in the
//! last 24 hours, and the source article's Scenario 3 queries would select none of them.
//!
//! The Windows event log evaluates queries as if events had no namespace and provides
//! `timediff()` (milliseconds between now and a time); the test does the same: the
//! namespace declaration is dropped and `timediff` is registered with a fixed now.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::remote::collect::{MAX_XPATH_EXPRESSIONS, remote_collection};
use analyzer::rules::Catalog;
use jiff::Timestamp;
use std::path::PathBuf;
use sxd_document::dom::Element;
use sxd_xpath::function::{Args, Error as FnError, Function};
use sxd_xpath::{Context, Factory, Value, context::Evaluation};

struct TimeDiff(i64);

impl Function for TimeDiff {
    fn evaluate<'c, 'd>(
        &self,
        _: &Evaluation<'c, 'd>,
        args: Vec<Value<'d>>,
    ) -> Result<Value<'d>, FnError> {
        let mut args = Args(args);
        args.exactly(1)?;
        let text = args.pop_string()?;
        let t: Timestamp = text
            .parse()
            .map_err(|e| FnError::Other(format!("{text}: {e}")))?;
        Ok(Value::Number((self.0 - t.as_millisecond()) as f64))
    }
}

/// One event of a fixture, as the test sees it.
#[derive(Debug, Clone)]
struct XmlEvent {
    provider: String,
    id: u16,
    channel: String,
    time: Timestamp,
    /// `<Data Name=…>` items of `<EventData>`.
    data: Vec<(String, String)>,
}

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = testkit::rule_fixture_dirs()
        .into_iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    out.sort();
    out
}

/// The fixture's events under one `<Events>` root, without the event namespace.
fn event_document(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.trim_start_matches('\u{feff}');
    let body = match text.find("?>") {
        Some(end) if text.starts_with("<?xml") => &text[end + 2..],
        _ => text,
    };
    let body = body
        .replace("<Events>", "")
        .replace("</Events>", "")
        .replace(
            " xmlns='http://schemas.microsoft.com/win/2004/08/events/event'",
            "",
        )
        .replace(
            " xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"",
            "",
        );
    format!("<Events>{body}</Events>")
}

fn child<'d>(e: Element<'d>, name: &str) -> Option<Element<'d>> {
    e.children()
        .into_iter()
        .filter_map(|c| c.element())
        .find(|c| c.name().local_part() == name)
}

fn text_of(e: Element<'_>) -> String {
    e.children()
        .into_iter()
        .filter_map(|c| c.text().map(|t| t.text().to_owned()))
        .collect()
}

fn describe(e: Element<'_>) -> XmlEvent {
    let system = child(e, "System").unwrap();
    XmlEvent {
        provider: child(system, "Provider")
            .and_then(|p| p.attribute_value("Name"))
            .unwrap_or_default()
            .to_owned(),
        id: text_of(child(system, "EventID").unwrap())
            .trim()
            .parse()
            .unwrap(),
        channel: child(system, "Channel").map(text_of).unwrap_or_default(),
        time: child(system, "TimeCreated")
            .and_then(|t| t.attribute_value("SystemTime"))
            .unwrap()
            .parse()
            .unwrap(),
        data: child(e, "EventData")
            .map(|d| {
                d.children()
                    .into_iter()
                    .filter_map(|c| c.element())
                    .filter_map(|c| Some((c.attribute_value("Name")?.to_owned(), text_of(c))))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Whether some rule reads this event: its channel, its provider (or an alias), its ID,
/// and the event data a condition narrows the queries to (`query`: exact, as XPath).
fn needed(catalog: &Catalog, e: &XmlEvent) -> bool {
    catalog.rules.iter().flat_map(|r| &r.signals).any(|s| {
        let narrowed = s.conditions.iter().find(|c| !c.query.is_empty());
        let data_ok = narrowed.is_none_or(|c| {
            e.data
                .iter()
                .any(|(k, v)| *k == c.fields[0] && c.query.contains(v))
        });
        data_ok
            && s.event_ids.contains(&e.id)
            && s.channels
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&e.channel))
            && catalog
                .provider_names(&s.provider)
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&e.provider))
    })
}

/// Evaluates `xpath` on the events of `channel` in the document, as the event log does on
/// that channel; returns the indexes (among all the document's events) of those selected.
fn select(document: &str, xpath: &str, channel: &str, now: Timestamp) -> Vec<usize> {
    let package = sxd_document::parser::parse(document).unwrap();
    let doc = package.as_document();
    let root = doc.root().children()[0].element().unwrap();
    let events: Vec<Element<'_>> = root
        .children()
        .into_iter()
        .filter_map(|c| c.element())
        .collect();
    // Only this channel's events are in the log the query runs on.
    for e in &events {
        if !describe(*e).channel.eq_ignore_ascii_case(channel) {
            root.remove_child(*e);
        }
    }
    let compiled = Factory::new()
        .build(xpath)
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .expect("a non-empty XPath");
    let mut context = Context::new();
    context.set_function("timediff", TimeDiff(now.as_millisecond()));
    let value = compiled
        .evaluate(&context, root)
        .unwrap_or_else(|e| panic!("{xpath}: {e}"));
    let Value::Nodeset(nodes) = value else {
        panic!("{xpath} does not select nodes")
    };
    let selected: Vec<Element<'_>> = nodes
        .document_order()
        .into_iter()
        .filter_map(|n| n.element())
        .collect();
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| selected.contains(e))
        .map(|(i, _)| i)
        .collect()
}

fn all_events(document: &str) -> Vec<XmlEvent> {
    let package = sxd_document::parser::parse(document).unwrap();
    let doc = package.as_document();
    let root = doc.root().children()[0].element().unwrap();
    root.children()
        .into_iter()
        .filter_map(|c| c.element())
        .map(describe)
        .collect()
}

#[test]
fn every_query_selects_exactly_the_events_rules_read_in_the_last_24_hours() {
    let catalog = Catalog::builtin().unwrap();
    let collection = remote_collection(&catalog, 24);
    let mut needed_total = 0;
    let mut old_total = 0;
    for path in fixtures() {
        let document = event_document(&path);
        let events = all_events(&document);
        let newest = events.iter().map(|e| e.time).max().unwrap();
        let now = newest + jiff::SignedDuration::from_secs(1);
        let day_ago = now - jiff::SignedDuration::from_hours(24);
        let mut channels: Vec<&str> = collection
            .queries
            .iter()
            .map(|q| q.channel.as_str())
            .collect();
        channels.dedup();
        for channel in channels {
            let mut got: Vec<usize> = collection
                .queries
                .iter()
                .filter(|q| q.channel == channel)
                .flat_map(|q| select(&document, &q.xpath, channel, now))
                .collect();
            got.sort_unstable();
            got.dedup();
            let expected: Vec<usize> = events
                .iter()
                .enumerate()
                .filter(|(_, e)| e.channel.eq_ignore_ascii_case(channel))
                .filter(|(_, e)| needed(&catalog, e))
                .filter(|(_, e)| e.time >= day_ago)
                .map(|(i, _)| i)
                .collect();
            old_total += events
                .iter()
                .filter(|e| e.channel.eq_ignore_ascii_case(channel))
                .filter(|e| needed(&catalog, e) && e.time < day_ago)
                .count();
            needed_total += expected.len();
            assert_eq!(
                got,
                expected,
                "{} in {channel}: selected {:?}, needed {:?}",
                path.display(),
                got.iter().map(|i| &events[*i]).collect::<Vec<_>>(),
                expected.iter().map(|i| &events[*i]).collect::<Vec<_>>()
            );
        }
    }
    assert!(
        needed_total >= 20,
        "the fixtures hold {needed_total} needed events"
    );
    assert!(
        old_total >= 1,
        "some fixture has needed events older than the window"
    );
}

#[test]
fn the_articles_scenario_3_queries_select_none_of_the_broker_events() {
    // Verbatim from the source article: padded provider names, and run on `system`.
    let article = [
        "Event[System[Provider[@Name=' Microsoft-Windows-TerminalServices-SessionBroker '] and EventID=2056 and TimeCreated[timediff(@SystemTime) <= 86400000]]]",
        "Event[System[Provider[@Name=' Microsoft-Windows-TerminalServices-SessionBroker-Client '] and EventID=1296 and TimeCreated[timediff(@SystemTime) <= 86400000]]]",
    ];
    let path = testkit::fixture("rules/rdp-broker-renamed/broker-2056-and-1296.xml");
    let document = event_document(&path);
    let events = all_events(&document);
    let now = events.iter().map(|e| e.time).max().unwrap() + jiff::SignedDuration::from_secs(1);
    let collection = remote_collection(&Catalog::builtin().unwrap(), 24);
    for (xpath, channel, id) in [
        (
            article[0],
            "Microsoft-Windows-TerminalServices-SessionBroker/Operational",
            2056,
        ),
        (
            article[1],
            "Microsoft-Windows-TerminalServices-SessionBroker-Client/Operational",
            1296,
        ),
    ] {
        let present = events
            .iter()
            .filter(|e| e.id == id && e.channel == channel)
            .count();
        assert!(present > 0, "the fixture has {id} in {channel}");
        // Even run on the right channel, the padded names match nothing…
        assert!(select(&document, xpath, channel, now).is_empty());
        // …and on `system`, where the article runs them, there is nothing to match.
        assert!(select(&document, xpath, "System", now).is_empty());
        // The generated queries find them.
        let ours: usize = collection
            .queries
            .iter()
            .filter(|q| q.channel == channel)
            .map(|q| select(&document, &q.xpath, channel, now).len())
            .sum();
        assert_eq!(ours, present, "{channel}");
    }
}

#[test]
fn every_query_stays_within_the_event_logs_expression_limit_and_covers_the_catalog() {
    let catalog = Catalog::builtin().unwrap();
    let collection = remote_collection(&catalog, 24);
    for q in &collection.queries {
        let expressions = q.xpath.matches("Provider[@Name=").count()
            + q.xpath.matches("EventID=").count()
            + q.xpath.matches("TimeCreated[").count();
        assert!(
            expressions <= MAX_XPATH_EXPRESSIONS,
            "{}: {expressions}",
            q.xpath
        );
        assert!(
            !q.xpath.contains("=' ") && !q.xpath.contains(" ']"),
            "padded name: {}",
            q.xpath
        );
    }
    for rule in &catalog.rules {
        for s in &rule.signals {
            for channel in &s.channels {
                for id in &s.event_ids {
                    let covered = collection.queries.iter().any(|q| {
                        q.channel == *channel
                            && q.selects
                                .iter()
                                .any(|p| p.provider == s.provider && p.event_ids.contains(id))
                    });
                    assert!(covered, "{} {} {id} in {channel}", rule.id, s.provider);
                }
            }
        }
    }
}

/// SCM 7040: TermService's is selected by every generated query of System, the routine
/// 7040s of other services (BITS, the real corpus layout) by none: the Run Command
/// script's queries, the collection guide's per-signal queries and its per-channel text
/// command alike.
#[test]
fn only_termservice_s_7040_is_selected_by_any_generated_query() {
    let catalog = Catalog::builtin().unwrap();
    let remote = remote_collection(&catalog, 24);
    let guide = analyzer::rules::collection::guide(&catalog, 24);
    let mut xpaths: Vec<String> = remote
        .queries
        .iter()
        .filter(|q| q.channel == "System")
        .map(|q| q.xpath.clone())
        .collect();
    xpaths.extend(
        guide
            .queries
            .iter()
            .filter(|q| q.channel == "System")
            .map(|q| q.xpath.clone()),
    );
    let text = guide
        .exports
        .iter()
        .find(|e| e.channel == "System")
        .unwrap();
    let text_xpath = text.text_command.split("/q:\"").nth(1).unwrap();
    xpaths.push(text_xpath.trim_end_matches('"').to_owned());
    let narrowed: Vec<&String> = xpaths
        .iter()
        .filter(|x| x.contains("EventID=7040"))
        .collect();
    // The Run Command query, the signal's own query and the text command.
    assert_eq!(narrowed.len(), 3, "{xpaths:#?}");
    for x in &narrowed {
        assert!(
            x.contains("EventData[Data[@Name='param4']='TermService']"),
            "{x}"
        );
    }
    let selected_7040s = |file: &str| -> Vec<String> {
        let path = testkit::fixture(&format!("rules/rdp-termservice-failed/{file}"));
        let document = event_document(&path);
        let events = all_events(&document);
        let now = events.iter().map(|e| e.time).max().unwrap() + jiff::SignedDuration::from_secs(1);
        let mut got: Vec<String> = xpaths
            .iter()
            .flat_map(|x| select(&document, x, "System", now))
            .filter(|i| events[*i].id == 7040)
            .map(|i| format!("{} {:?}", events[i].provider, events[i].data.last()))
            .collect();
        got.sort();
        got.dedup();
        got
    };
    assert_eq!(
        selected_7040s("scm-7040-termservice-disabled.xml"),
        ["Service Control Manager Some((\"param4\", \"TermService\"))"]
    );
    assert_eq!(
        selected_7040s("scm-7040-near-misses.xml"),
        Vec::<String>::new()
    );
}
