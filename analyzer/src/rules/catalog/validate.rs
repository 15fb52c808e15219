//! The checks of one rule and its signals, and the words of catalog errors.

use super::*;
use std::collections::BTreeSet;

pub(super) fn validate_rule(rule: &Rule, context_ids: &BTreeSet<&str>) -> Result<(), CatalogError> {
    let problem = |p: String| CatalogError::Rule {
        rule: rule.id.clone(),
        problem: p,
    };
    if !is_rule_id(&rule.id) {
        return Err(problem(
            "id must be lowercase words joined by `-`, like `rdp-cert-keys`".into(),
        ));
    }
    if rule.title.trim().is_empty() || rule.explanation.trim().is_empty() {
        return Err(problem("title and explanation must not be empty".into()));
    }
    if rule.check_next.is_empty() || rule.check_next.iter().any(|c| c.trim().is_empty()) {
        return Err(problem(
            "check_next must list at least one non-empty step".into(),
        ));
    }
    if !(1..=24 * 30).contains(&rule.window_hours) {
        return Err(problem(format!(
            "window_hours {} is outside 1..=720",
            rule.window_hours
        )));
    }
    let seed_scenario = matches!(rule.scenario.as_str(), "S1" | "S2" | "S3");
    if seed_scenario != (rule.tier == Tier::Seed) {
        return Err(problem(
            "tier \"seed\" is for scenarios S1–S3 only, and they must use it".into(),
        ));
    }
    for reference in std::iter::once(&rule.source).chain(&rule.references) {
        if !reference.url.starts_with("https://") || reference.title.trim().is_empty() {
            return Err(problem(format!(
                "reference `{}` needs a title and an https URL",
                reference.url
            )));
        }
    }
    let signal_ids = unique_ids(
        rule.signals
            .iter()
            .map(|s| s.id.as_str())
            .chain(rule.configs.iter().map(|c| c.id.as_str())),
        "signal",
    )
    .map_err(|e| problem(e.to_string()))?;
    if !rule.signals.iter().any(|s| s.role == Role::Primary)
        && !rule.configs.iter().any(|c| c.role == Role::Primary)
    {
        return Err(problem(
            "needs at least one primary signal or configuration condition".into(),
        ));
    }
    if rule.remediation.is_empty() {
        return Err(problem(
            "needs a remediation: at least one step, manual if nothing can be automated".into(),
        ));
    }
    if rule.remediation.iter().all(|r| r.optional) {
        return Err(problem(
            "every remediation step is optional: at least one must be required".into(),
        ));
    }
    for (index, step) in rule.remediation.iter().enumerate() {
        if step.why.trim().is_empty() {
            return Err(problem(format!("remediation step {index} needs a why")));
        }
        step.check(index)
            .map_err(|e| problem(format!("remediation: {e}")))?;
    }
    for signal in &rule.signals {
        validate_signal(signal, &signal_ids, context_ids)
            .map_err(|p| problem(format!("signal `{}`: {p}", signal.id)))?;
    }
    Ok(())
}

