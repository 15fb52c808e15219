//! Collection that fits the channel: per-channel `wevtutil qe` queries (and their
//! `Get-WinEvent` twins) selecting only the providers and event IDs some rule reads, newest
//! first, few enough to come back through Run Command's 4,096-byte output; and the one Run
//! Command script that runs them all and prints what fits, the most relevant events last
//! (Run Command keeps the tail).

use super::quote;
use crate::rules::catalog::{Catalog, Tier};
pub use crate::rules::collection::MAX_XPATH_EXPRESSIONS;
use crate::rules::collection::{narrowed_selection_xpath, provider_and_ids, time_clause};
use crate::rules::index::{DataTest, ProviderReads};
use serde::Serialize;

/// What Azure Run Command returns of a script's output: its last 4,096 bytes.
pub const RUN_COMMAND_OUTPUT_BYTES: usize = 4096;
/// What collection output may use, leaving room for a line the console adds.
pub const COLLECTION_BUDGET_BYTES: usize = 3900;
/// Events each query of the Run Command script fetches before the script keeps what fits.
pub const SCRIPT_FETCH_PER_QUERY: u32 = 30;

/// One `wevtutil qe` query: one channel, some providers and their event IDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChannelQuery {
    pub channel: String,
    /// What the XPath selects, in its order.
    pub selects: Vec<ProviderIds>,
    pub xpath: String,
    /// The rules these events serve.
    pub rules: Vec<String>,
    /// The most trusted tier among them (the Run Command script keeps seed events first).
    pub tier: Tier,
    /// `/c:` of the standalone command: how many typical events fit in the budget.
    pub max_events: u32,
    /// `wevtutil qe …`: the same line runs in cmd.exe and PowerShell.
    pub wevtutil: String,
    /// `Get-WinEvent -FilterXPath …` for PowerShell, as a `Format-List` the page reads.
    pub get_winevent: String,
}

/// A provider and the event IDs read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProviderIds {
    pub provider: String,
    pub event_ids: Vec<u16>,
    /// The event-data test these IDs are selected with, when a rule's condition narrows
    /// them (`param4` = `TermService`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<DataTest>,
}

impl ProviderIds {
    /// Whether the query selects `event` (its channel aside): provider, ID and data test.
    pub fn selects(&self, event: &crate::Event) -> bool {
        self.provider == event.provider
            && self.event_ids.contains(&event.event_id)
            && self.data.as_ref().is_none_or(|d| {
                event
                    .data_value(&d.field)
                    .is_some_and(|v| d.values.iter().any(|w| w == v))
            })
    }
}

/// Every query and the Run Command script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteCollection {
    pub window_hours: u32,
    pub budget_bytes: usize,
    /// Most relevant first (seed rules' events, then documented, then derived).
    pub queries: Vec<ChannelQuery>,
    /// The Run Command script (PowerShell 5.1).
    pub script: String,
}

/// The size of one event of `provider` as `wevtutil /f:text` prints it, generously: the
/// largest such block in the fixtures is checked to stay below it. Security auditing
/// messages (4625) are long.
pub fn typical_event_bytes(provider: &str) -> usize {
    if provider.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing") {
        2_400
    } else {
        1_000
    }
}

/// Builds the queries and the script for `catalog`, looking back `window_hours`.
pub fn remote_collection(catalog: &Catalog, window_hours: u32) -> RemoteCollection {
    let queries = queries(catalog, window_hours);
    let script = collection_script(&queries, window_hours);
    RemoteCollection {
        window_hours,
        budget_bytes: COLLECTION_BUDGET_BYTES,
        queries,
        script,
    }
}

fn queries(catalog: &Catalog, window_hours: u32) -> Vec<ChannelQuery> {
    // One group per channel and tier, seed rules' first: a query never mixes seed events
    // with derived ones, so the script can rank whole queries.
    let plans = catalog.index().channels_by_tier();
    let time = time_clause(window_hours);
    let mut out = Vec::new();
    for plan in plans {
        for (selects, rules) in pack(&plan.providers) {
            let xpath = xpath(&selects, &time);
            let worst = selects
                .iter()
                .map(|s| typical_event_bytes(&s.provider))
                .max()
                .unwrap_or(1_000);
            let max_events = u32::try_from((COLLECTION_BUDGET_BYTES / worst).max(1)).unwrap_or(1);
            out.push(ChannelQuery {
                wevtutil: wevtutil_command(&plan.channel, &xpath, max_events),
                get_winevent: get_winevent_command(&plan.channel, &xpath, max_events),
                channel: plan.channel.clone(),
                selects,
                xpath,
                rules,
                tier: plan.tier,
                max_events,
            });
        }
    }
    out.sort_by_key(|q| q.tier);
    out
}

