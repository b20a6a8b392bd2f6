//! SVG plots with no plotting library: a tiny SVG writer, a line chart (for
//! propagation CDFs) and a horizontal bar chart (for bandwidth by message type).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::SimError;
use crate::metrics::{write_file, MsgStats, Spread, QUANTILES};
use crate::sim::Sim;

/// Plot size in pixels.
const W: f64 = 640.0;
/// Plot height in pixels.
const H: f64 = 400.0;
/// Margins: left, right, top, bottom.
const M: (f64, f64, f64, f64) = (70.0, 20.0, 40.0, 50.0);
/// Points per CDF at most, about.
const MAX_STEPS: usize = 250;
/// Series colours, in order.
const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];

/// Escapes text for XML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// An SVG document under construction.
pub struct Svg {
    body: String,
}

impl Svg {
    /// An empty white canvas.
    pub fn new() -> Self {
        let mut body = String::new();
        let _ = write!(
            body,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif">"#
        );
        let _ = write!(body, r#"<rect x="0" y="0" width="{W}" height="{H}" fill="white"/>"#);
        Svg { body }
    }

    /// A straight line.
    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{}"/>"#,
            esc(stroke)
        );
    }

    /// A polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str) {
        let mut p = String::new();
        for (x, y) in points {
            let _ = write!(p, "{x:.1},{y:.1} ");
        }
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            p.trim_end(),
            esc(stroke)
        );
    }

    /// A filled rectangle.
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{}"/>"#,
            w.max(0.0),
            h.max(0.0),
            esc(fill)
        );
    }

    /// Text; `anchor` is `start`, `middle` or `end`.
    pub fn text(&mut self, x: f64, y: f64, size: u32, anchor: &str, text: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{}">{}</text>"#,
            esc(anchor),
            esc(text)
        );
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.body.push_str("</svg>\n");
        self.body
    }
}

impl Default for Svg {
    fn default() -> Self {
        Svg::new()
    }
}

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// (x, y) in data units.
    pub points: Vec<(f64, f64)>,
}

/// About five round tick values covering `[0, max]`.
fn ticks(max: f64) -> Vec<f64> {
    if !(max.is_finite() && max > 0.0) {
        return vec![0.0, 1.0];
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (0..=((max / step).ceil() as usize).min(20))
        .map(|k| k as f64 * step)
        .collect()
}

fn fmt_tick(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart; the y axis runs from 0 to `y_max`.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], y_max: f64) -> String {
    let mut svg = Svg::new();
    let x_max = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(0.0f64, f64::max);
    let xt = ticks(x_max);
    let yt = ticks(y_max);
    let (x_hi, y_hi) = (*xt.last().unwrap_or(&1.0), *yt.last().unwrap_or(&1.0));
    let (pw, ph) = (W - M.0 - M.1, H - M.2 - M.3);
    let px = |x: f64| M.0 + x / x_hi * pw;
    let py = |y: f64| M.2 + ph - y / y_hi * ph;
    svg.text(W / 2.0, 24.0, 16, "middle", title);
    for &t in &xt {
        svg.line((px(t), M.2), (px(t), M.2 + ph), "#eeeeee");
        svg.text(px(t), M.2 + ph + 18.0, 11, "middle", &fmt_tick(t));
    }
    for &t in &yt {
        svg.line((M.0, py(t)), (M.0 + pw, py(t)), "#eeeeee");
        svg.text(M.0 - 6.0, py(t) + 4.0, 11, "end", &fmt_tick(t));
    }
    svg.line((M.0, M.2 + ph), (M.0 + pw, M.2 + ph), "black");
    svg.line((M.0, M.2), (M.0, M.2 + ph), "black");
    svg.text(M.0 + pw / 2.0, H - 10.0, 12, "middle", x_label);
    svg.text(16.0, M.2 - 12.0, 12, "start", y_label);
    for (k, s) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let pts: Vec<(f64, f64)> = s.points.iter().map(|&(x, y)| (px(x), py(y))).collect();
        svg.polyline(&pts, color);
        // Top left: where rising CDFs leave room.
        let ly = M.2 + 16.0 + 16.0 * k as f64;
        svg.line((M.0 + 10.0, ly - 4.0), (M.0 + 30.0, ly - 4.0), color);
        svg.text(M.0 + 35.0, ly, 12, "start", &s.name);
    }
    svg.finish()
}

/// A horizontal bar chart of `bars` (label, value), largest first.
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)]) -> String {
    let mut svg = Svg::new();
    svg.text(W / 2.0, 24.0, 16, "middle", title);
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max);
    let left = 110.0;
    let (pw, top) = (W - left - 90.0, M.2);
    let row = ((H - top - 20.0) / bars.len().max(1) as f64).min(28.0);
    for (k, (label, v)) in bars.iter().enumerate() {
        let y = top + k as f64 * row;
        let w = if max > 0.0 { v / max * pw } else { 0.0 };
        svg.text(left - 6.0, y + row * 0.65, 11, "end", label);
        svg.rect(left, y + row * 0.15, w, row * 0.7, COLORS[0]);
        svg.text(left + w + 4.0, y + row * 0.65, 11, "start", &format!("{v:.2} {unit}"));
    }
    svg.finish()
}

