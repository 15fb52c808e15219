//! The catalog compiled once, when it is read: the typed lookup tables every consumer of the
//! rules shares, so none derives its own.
//!
//! [`Catalog`] is the TOML model (the words, the remediation); an [`Index`] is made from it
//! by [`Catalog::from_toml`] and read through [`Catalog::index`]:
//!
//! - each condition's values parsed into typed [`Values`] (numbers, `0x` status codes, text
//!   already trimmed) — a value that does not parse is a load-time error naming the rule;
//! - per signal, the comparison keys of its provider (with the catalog's aliases) and its
//!   channels; event ID → the signals that list it; per rule, the set of IDs it lists;
//! - what the catalog reads, per channel and per provider ([`ChannelReads`]): what the
//!   collection guide, the Run Command queries, `fixer collect` and the coverage hints use;
//!   IDs a condition's `query` narrows to some event data ([`NarrowedIds`], [`DataTest`])
//!   apart, so every query of them carries the data test;
//! - the (provider, event ID) *kinds* some signal lists, in catalog order, for the
//!   evidence block (a narrowed kind takes only the events its condition selects).
//!
//! Conditions on events are the one kind of condition today. A rule's conditions on a
//! configuration snapshot (issue 15) would be a second list beside [`RuleIndex::signals`],
//! reusing [`Values`] for the accepted values; nothing here assumes every condition reads an
//! event.

use super::catalog::{Catalog, CatalogError, Compare, Condition, InMessage, Rule, Signal, Tier};
use super::matching::{channel_key, parse_number, provider_key};
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;

/// The compiled catalog: made once per [`Catalog`], read by every consumer.
#[derive(Debug, Clone, Default)]
pub struct Index {
    rules: Vec<RuleIndex>,
    signals: Vec<SignalIndex>,
    /// Event ID → the signals that list it and the fields their conditions read.
    by_event_id: HashMap<u16, Listing>,
    contexts: Vec<ContextIndex>,
    /// Every (provider, event ID) some signal lists, in catalog order.
    kinds: Vec<Kind>,
    /// Event ID → (provider key or alias key, index into `kinds`).
    kinds_by_id: HashMap<u16, Vec<(String, usize)>>,
    /// What the catalog reads, per channel, in catalog order.
    channels: Vec<ChannelReads>,
    /// The same, once per tier (most trusted first), for queries that never mix tiers.
    channels_by_tier: Vec<ChannelReads>,
}

/// What reads the events of one ID.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Indexes into [`Index::signals`] of the signals that list it.
    pub signals: Vec<usize>,
    /// The fields their conditions read, each once, with their numbers
    /// ([`EventCondition::field_ids`]): an event's items are looked through once for all.
    pub fields: Vec<(usize, String)>,
}

/// One rule, compiled.
#[derive(Debug, Clone)]
pub struct RuleIndex {
    pub id: String,
    /// Its signals: a range of [`Index::signals`].
    pub signals: Range<usize>,
    /// Every event ID its signals list.
    pub event_ids: BTreeSet<u16>,
    /// The channels its signals read, in order, without repeats.
    pub channels: Vec<String>,
    /// Its conditions on a configuration snapshot, compiled (`[[rule.config]]`).
    pub configs: Vec<super::config_condition::CompiledCondition>,
}

/// One signal, compiled: how an event is matched against it.
#[derive(Debug, Clone)]
pub struct SignalIndex {
    /// The rule (index into [`Catalog::rules`]) and the signal (index into its signals).
    pub rule: usize,
    pub signal: usize,
    /// [`provider_key`]s of its provider and the provider's aliases.
    pub provider_keys: Vec<String>,
    /// [`channel_key`]s of its channels.
    pub channel_keys: Vec<String>,
    /// Its conditions, in catalog order.
    pub conditions: Vec<EventCondition>,
}

