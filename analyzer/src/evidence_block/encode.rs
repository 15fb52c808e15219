//! Writing a block: collect the events some rule reads (bounded per kind), pick as many as
//! fit the byte budget — every kind's newest first, round-robin, so a burst of one kind
//! (thousands of failed logons) cannot crowd out a single certificate error — and render.

use crate::event::Event;
use crate::event::Level;
use crate::input::EventSink;
use crate::input::evidence::wire::{DATA_ITEMS, MESSAGE_CHARS, Summary, VALUE_CHARS, WireEvent};
use crate::input::evidence::{
    BLOCK_END, BLOCK_MARKER, BLOCK_VERSION, CHECK_BYTES, LINE_WIDTH, MAX_BODY_CHARS,
};
use crate::input::hex;
use crate::rules::catalog::Catalog;
use crate::rules::index::Index;
use crate::rules::matching::shorten;
use crate::rules::matching::{channel_key, provider_key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Newest events kept per kind (provider and event ID) before choosing what fits: far more
/// than any budget holds, small enough to bound memory on a log of millions of events.
const KEEP_PER_KIND: usize = 400;

/// A written block and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceBlock {
    /// The block, lines ending in `\n`.
    pub text: String,
    /// Events the builder saw.
    pub seen: u64,
    /// Events some rule reads.
    pub relevant: u64,
    /// Relevant events in the block.
    pub kept: u64,
    /// Relevant events left out for lack of room.
    pub omitted: u64,
    /// Context events in the block.
    pub context: u64,
}

impl EvidenceBlock {
    /// The block's size as a Windows console prints it (every line ending in CR LF): what
    /// counts against Run Command's 4,096 bytes.
    pub fn console_bytes(&self) -> usize {
        console_bytes(&self.text)
    }
}

/// Collects events (it is an [`EventSink`]) and writes the block.
#[derive(Debug)]
pub struct BlockBuilder {
    /// The catalog's index: which (provider, event ID) kinds some signal reads.
    index: Arc<Index>,
    /// One list per kind of the index, in catalog order (seed rules first): its newest
    /// events.
    kinds: Vec<Vec<Event>>,
    /// One per catalog context: its newest event.
    contexts: Vec<Option<Event>>,
    newest: Option<Event>,
    oldest: Option<Event>,
    by_channel: BTreeMap<String, Event>,
    seen: u64,
    relevant: u64,
    times: Option<(jiff::Timestamp, jiff::Timestamp)>,
}

impl BlockBuilder {
    /// A builder that keeps what `catalog`'s rules read.
    pub fn new(catalog: &Catalog) -> BlockBuilder {
        let index = Arc::clone(catalog.index());
        BlockBuilder {
            kinds: vec![Vec::new(); index.kinds().len()],
            contexts: vec![None; index.contexts().len()],
            index,
            newest: None,
            oldest: None,
            by_channel: BTreeMap::new(),
            seen: 0,
            relevant: 0,
            times: None,
        }
    }

    /// Sees one event.
    pub fn push(&mut self, event: &Event) {
        self.seen += 1;
        if let Some(t) = event.time_created {
            self.times = Some(match self.times {
                Some((old, new)) => (old.min(t), new.max(t)),
                None => (t, t),
            });
        }
        let provider = provider_key(&event.provider);
        // A kind whose queries select on event data takes only the events they select (a
        // 7040 of TermService, never the routine 7040s of other services).
        let kind = self
            .index
            .kind_of(&provider, event.event_id)
            .filter(|&k| self.index.kinds().get(k).is_some_and(|k| k.selects(event)));
        if let Some(list) = kind.and_then(|k| self.kinds.get_mut(k)) {
            self.relevant += 1;
            list.push(event.clone());
            if list.len() >= 2 * KEEP_PER_KIND {
                newest_first(list);
                list.truncate(KEEP_PER_KIND);
            }
            return;
        }
        // Context events: only those no rule reads (a relevant one is in its kind already).
        if is_newer(event, self.newest.as_ref()) {
            self.newest = Some(event.clone());
        }
        if is_older(event, self.oldest.as_ref()) {
            self.oldest = Some(event.clone());
        }
        if let Some(channel) = &event.channel {
            let key = channel_key(channel);
            let newer = is_newer(event, self.by_channel.get(&key));
            if newer {
                self.by_channel.insert(key, event.clone());
            }
        }
        let channel = event.channel.as_deref().map(channel_key);
        for (context, kept) in self.index.contexts().iter().zip(&mut self.contexts) {
            if context.revealed_by(&provider, channel.as_deref()) && is_newer(event, kept.as_ref())
            {
                *kept = Some(event.clone());
            }
        }
    }

