//! A finding's evidence over its window, as SVG: one row per kind of evidence, one mark per
//! event shown. Every label is a text node.

use crate::views::common::time;
use analyzer::rules::finding::Finding;
use yew::prelude::*;

const WIDTH: f64 = 640.0;
const LEFT: f64 = 150.0;
const RIGHT: f64 = 12.0;
const ROW: f64 = 26.0;
const TOP: f64 = 8.0;

#[derive(Debug, Properties, PartialEq)]
pub struct TimelineProps {
    pub finding: Finding,
}

#[function_component(Timeline)]
pub fn timeline(props: &TimelineProps) -> Html {
    let f = &props.finding;
    let times: Vec<i64> = f
        .evidence
        .iter()
        .filter_map(|e| e.time.map(|t| t.as_millisecond()))
        .collect();
    let start = f
        .window
        .start
        .map(|t| t.as_millisecond())
        .or_else(|| times.iter().min().copied());
    let end = f
        .window
        .end
        .map(|t| t.as_millisecond())
        .or_else(|| times.iter().max().copied());
    let (Some(mut start), Some(end)) = (start, end) else {
        return html! { <p class="note">{ "No timeline: the events carry no time." }</p> };
    };
    // Evidence older than the window still shows, at its own place.
    if let Some(min) = times.iter().min() {
        start = start.min(*min);
    }
    let span = (end - start).max(1);
    let mut rows: Vec<&str> = Vec::new();
    for e in &f.evidence {
        if !rows.contains(&e.signal.as_str()) {
            rows.push(&e.signal);
        }
    }
    let label = |signal: &str| {
        f.signals
            .iter()
            .find(|s| s.id == signal)
            .map_or_else(|| signal.to_owned(), |s| s.label.clone())
    };
    #[allow(clippy::cast_precision_loss)]
    let x = |ms: i64| LEFT + (ms - start) as f64 / span as f64 * (WIDTH - LEFT - RIGHT);
    #[allow(clippy::cast_precision_loss)]
    let height = TOP + rows.len() as f64 * ROW + 34.0;
    let axis_y = height - 26.0;
    let window_start = f.window.start.map(|t| x(t.as_millisecond()));
    let marks = f.evidence.iter().filter_map(|e| {
        let t = e.time?;
        let row = rows.iter().position(|r| *r == e.signal)?;
        #[allow(clippy::cast_precision_loss)]
        let cy = TOP + row as f64 * ROW + ROW / 2.0;
        Some(html! {
            <circle class="mark" cx={format!("{:.1}", x(t.as_millisecond()))} cy={format!("{cy:.1}")} r="5">
                <title>{ format!("{} event {} at {}", e.provider, e.event_id, time(Some(t))) }</title>
            </circle>
        })
    });
    let row_labels = rows.iter().enumerate().map(|(i, r)| {
        #[allow(clippy::cast_precision_loss)]
        let y = TOP + i as f64 * ROW + ROW / 2.0 + 4.0;
        let full = label(r);
        let text: String = if full.chars().count() > 22 {
            full.chars().take(21).chain(std::iter::once('…')).collect()
        } else {
            full
        };
        html! {
            <>
                <text class="row-label" x="4" y={format!("{y:.1}")}>{ text }</text>
                <line class="row-line" x1={LEFT.to_string()} x2={(WIDTH - RIGHT).to_string()}
                    y1={format!("{:.1}", y - 4.0)} y2={format!("{:.1}", y - 4.0)} />
            </>
        }
    });
    let start_ts = jiff::Timestamp::from_millisecond(start).ok();
    let end_ts = jiff::Timestamp::from_millisecond(end).ok();
    let description = format!(
        "Timeline of {} evidence events from {} to {}",
        f.evidence.len(),
        time(start_ts),
        time(end_ts)
    );
    html! {
        <figure class="timeline">
            <svg viewBox={format!("0 0 {WIDTH} {height:.0}")} role="img" aria-label={description.clone()}
                preserveAspectRatio="xMinYMin meet">
                if let Some(ws) = window_start {
                    <rect class="window" x={format!("{ws:.1}")} y="0" width={format!("{:.1}", WIDTH - RIGHT - ws)}
                        height={format!("{axis_y:.1}")} />
                }
                { for row_labels }
                { for marks }
                <line class="axis" x1={LEFT.to_string()} x2={(WIDTH - RIGHT).to_string()}
                    y1={format!("{axis_y:.1}")} y2={format!("{axis_y:.1}")} />
                <text class="axis-label" x={LEFT.to_string()} y={format!("{:.1}", axis_y + 16.0)}>{ time(start_ts) }</text>
                <text class="axis-label end" x={(WIDTH - RIGHT).to_string()} y={format!("{:.1}", axis_y + 16.0)}
                    text-anchor="end">{ time(end_ts) }</text>
            </svg>
            <figcaption>{ format!("{description}; the shaded band is the {}-hour window.", f.window.hours) }</figcaption>
        </figure>
    }
}