/// A structured-data condition on an event, its values parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventCondition {
    /// Event-data items to read, first present wins.
    pub fields: Vec<String>,
    /// The same fields' numbers: one per name, ASCII case ignored, across the catalog.
    pub field_ids: Vec<usize>,
    pub values: Values,
    pub required: bool,
    pub in_message: InMessage,
    /// A required condition that sets aside an event which cannot show its value
    /// ([`WhenUnknown::Rejects`](super::catalog::WhenUnknown::Rejects)).
    pub unknown_rejects: bool,
    /// The values lowercased, for [`InMessage::Phrase`] and [`InMessage::ServiceName`].
    pub phrases: Vec<String>,
    /// What the queries select on ([`Condition::query`]): `None` for most conditions.
    pub query: Option<DataTest>,
}

/// An event-data test the generated queries carry (a condition's `query`): only events
/// whose `field` holds one of `values`, exactly as written, are selected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DataTest {
    pub field: String,
    pub values: Vec<String>,
}

impl DataTest {
    /// `EventData[Data[@Name='param4']='TermService']` (values joined by `or`). Catalog
    /// validation keeps quotes out of the field and the values.
    pub fn xpath(&self) -> String {
        let tests: Vec<String> = self
            .values
            .iter()
            .map(|v| format!("Data[@Name='{}']='{v}'", self.field))
            .collect();
        format!("EventData[{}]", tests.join(" or "))
    }
}

/// The values a condition accepts, typed by how they are compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Values {
    /// [`Compare::Number`]: `0x8009030D`, `2148074253` and `-2146893043` are one value.
    Numbers(Vec<u64>),
    /// [`Compare::Text`]: trimmed, compared ignoring ASCII case.
    Texts(Vec<String>),
}

/// A catalog context, compiled.
#[derive(Debug, Clone)]
pub struct ContextIndex {
    /// [`provider_key`]s of its providers and their aliases.
    pub provider_keys: Vec<String>,
    pub channel_keys: Vec<String>,
}

impl ContextIndex {
    /// Whether an event with this provider key and channel key reveals the context.
    pub fn revealed_by(&self, provider_key: &str, channel_key: Option<&str>) -> bool {
        self.provider_keys.iter().any(|k| k == provider_key)
            || channel_key.is_some_and(|c| self.channel_keys.iter().any(|k| k == c))
    }
}

/// A provider and event ID some signal lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// The [`provider_key`] of the provider as the signal names it.
    pub provider_key: String,
    pub event_id: u16,
    /// When every signal listing it narrows its queries by event data: the condition an
    /// event must meet to be of this kind (a 7040 of TermService, not of BITS).
    pub narrowed: Option<EventCondition>,
}

impl Kind {
    /// Whether `event` (of this kind's provider and ID) is one of it: the narrowing
    /// condition, when there is one, holds (in its data, or as a phrase of its message when
    /// a text export has none).
    pub fn selects(&self, event: &crate::Event) -> bool {
        self.narrowed
            .as_ref()
            .is_none_or(|c| super::matching::check(c, event).holds())
    }
}

/// What the catalog reads from one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelReads {
    /// As the first signal reading it names it.
    pub channel: String,
    /// The most trusted tier among the rules reading it.
    pub tier: Tier,
    /// Its providers, in catalog order, each with the event IDs read from it.
    pub providers: Vec<ProviderReads>,
    /// The ids of the rules reading it, in catalog order.
    pub rules: Vec<String>,
    /// The ids of the rules reading it with a primary signal.
    pub primary_rules: Vec<String>,
}

/// One provider of a channel and what is read from it: the provider → event IDs table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReads {
    /// The provider's name exactly as logged (as the signal names it).
    pub provider: String,
    /// In catalog order, without repeats: the IDs read whatever their event data.
    pub event_ids: Vec<u16>,
    /// IDs read only when their event data passes a test (no ID of `event_ids`).
    pub narrowed: Vec<NarrowedIds>,
    /// The ids of the rules these events serve.
    pub rules: Vec<String>,
}