fn validate_signal(
    signal: &Signal,
    signal_ids: &BTreeSet<&str>,
    context_ids: &BTreeSet<&str>,
) -> Result<(), String> {
    if signal.provider.trim() != signal.provider || signal.provider.is_empty() {
        return Err(format!(
            "provider `{}` is empty or has surrounding spaces",
            signal.provider
        ));
    }
    if signal.event_ids.is_empty() || signal.channels.is_empty() {
        return Err("needs at least one event ID and one channel".into());
    }
    if signal
        .channels
        .iter()
        .any(|c| c.trim() != c || c.is_empty())
    {
        return Err("a channel is empty or has surrounding spaces".into());
    }
    if signal.weight > 100 {
        return Err(format!("weight {} is above 100", signal.weight));
    }
    for condition in &signal.conditions {
        if condition.fields.is_empty() || condition.values.is_empty() {
            return Err(format!(
                "condition `{}` needs fields and values",
                condition.label
            ));
        }
        if condition.unknown == WhenUnknown::Rejects && !condition.required {
            return Err(format!(
                "condition `{}`: unknown = \"rejects\" needs required = true",
                condition.label
            ));
        }
        if !condition.query.is_empty() {
            query_values(condition)?;
        }
        // Values are parsed (a number that is not one is refused) when the index is
        // compiled: `rules::index`.
    }
    if signal
        .conditions
        .iter()
        .filter(|c| !c.query.is_empty())
        .count()
        > 1
    {
        return Err("at most one condition may narrow the queries (`query`)".into());
    }
    for doubt in &signal.doubts {
        if !context_ids.contains(doubt.context.as_str()) {
            return Err(format!("doubt names unknown context `{}`", doubt.context));
        }
        if let Some(bad) = doubt
            .unless
            .iter()
            .find(|u| !signal_ids.contains(u.as_str()))
        {
            return Err(format!("doubt's `unless` names unknown signal `{bad}`"));
        }
    }
    if let Some(rate) = signal.rate
        && (rate.min_events < 2 || rate.within_minutes == 0 || rate.within_minutes > 24 * 60)
    {
        return Err("rate needs min_events ≥ 2 and within_minutes in 1..=1440".into());
    }
    Ok(())
}

pub(super) fn unique_ids<'a>(
    ids: impl Iterator<Item = &'a str>,
    what: &str,
) -> Result<BTreeSet<&'a str>, CatalogError> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if id.is_empty() {
            return Err(catalog_problem(format!("a {what} has an empty id")));
        }
        if !seen.insert(id) {
            return Err(catalog_problem(format!("duplicate {what} id `{id}`")));
        }
    }
    Ok(seen)
}

fn is_rule_id(id: &str) -> bool {
    let mut words = id.split('-');
    let all_ok = id.split('-').all(|w| {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    all_ok && words.next().is_some() && words.next().is_some()
}

pub(super) fn catalog_problem(problem: String) -> CatalogError {
    CatalogError::Catalog { problem }
}

pub(super) fn syntax_error(text: &str, e: &toml::de::Error) -> CatalogError {
    let line = e
        .span()
        .and_then(|span| text.get(..span.start))
        .map(|before| before.bytes().filter(|b| *b == b'\n').count() + 1)
        .unwrap_or(0);
    CatalogError::Syntax {
        line,
        message: e.message().to_string(),
    }
}

/// A condition's `query` values: what an XPath query and a command line carry as they are,
/// so a required text test on one field, values it accepts, of letters, digits, `-`,
/// `_`, `.` and spaces only (no quote of any shell or of XPath).
fn query_values(condition: &super::Condition) -> Result<(), String> {
    let plain = |t: &str| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' '))
    };
    let label = &condition.label;
    if !condition.required || condition.compare != super::Compare::Text {
        return Err(format!(
            "condition `{label}`: `query` needs required = true and compare = \"text\""
        ));
    }
    let [field] = condition.fields.as_slice() else {
        return Err(format!(
            "condition `{label}`: `query` needs exactly one field"
        ));
    };
    if let Some(bad) = std::iter::once(field)
        .chain(&condition.query)
        .find(|t| !plain(t))
    {
        return Err(format!(
            "condition `{label}`: `{bad}` cannot be put in a query"
        ));
    }
    if let Some(bad) = condition
        .query
        .iter()
        .find(|q| !condition.values.iter().any(|v| v.eq_ignore_ascii_case(q)))
    {
        return Err(format!(
            "condition `{label}`: query value `{bad}` is not one of its values"
        ));
    }
    // A query holds the time test, the provider test, one event ID and each value: more
    // values than that leaves room for could never be collected.
    let most = crate::rules::collection::MAX_XPATH_EXPRESSIONS - 3;
    if condition.query.len() > most {
        return Err(format!(
            "condition `{label}`: {} query values, at most {most} fit in one query",
            condition.query.len()
        ));
    }
    Ok(())
}
