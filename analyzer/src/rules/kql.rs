//! Azure Monitor (Log Analytics) queries for the catalog's rules, over the `Event` table a
//! data collection rule fills from Windows event logs.
//!
//! Columns used: `TimeGenerated`, `Computer`, `EventLog`, `Source`, `EventID`,
//! `RenderedDescription`, `ParameterXml`. Only channels the workspace collects are there:
//! the queries say which channel each rule needs.

use super::catalog::{Catalog, Rule, Signal};

/// All rules' queries, one block per rule, separated by blank lines. A rule that rests only
/// on a configuration snapshot reads no event and has no query.
pub fn queries(catalog: &Catalog) -> String {
    catalog
        .rules
        .iter()
        .filter(|r| !r.signals.is_empty())
        .map(|r| rule_query(catalog, r))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The query of one rule: a comment block, then the KQL.
pub fn rule_query(catalog: &Catalog, rule: &Rule) -> String {
    let mut out = format!("// {} ({}): {}\n", rule.id, rule.scenario, rule.title);
    let channels: Vec<&str> = catalog
        .index()
        .rule(&rule.id)
        .map(|r| r.channels.iter().map(String::as_str).collect())
        .unwrap_or_default();
    out.push_str(&format!(
        "// Needs the {} log{} in the workspace's data collection rule.\n",
        channels.join(", "),
        if channels.len() > 1 { "s" } else { "" }
    ));
    for c in channels.iter().filter(|c| c.contains('/')) {
        let kind = if c.ends_with("/Operational") {
            "an Operational channel"
        } else {
            "a channel of its own, not a classic log"
        };
        out.push_str(&format!(
            "// {c} is {kind}: it is in the Event table only if collected explicitly.\n"
        ));
    }
    let hours = rule.window_hours;
    match rule.signals.iter().find(|s| s.rate.is_some()) {
        Some(rate_signal) => out.push_str(&rate_query(catalog, rate_signal, hours)),
        None => {
            out.push_str(&format!("Event\n| where TimeGenerated > ago({hours}h)\n"));
            let clauses: Vec<String> = rule
                .signals
                .iter()
                .map(|s| signal_clause(catalog, s))
                .collect();
            out.push_str(&format!("| where {}\n", clauses.join("\n     or ")));
            out.push_str("| project TimeGenerated, Computer, EventLog, Source, EventID, RenderedDescription, ParameterXml\n");
            out.push_str("| order by TimeGenerated desc\n");
        }
    }
    out
}

fn rate_query(catalog: &Catalog, signal: &Signal, hours: u32) -> String {
    let Some(rate) = signal.rate else {
        return String::new();
    };
    let mut out = String::new();
    if signal
        .channels
        .iter()
        .any(|c| c.eq_ignore_ascii_case("Security"))
    {
        out.push_str("// With Microsoft Sentinel or Defender for Cloud the Security log is in the SecurityEvent table:\n");
        out.push_str(&format!(
            "// SecurityEvent | where TimeGenerated > ago({hours}h) and EventID == {} | summarize failures = count() by Computer, bin(TimeGenerated, {}m) | where failures >= {}\n",
            signal.event_ids.first().copied().unwrap_or_default(),
            rate.within_minutes,
            rate.min_events
        ));
    }
    out.push_str(&format!("Event\n| where TimeGenerated > ago({hours}h)\n"));
    out.push_str(&format!("| where {}\n", signal_clause(catalog, signal)));
    out.push_str(&format!(
        "| summarize failures = count() by Computer, bin(TimeGenerated, {}m)\n| where failures >= {}\n| order by failures desc\n",
        rate.within_minutes, rate.min_events
    ));
    out
}

fn signal_clause(catalog: &Catalog, signal: &Signal) -> String {
    let names: Vec<String> = catalog
        .provider_names(&signal.provider)
        .iter()
        .map(|n| quote(n))
        .collect();
    let channels: Vec<String> = signal.channels.iter().map(|c| quote(c)).collect();
    let ids: Vec<String> = signal.event_ids.iter().map(u16::to_string).collect();
    let mut clause = format!(
        "(EventLog in~ ({}) and Source in~ ({}) and EventID in ({})",
        channels.join(", "),
        names.join(", "),
        ids.join(", ")
    );
    // Required conditions narrow the query; the values appear in ParameterXml, or in the
    // rendered text when the agent could render it.
    for condition in signal.conditions.iter().filter(|c| c.required) {
        let values: Vec<String> = condition.values.iter().map(|v| quote(v)).collect();
        clause.push_str(&format!(
            " and (ParameterXml has_any ({0}) or RenderedDescription has_any ({0}))",
            values.join(", ")
        ));
    }
    clause.push(')');
    clause
}

fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}