/// Event IDs a provider is read for only when a test of their event data holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrowedIds {
    pub event_ids: Vec<u16>,
    pub data: DataTest,
}

impl Index {
    /// Compiles a catalog whose model is already validated; a condition value that does not
    /// parse is an error naming its rule, signal and condition.
    pub fn compile(catalog: &Catalog) -> Result<Index, CatalogError> {
        let mut index = Index::default();
        // Every field name a condition reads, once: what `EventCondition::field_ids` number.
        let mut field_names = Vec::new();
        for (r, rule) in catalog.rules.iter().enumerate() {
            let first = index.signals.len();
            let mut channels: Vec<String> = Vec::new();
            let mut event_ids = BTreeSet::new();
            for (s, signal) in rule.signals.iter().enumerate() {
                let conditions = signal
                    .conditions
                    .iter()
                    .map(|c| compile_condition(c, &mut field_names))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|problem| CatalogError::Rule {
                        rule: rule.id.clone(),
                        problem: format!("signal `{}`: {problem}", signal.id),
                    })?;
                let at = index.signals.len();
                for id in &signal.event_ids {
                    let listing = index.by_event_id.entry(*id).or_default();
                    listing.signals.push(at);
                    for c in &conditions {
                        for (field, name) in c.field_ids.iter().zip(&c.fields) {
                            if !listing.fields.iter().any(|(f, _)| f == field) {
                                listing.fields.push((*field, name.clone()));
                            }
                        }
                    }
                    event_ids.insert(*id);
                }
                for channel in &signal.channels {
                    if !channels.contains(channel) {
                        channels.push(channel.clone());
                    }
                }
                let narrowed = conditions.iter().find(|c| c.query.is_some());
                index.add_kinds(catalog, signal, narrowed);
                index.signals.push(SignalIndex {
                    rule: r,
                    signal: s,
                    provider_keys: catalog
                        .provider_names(&signal.provider)
                        .into_iter()
                        .map(provider_key)
                        .collect(),
                    channel_keys: signal.channels.iter().map(|c| channel_key(c)).collect(),
                    conditions,
                });
            }
            let configs = rule
                .configs
                .iter()
                .enumerate()
                .map(|(i, c)| c.compile(i))
                .collect::<Result<Vec<_>, String>>()
                .map_err(|problem| CatalogError::Rule {
                    rule: rule.id.clone(),
                    problem,
                })?;
            index.rules.push(RuleIndex {
                id: rule.id.clone(),
                signals: first..index.signals.len(),
                event_ids,
                channels,
                configs,
            });
        }
        index.contexts = catalog
            .contexts
            .iter()
            .map(|c| ContextIndex {
                provider_keys: c
                    .providers
                    .iter()
                    .flat_map(|p| catalog.provider_names(p))
                    .map(provider_key)
                    .collect(),
                channel_keys: c.channels.iter().map(|ch| channel_key(ch)).collect(),
            })
            .collect();
        index.channels = channel_reads(catalog.rules.iter());
        let mut tiers: Vec<Tier> = catalog.rules.iter().map(|r| r.tier).collect();
        tiers.sort();
        tiers.dedup();
        for tier in tiers {
            let rules = catalog.rules.iter().filter(|r| r.tier == tier);
            index.channels_by_tier.extend(channel_reads(rules));
        }
        Ok(index)
    }

    /// Records the kinds `signal` lists, under every name of its provider; `narrowed`: the
    /// condition its queries select on.
    fn add_kinds(&mut self, catalog: &Catalog, signal: &Signal, narrowed: Option<&EventCondition>) {
        let own = provider_key(&signal.provider);
        for name in catalog.provider_names(&signal.provider) {
            let key = provider_key(name);
            for id in &signal.event_ids {
                let kind = match self
                    .kinds
                    .iter()
                    .position(|k| k.event_id == *id && k.provider_key == own)
                {
                    Some(kind) => {
                        // A signal reading every event of the kind widens it for good.
                        if narrowed.is_none()
                            && let Some(k) = self.kinds.get_mut(kind)
                        {
                            k.narrowed = None;
                        }
                        kind
                    }
                    None => {
                        self.kinds.push(Kind {
                            provider_key: own.clone(),
                            event_id: *id,
                            narrowed: narrowed.cloned(),
                        });
                        self.kinds.len() - 1
                    }
                };
                let entry = self.kinds_by_id.entry(*id).or_default();
                if !entry.iter().any(|(k, _)| *k == key) {
                    entry.push((key.clone(), kind));
                }
            }
        }
    }

    /// The rules, in catalog order.
    pub fn rules(&self) -> &[RuleIndex] {
        &self.rules
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&RuleIndex> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Every signal, rule by rule in catalog order.
    pub fn signals(&self) -> &[SignalIndex] {
        &self.signals
    }

    /// The signals listing `event_id` (indexes into [`Index::signals`]).
    pub fn signals_listing(&self, event_id: u16) -> Option<&[usize]> {
        self.by_event_id
            .get(&event_id)
            .map(|l| l.signals.as_slice())
    }

    /// What reads the events of `event_id`: the signals listing it, the fields they read.
    pub fn listing(&self, event_id: u16) -> Option<&Listing> {
        self.by_event_id.get(&event_id)
    }

    /// The event IDs some signal lists: only those events are looked at beyond the
    /// statistics (provider, channel, computer, time).
    pub fn detail_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.by_event_id.keys().copied()
    }

    /// Per event ID some signal lists, the data items its conditions read: all that the
    /// rules look at in an event's data ([`crate::input::Details::Checked`]).
    pub fn data_reads(&self) -> crate::input::Checked {
        let reads = self
            .by_event_id
            .iter()
            .map(|(id, listing)| {
                let fields = listing
                    .fields
                    .iter()
                    .map(|(_, name)| name.clone())
                    .collect();
                (*id, fields)
            })
            .collect();
        crate::input::Checked { reads }
    }

    /// The catalog's contexts, compiled, in catalog order.
    pub fn contexts(&self) -> &[ContextIndex] {
        &self.contexts
    }

    /// Every (provider, event ID) some signal lists, in catalog order.
    pub fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    /// The kind (index into [`Index::kinds`]) of an event with this provider key and ID.
    pub fn kind_of(&self, provider_key: &str, event_id: u16) -> Option<usize> {
        self.kinds_by_id
            .get(&event_id)?
            .iter()
            .find(|(k, _)| k == provider_key)
            .map(|(_, kind)| *kind)
    }

    /// What the catalog reads, per channel (first spelling), in catalog order.
    pub fn channels(&self) -> &[ChannelReads] {
        &self.channels
    }

    /// What the catalog reads per channel and tier: the most trusted tier first, within a
    /// tier in the order its rules first read each channel.
    pub fn channels_by_tier(&self) -> &[ChannelReads] {
        &self.channels_by_tier
    }
}

