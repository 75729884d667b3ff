//! The inline SVG chart: unused permissions per service by sensitivity.

use std::fmt::Write as _;

use super::super::model::ServiceRisk;
use super::super::page::escape;

/// Services drawn in the chart (the rest are in the table under it).
pub(super) const CHART_SERVICES: usize = 15;

/// Sensitivity colours (fill, label) shared with the CSS chips.
const SEGMENTS: [(&str, &str); 4] = [
    ("#7f1d1d", "critical"),
    ("#c2410c", "high"),
    ("#d4a017", "medium"),
    ("#94a3b8", "low"),
];

/// Inline SVG: horizontal stacked bars of unused permissions per service by sensitivity.
pub(super) fn chart(services: &[ServiceRisk]) -> String {
    let shown = &services[..services.len().min(CHART_SERVICES)];
    if shown.is_empty() {
        return String::new();
    }
    let (label_w, bar_w, row_h, top, right) = (170u64, 520u64, 26u64, 8u64, 70u64);
    let width = label_w + bar_w + right;
    let height = top * 2 + row_h * shown.len() as u64;
    let max = shown.iter().map(|s| s.total).max().unwrap_or(1).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         role=\"img\" aria-labelledby=\"chart-title chart-desc\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"chart-title\">Unused permissions by service and sensitivity</title>\
         <desc id=\"chart-desc\">Stacked horizontal bars, one per service, largest risk first: critical, high, \
         medium and low unused permissions. The same numbers are in the table below the chart.</desc>"
    );
    for (i, s) in shown.iter().enumerate() {
        let y = top + row_h * i as u64;
        let name = escape(&s.service);
        let _ = write!(
            svg,
            "<g><text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"chart-label\">{name}</text>",
            label_w - 8,
            y + row_h / 2 + 4
        );
        let b = &s.by_sensitivity;
        let mut x = 0u64;
        for ((fill, label), n) in SEGMENTS.iter().zip([b.critical, b.high, b.medium, b.low]) {
            if n == 0 {
                continue;
            }
            // Cumulative rounding keeps the segments adjacent and the total exact.
            let end = ((x + n) * bar_w).div_ceil(max);
            let start = (x * bar_w).div_ceil(max);
            let w = (end - start).max(1);
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"{fill}\"><title>{name}: {n} {label}</title></rect>",
                label_w + start,
                y + 4,
                row_h - 8
            );
            x += n;
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" class=\"chart-total\">{}</text></g>",
            label_w + (x * bar_w).div_ceil(max) + 6,
            y + row_h / 2 + 4,
            s.total
        );
    }
    svg.push_str("</svg>");
    svg
}