/// Splits a channel's providers into queries of at most [`MAX_XPATH_EXPRESSIONS`]
/// expressions (each provider test, each event ID test, and the time test count one).
fn pack(providers: &[ProviderReads]) -> Vec<(Vec<ProviderIds>, Vec<String>)> {
    let mut out: Vec<(Vec<ProviderIds>, Vec<String>)> = Vec::new();
    let mut current: Vec<ProviderIds> = Vec::new();
    let mut rules: Vec<String> = Vec::new();
    let mut cost = 1; // the time test
    // Each provider's IDs read whatever their data, then those read with a data test
    // (which costs one expression per value).
    let groups = providers.iter().flat_map(|reads| {
        std::iter::once((reads, reads.event_ids.as_slice(), None)).chain(
            reads
                .narrowed
                .iter()
                .map(move |n| (reads, n.event_ids.as_slice(), Some(&n.data))),
        )
    });
    for (reads, ids, data) in groups {
        let mut rest: &[u16] = ids;
        let extra = data.map_or(0, |d| d.values.len());
        while !rest.is_empty() {
            if cost + 2 + extra > MAX_XPATH_EXPRESSIONS {
                out.push((std::mem::take(&mut current), std::mem::take(&mut rules)));
                cost = 1;
            }
            // At least one ID fits in a fresh query: the catalog's validation bounds a
            // condition's query values (`catalog/validate.rs`). Were it not so, stop rather
            // than loop for ever on a query that takes nothing.
            let room = MAX_XPATH_EXPRESSIONS.saturating_sub(cost + 1 + extra);
            if room == 0 {
                break;
            }
            let take = room.min(rest.len());
            let (now, later) = rest.split_at(take);
            current.push(ProviderIds {
                provider: reads.provider.clone(),
                event_ids: now.to_vec(),
                data: data.cloned(),
            });
            for r in &reads.rules {
                if !rules.contains(r) {
                    rules.push(r.clone());
                }
            }
            cost += 1 + take + extra;
            rest = later;
        }
    }
    if !current.is_empty() {
        out.push((current, rules));
    }
    out
}

fn xpath(selects: &[ProviderIds], time: &str) -> String {
    let clauses: Vec<String> = selects
        .iter()
        .filter(|s| s.data.is_none())
        .map(|s| format!("({})", provider_and_ids(&s.provider, &s.event_ids)))
        .collect();
    let narrowed: Vec<(String, String)> = selects
        .iter()
        .filter_map(|s| {
            let data = s.data.as_ref()?;
            Some((provider_and_ids(&s.provider, &s.event_ids), data.xpath()))
        })
        .collect();
    narrowed_selection_xpath(&clauses, &narrowed, time)
}

/// `wevtutil qe`, valid as typed in cmd.exe and in PowerShell: the XPath sits in double
/// quotes and holds no `"`, `%`, `$` or backtick (checked by the tests).
fn wevtutil_command(channel: &str, xpath: &str, count: u32) -> String {
    let channel = if channel.contains(' ') {
        format!("\"{channel}\"")
    } else {
        channel.to_owned()
    };
    format!("wevtutil qe {channel} /q:\"{xpath}\" /rd:true /c:{count} /f:text")
}

fn get_winevent_command(channel: &str, xpath: &str, count: u32) -> String {
    format!(
        "Get-WinEvent -LogName {} -FilterXPath {} -MaxEvents {count} -ErrorAction SilentlyContinue | Format-List TimeCreated,ProviderName,Id,LevelDisplayName,LogName,MachineName,RecordId,Message",
        quote::powershell(channel),
        quote::powershell(xpath)
    )
}