/// Parses a condition's values by how they are compared; numbers its fields, adding the
/// names not yet in `field_names`.
fn compile_condition(
    condition: &Condition,
    field_names: &mut Vec<String>,
) -> Result<EventCondition, String> {
    let values = match condition.compare {
        Compare::Number => Values::Numbers(
            condition
                .values
                .iter()
                .map(|v| {
                    parse_number(v).ok_or_else(|| {
                        format!("condition `{}`: `{v}` is not a number", condition.label)
                    })
                })
                .collect::<Result<_, _>>()?,
        ),
        Compare::Text => Values::Texts(
            condition
                .values
                .iter()
                .map(|v| v.trim().to_string())
                .collect(),
        ),
    };
    let field_ids = condition
        .fields
        .iter()
        .map(|field| {
            field_names
                .iter()
                .position(|f| f.eq_ignore_ascii_case(field))
                .unwrap_or_else(|| {
                    field_names.push(field.clone());
                    field_names.len() - 1
                })
        })
        .collect();
    Ok(EventCondition {
        fields: condition.fields.clone(),
        field_ids,
        values,
        required: condition.required,
        in_message: condition.in_message,
        unknown_rejects: condition.required
            && condition.unknown == super::catalog::WhenUnknown::Rejects,
        phrases: condition.values.iter().map(|v| v.to_lowercase()).collect(),
        query: match (condition.query.is_empty(), condition.fields.first()) {
            (false, Some(field)) => Some(DataTest {
                field: field.clone(),
                values: condition.query.clone(),
            }),
            _ => None,
        },
    })
}