    /// Writes the block: as many relevant events as fit in `max_bytes` (counted as a
    /// Windows console prints it, CR LF line ends; at most [`MAX_BODY_CHARS`], what a
    /// reader accepts), the context events first.
    pub fn finish(mut self, max_bytes: usize) -> EvidenceBlock {
        let max_bytes = max_bytes.min(MAX_BODY_CHARS);
        for list in &mut self.kinds {
            newest_first(list);
            list.truncate(KEEP_PER_KIND);
        }
        let mut context: Vec<WireEvent> = Vec::new();
        let candidates = [self.newest.take(), self.oldest.take()]
            .into_iter()
            .chain(std::mem::take(&mut self.by_channel).into_values().map(Some))
            .chain(self.contexts.iter_mut().map(Option::take))
            .flatten();
        for event in candidates {
            let wire = wire_event(&event, true);
            if !context.contains(&wire) {
                context.push(wire);
            }
        }
        let mut relevant: Vec<WireEvent> = Vec::new();
        let deepest = self.kinds.iter().map(Vec::len).max().unwrap_or(0);
        for depth in 0..deepest {
            for list in &self.kinds {
                if let Some(event) = list.get(depth) {
                    relevant.push(wire_event(event, false));
                }
            }
        }
        let lines: Vec<String> = context
            .iter()
            .chain(&relevant)
            .filter_map(|w| serde_json::to_string(w).ok())
            .collect();
        let contexts = context.len();
        let summary_for = |n: usize| {
            let kept = n.saturating_sub(contexts) as u64;
            Summary {
                v: BLOCK_VERSION,
                seen: self.seen,
                relevant: self.relevant,
                kept,
                omitted: self.relevant.saturating_sub(kept),
                context: n.min(contexts) as u64,
                oldest: self.times.map(|(old, _)| old),
                newest: self.times.map(|(_, new)| new),
            }
        };
        // The compressed size grows with the number of lines, closely enough for a binary
        // search; the result is checked, and shrunk while it does not fit.
        let render_n = |n: usize| render(&summary_for(n), lines.get(..n).unwrap_or_default());
        let (mut low, mut high) = (0usize, lines.len());
        while low < high {
            let mid = low + (high - low).div_ceil(2);
            if console_bytes(&render_n(mid)) <= max_bytes {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        let mut n = low;
        let mut text = render_n(n);
        while n > 0 && console_bytes(&text) > max_bytes {
            n -= 1;
            text = render_n(n);
        }
        let summary = summary_for(n);
        EvidenceBlock {
            text,
            seen: summary.seen,
            relevant: summary.relevant,
            kept: summary.kept,
            omitted: summary.omitted,
            context: summary.context,
        }
    }
}

impl EventSink for BlockBuilder {
    fn event(&mut self, event: Event) {
        self.push(&event);
    }
}

fn render(summary: &Summary, lines: &[String]) -> String {
    let mut body = serde_json::to_string(summary).unwrap_or_default();
    for line in lines {
        body.push('\n');
        body.push_str(line);
    }
    let mut packed = miniz_oxide::deflate::compress_to_vec(body.as_bytes(), 10);
    let check: [u8; 32] = Sha256::digest(&packed).into();
    let data = STANDARD.encode(&packed);
    packed.clear();
    let mut text = format!(
        "{BLOCK_MARKER}{BLOCK_VERSION}: {} events, {} left out\nsha256 {}, {} chars\n",
        summary.kept,
        summary.omitted,
        hex(check.get(..CHECK_BYTES).unwrap_or_default()),
        data.len()
    );
    for chunk in data.as_bytes().chunks(LINE_WIDTH) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
    text.push_str(BLOCK_END);
    text.push('\n');
    text
}

/// An event as a block keeps it: long values and messages shortened.
fn wire_event(event: &Event, context: bool) -> WireEvent {
    WireEvent {
        p: event.provider.clone(),
        i: event.event_id,
        q: event.qualifiers,
        l: event.level.map(Level::number),
        t: event.time_created,
        lt: event.time_is_local,
        r: event.record_id,
        c: event.channel.clone(),
        m: event.computer.clone(),
        s: event.user_sid.clone(),
        d: event
            .data
            .iter()
            .take(DATA_ITEMS)
            .map(|(k, v)| (shorten(k, 64), shorten(v, VALUE_CHARS)))
            .collect(),
        // A message is only needed when the export had no data to match on.
        x: match (&event.message, context, event.data.is_empty()) {
            (Some(m), false, true) => Some(shorten(m, MESSAGE_CHARS)),
            _ => None,
        },
        k: context,
    }
}

/// Bytes of `text` on a Windows console, whose line ends are CR LF: what Run Command's
/// 4,096-byte tail counts.
pub fn console_bytes(text: &str) -> usize {
    text.len() + text.matches('\n').count()
}

fn newest_first(list: &mut [Event]) {
    list.sort_by_key(|e| std::cmp::Reverse(e.time_created));
}

fn is_newer(event: &Event, than: Option<&Event>) -> bool {
    match (event.time_created, than.and_then(|t| t.time_created)) {
        (_, None) => than.is_none() || event.time_created.is_some(),
        (Some(a), Some(b)) => a > b,
        (None, Some(_)) => false,
    }
}

fn is_older(event: &Event, than: Option<&Event>) -> bool {
    match (event.time_created, than.and_then(|t| t.time_created)) {
        (_, None) => than.is_none() || event.time_created.is_some(),
        (Some(a), Some(b)) => a < b,
        (None, Some(_)) => false,
    }
}
