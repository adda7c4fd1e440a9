//! The report's charts, hand-written SVG inline in the page: horizontal
//! bars, a population pyramid and columns by round. Hand-written rather
//! than plotters: the charts are rectangles and text, a few dozen lines
//! each, with no dependency, no font files and no build time added, and
//! every number stays a `<text>` element the page's test can read (with
//! its `data-json` pointer into summary.json). Pure: strings only.

use super::esc;

/// One bar: its label, its value, and where summary.json has the value.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub pointer: String,
}

/// A number as the page shows it: whole numbers without `.0`.
pub fn shown(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n:.2}")
    }
}

/// A number element: the value, and where summary.json has it.
pub fn number(pointer: &str, n: f64) -> String {
    format!(
        "<span class=\"n\" data-json=\"{}\">{}</span>",
        esc(pointer),
        shown(n)
    )
}

pub const WIDTH: f64 = 760.0;
const LABEL: f64 = 300.0;
const ROW: f64 = 24.0;

/// The width of a half-width bar chart (two side by side).
pub const HALF: f64 = 560.0;

/// Horizontal bars, one a row, the value after each bar; `width` is
/// [`WIDTH`] or [`HALF`].
pub fn bars(title: &str, bars: &[Bar], width: f64) -> String {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0);
    let height = ROW * bars.len() as f64 + 8.0;
    let room = width - LABEL - 70.0;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\">",
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i as f64 + 4.0;
        let w = (b.value.max(0.0) / max * room).max(1.0);
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" class=\"bar\"/>\
             <text x=\"{:.1}\" y=\"{}\" data-json=\"{}\">{}</text>",
            LABEL - 8.0,
            y + 15.0,
            esc(&b.label),
            ROW - 6.0,
            LABEL + w + 6.0,
            y + 15.0,
            esc(&b.pointer),
            shown(b.value)
        ));
    }
    s.push_str("</svg>");
    s
}

/// A population pyramid: males left, females right, the oldest band on
/// top. `rows` are (band, male, female) with their pointers, youngest
/// first.
pub fn pyramid(title: &str, rows: &[(String, Bar, Bar)]) -> String {
    let max = rows
        .iter()
        .flat_map(|(_, m, f)| [m.value, f.value])
        .fold(0.0, f64::max)
        .max(1.0);
    let mid = WIDTH / 2.0;
    let room = mid - 110.0;
    let height = ROW * rows.len() as f64 + 34.0;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\">\
         <text x=\"{}\" y=\"14\" text-anchor=\"end\" class=\"label\">Male</text>\
         <text x=\"{}\" y=\"14\" class=\"label\">Female</text>",
        esc(title),
        mid - 30.0,
        mid + 30.0
    );
    for (i, (band, m, f)) in rows.iter().rev().enumerate() {
        let y = ROW * i as f64 + 24.0;
        let wm = m.value.max(0.0) / max * room;
        let wf = f.value.max(0.0) / max * room;
        s.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{y}\" width=\"{wm:.1}\" height=\"{h}\" class=\"male\"/>\
             <rect x=\"{:.1}\" y=\"{y}\" width=\"{wf:.1}\" height=\"{h}\" class=\"female\"/>\
             <text x=\"{mid}\" y=\"{ty}\" text-anchor=\"middle\" class=\"label\">{}</text>\
             <text x=\"{:.1}\" y=\"{ty}\" text-anchor=\"end\" data-json=\"{}\">{}</text>\
             <text x=\"{:.1}\" y=\"{ty}\" data-json=\"{}\">{}</text>",
            mid - 24.0 - wm,
            mid + 24.0,
            esc(band),
            mid - 30.0 - wm,
            esc(&m.pointer),
            shown(m.value),
            mid + 30.0 + wf,
            esc(&f.pointer),
            shown(f.value),
            h = ROW - 6.0,
            ty = y + 14.0,
        ));
    }
    s.push_str("</svg>");
    s
}

/// Columns, one a round, the value above each.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1.0);
    let step = ((WIDTH - 40.0) / bars.len().max(1) as f64).min(120.0);
    let width = (step * 0.6).min(80.0);
    let (top, room) = (24.0, 160.0);
    let height = top + room + 24.0;
    let mut s = format!(
        "<svg class=\"chart\" role=\"img\" aria-label=\"{}\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\">",
        esc(title)
    );
    for (i, b) in bars.iter().enumerate() {
        let x = 40.0 + step * i as f64 + (step - width) / 2.0;
        let h = (b.value.max(0.0) / max * room).max(1.0);
        let y = top + room - h;
        s.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"{h:.1}\" class=\"bar\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" data-json=\"{}\">{}</text>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" class=\"label\">{}</text>",
            x + width / 2.0,
            y - 6.0,
            esc(&b.pointer),
            shown(b.value),
            x + width / 2.0,
            top + room + 16.0,
            esc(&b.label)
        ));
    }
    s.push_str("</svg>");
    s
}