/// The Run Command script: every query (as `/f:xml`: the event data rules read and UTC
/// times survive, where `/f:text` keeps only the localised message and local time), then
/// as many events as fit the budget — each query's newest first, round-robin in relevance
/// order — printed least relevant first so the most relevant end the output, where Run
/// Command keeps it.
fn collection_script(queries: &[ChannelQuery], window_hours: u32) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# rdpfix: the events the rdpfix rules read, from the last {window_hours} hours, as event XML\n\
         # (XML keeps the event data and UTC times that /f:text loses).\n\
         # Prints at most {COLLECTION_BUDGET_BYTES} bytes (Run Command returns the last {RUN_COMMAND_OUTPUT_BYTES}), the most relevant events last.\n\
         # Paste the whole output into the rdpfix page. PowerShell 5.1; reads logs and settings only.\n"
    ));
    // The configuration snapshot is built first and printed last; the events get the rest.
    s.push_str(&super::config::fragment());
    s.push_str(&format!(
        "$budget = {COLLECTION_BUDGET_BYTES} - $rdpfixConfigBytes\n$queries = @(\n"
    ));
    // One `,@(…)` per line: each query stays a pair however many there are.
    for q in queries {
        s.push_str(&format!(
            "    ,@({}, {})\n",
            quote::powershell(&q.channel),
            quote::powershell(&q.xpath)
        ));
    }
    s.push_str(&format!(
        r#")
$found = New-Object System.Collections.ArrayList
$missing = New-Object System.Collections.ArrayList
foreach ($q in $queries) {{
    $out = & wevtutil.exe qe $q[0] "/q:$($q[1])" /rd:true /c:{SCRIPT_FETCH_PER_QUERY} /f:xml 2>$null
    if ($LASTEXITCODE -ne 0) {{
        if (-not $missing.Contains($q[0])) {{ [void]$missing.Add($q[0]) }}
        [void]$found.Add(@())
        continue
    }}
    $text = ($out | Out-String)
    $events = @([regex]::Split($text, '(?=<Event[ >])') | ForEach-Object {{ $_.Trim() }} | Where-Object {{ $_.StartsWith('<Event') }})
    [void]$found.Add($events)
}}
$utf8 = New-Object System.Text.UTF8Encoding $false
$kept = New-Object System.Collections.ArrayList
$used = 0
$total = 0
foreach ($list in $found) {{ $total += $list.Count }}
$deepest = 0
foreach ($list in $found) {{ if ($list.Count -gt $deepest) {{ $deepest = $list.Count }} }}
for ($depth = 0; $depth -lt $deepest; $depth++) {{
    foreach ($list in $found) {{
        if ($depth -ge $list.Count) {{ continue }}
        $e = $list[$depth]
        $size = $utf8.GetByteCount($e) + 4
        if ($used + $size -le $budget - 200) {{
            [void]$kept.Add($e)
            $used += $size
        }}
    }}
}}
$note = "rdpfix: $($kept.Count) of the $total newest matching events (last {window_hours} h)"
if ($total -gt $kept.Count) {{ $note += ", $($total - $kept.Count) left out to fit Run Command's output" }}
if ($missing.Count -gt 0) {{ $note += "; logs not on this VM: " + ($missing -join ', ') }}
Write-Output $note
Write-Output ''
for ($i = $kept.Count - 1; $i -ge 0; $i--) {{
    Write-Output $kept[$i]
    Write-Output ''
}}
Write-Output $rdpfixConfig
"#
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::index::{DataTest, NarrowedIds};

    fn reads(ids: &[u16], values: usize) -> ProviderReads {
        ProviderReads {
            provider: "Service Control Manager".to_owned(),
            event_ids: ids.to_vec(),
            narrowed: vec![NarrowedIds {
                event_ids: vec![7040, 7041],
                data: DataTest {
                    field: "param4".to_owned(),
                    values: (0..values).map(|i| format!("S{i}")).collect(),
                },
            }],
            rules: vec!["r".to_owned()],
        }
    }

    /// Every query stays within the limit and every ID is in one, however many a data
    /// test's values leave room for (one ID at 17 values: this looped for ever at 18).
    #[test]
    fn packs_every_id_within_the_limit() {
        let ids: Vec<u16> = (7000..7030).collect();
        for values in [0, 1, 5, 16, 17] {
            let packed = pack(&[reads(&ids, values)]);
            let mut seen: Vec<u16> = Vec::new();
            for (providers, _) in &packed {
                let cost: usize = 1 + providers
                    .iter()
                    .map(|p| 1 + p.event_ids.len() + p.data.as_ref().map_or(0, |d| d.values.len()))
                    .sum::<usize>();
                assert!(cost <= MAX_XPATH_EXPRESSIONS, "{values} values: {cost}");
                seen.extend(providers.iter().flat_map(|p| p.event_ids.iter().copied()));
            }
            seen.sort_unstable();
            let mut want = ids.clone();
            want.extend([7040, 7041]);
            assert_eq!(seen, want, "{values} values");
        }
    }

    /// Past what validation allows, packing stops instead of looping.
    #[test]
    fn a_test_too_wide_for_any_query_ends() {
        let packed = pack(&[reads(&[7000], 18)]);
        assert!(
            packed
                .iter()
                .all(|(p, _)| p.iter().all(|p| !p.event_ids.is_empty()))
        );
    }
}