/// Per quantile of nodes (50, 90, 100 %): the share of items that reached it within x
/// seconds, over all items created (items that never got there keep the curve below 1).
pub fn cdf_series(items: &[Option<Spread>]) -> Vec<Series> {
    let total = items.iter().flatten().count();
    let mut out = Vec::new();
    for (q, share) in QUANTILES.iter().enumerate() {
        if *share == 0.99 {
            continue;
        }
        let mut v: Vec<f64> = items
            .iter()
            .flatten()
            .filter_map(|s| s.marks[q].map(|t| t.0.saturating_sub(s.created.0) as f64 / 1e6))
            .collect();
        v.sort_by(f64::total_cmp);
        let mut points = vec![(0.0, 0.0)];
        // Steps for up to MAX_STEPS items; beyond that, every n-th item, so a file
        // stays small however long the run.
        let every = v.len().div_ceil(MAX_STEPS).max(1);
        let frac = |k: usize| k as f64 / total.max(1) as f64;
        for (k, x) in v.iter().enumerate() {
            if every == 1 {
                points.push((*x, frac(k)));
            }
            if every == 1 || (k + 1) % every == 0 || k + 1 == v.len() {
                points.push((*x, frac(k + 1)));
            }
        }
        out.push(Series {
            name: format!("{:.0} % of nodes", share * 100.0),
            points,
        });
    }
    out
}

/// Wire megabytes by message type, largest first.
pub fn bandwidth_bars(messages: &BTreeMap<String, MsgStats>) -> Vec<(String, f64)> {
    let mut bars: Vec<(String, f64)> = messages
        .iter()
        .map(|(cmd, m)| (cmd.clone(), m.wire_bytes as f64 / 1e6))
        .collect();
    bars.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    bars
}

/// Writes `tx_propagation.svg`, `block_propagation.svg` and `bandwidth.svg` into `dir`.
pub fn write_plots(sim: &Sim, dir: &Path) -> Result<(), SimError> {
    let m = &sim.metrics;
    let name = &sim.scenario().name;
    for (file, what, items) in [
        ("tx_propagation.svg", "transactions", &m.txs),
        ("block_propagation.svg", "blocks", &m.blocks),
    ] {
        let title = format!("{name}: time for {what} to reach a share of nodes");
        let svg = line_chart(
            &title,
            "seconds since creation",
            "fraction of items",
            &cdf_series(items),
            1.0,
        );
        write_file(dir, file, &svg)?;
    }
    let svg = bar_chart(
        &format!("{name}: bytes on the wire by message"),
        "MB",
        &bandwidth_bars(&m.messages),
    );
    write_file(dir, "bandwidth.svg", &svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::import::check_well_formed;
    use weft::p2p::Time;

    #[test]
    fn charts_are_well_formed_xml() {
        let s = Series {
            name: "a <b> & \"c\"".into(),
            points: vec![(0.0, 0.0), (1.5, 0.5), (3.0, 1.0)],
        };
        let svg = line_chart("t & t", "x", "y", &[s.clone(), s], 1.0);
        check_well_formed(&svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains("a &lt;b&gt; &amp; &quot;c&quot;"));
        let bars = bar_chart("bytes", "MB", &[("inv".into(), 3.0), ("tx\u{1}".into(), 1.0)]);
        check_well_formed(&bars).unwrap();
        check_well_formed(&line_chart("empty", "x", "y", &[], 1.0)).unwrap();
        check_well_formed(&bar_chart("empty", "MB", &[])).unwrap();
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(10.0), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(0.9), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(ticks(0.0), vec![0.0, 1.0]);
    }

    #[test]
    fn cdf_counts_unreached_items_in_the_denominator() {
        let spread = |t: Option<u64>| {
            Some(Spread {
                created: Time(0),
                reached: 1,
                marks: [t.map(Time), t.map(Time), t.map(Time), t.map(Time)],
            })
        };
        let items = vec![spread(Some(1_000_000)), spread(Some(2_000_000)), spread(None), None];
        let s = cdf_series(&items);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].points.last(), Some(&(2.0, 2.0 / 3.0)));
        let many: Vec<_> = (0..10_000).map(|k| spread(Some(k * 1_000))).collect();
        let s = cdf_series(&many);
        assert!(s[0].points.len() <= MAX_STEPS + 2, "{}", s[0].points.len());
        assert_eq!(s[0].points.last(), Some(&(9.999, 1.0)));
    }
}