/// Groups what `rules` read by channel (ASCII case ignored), then provider, keeping the
/// order in which each is first read.
fn channel_reads<'a>(rules: impl Iterator<Item = &'a Rule>) -> Vec<ChannelReads> {
    let mut out: Vec<ChannelReads> = Vec::new();
    for rule in rules {
        for signal in &rule.signals {
            for channel in &signal.channels {
                let at = match out
                    .iter()
                    .position(|c| c.channel.eq_ignore_ascii_case(channel))
                {
                    Some(at) => at,
                    None => {
                        out.push(ChannelReads {
                            channel: channel.clone(),
                            tier: rule.tier,
                            providers: Vec::new(),
                            rules: Vec::new(),
                            primary_rules: Vec::new(),
                        });
                        out.len() - 1
                    }
                };
                let Some(reads) = out.get_mut(at) else {
                    continue;
                };
                reads.tier = reads.tier.min(rule.tier);
                push_new(&mut reads.rules, &rule.id);
                if signal.role == super::catalog::Role::Primary {
                    push_new(&mut reads.primary_rules, &rule.id);
                }
                let at = match reads
                    .providers
                    .iter()
                    .position(|p| p.provider.eq_ignore_ascii_case(&signal.provider))
                {
                    Some(at) => at,
                    None => {
                        reads.providers.push(ProviderReads {
                            provider: signal.provider.clone(),
                            event_ids: Vec::new(),
                            narrowed: Vec::new(),
                            rules: Vec::new(),
                        });
                        reads.providers.len() - 1
                    }
                };
                let Some(provider) = reads.providers.get_mut(at) else {
                    continue;
                };
                provider.add(&signal.event_ids, query_test(signal));
                push_new(&mut provider.rules, &rule.id);
            }
        }
    }
    out
}

impl ProviderReads {
    /// Adds IDs read whatever their data (`data` `None`: they leave any narrowed list), or
    /// only when `data` holds (unless already read whatever their data).
    fn add(&mut self, ids: &[u16], data: Option<DataTest>) {
        for id in ids {
            if self.event_ids.contains(id) {
                continue;
            }
            match &data {
                None => {
                    self.event_ids.push(*id);
                    for n in &mut self.narrowed {
                        n.event_ids.retain(|i| i != id);
                    }
                    self.narrowed.retain(|n| !n.event_ids.is_empty());
                }
                Some(test) => match self.narrowed.iter_mut().find(|n| n.data == *test) {
                    Some(n) if n.event_ids.contains(id) => {}
                    Some(n) => n.event_ids.push(*id),
                    None => self.narrowed.push(NarrowedIds {
                        event_ids: vec![*id],
                        data: test.clone(),
                    }),
                },
            }
        }
    }

    /// Every ID read from the provider, narrowed or not.
    pub fn all_ids(&self) -> impl Iterator<Item = u16> + '_ {
        self.event_ids
            .iter()
            .chain(self.narrowed.iter().flat_map(|n| &n.event_ids))
            .copied()
    }
}

/// The data test a signal's queries carry: its condition's `query`, if any.
pub fn query_test(signal: &Signal) -> Option<DataTest> {
    let c = signal.conditions.iter().find(|c| !c.query.is_empty())?;
    Some(DataTest {
        field: c.fields.first()?.clone(),
        values: c.query.clone(),
    })
}

fn push_new(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|r| r == id) {
        list.push(id.to_string());
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
