//! The report's charts as inline SVG, drawn from aggregated rows: no script, no font file and no
//! network, so the page renders the same in a browser, a mail client's preview and a PDF printer.
//!
//! Four shapes cover every chart of the report: lines over numbers ([`LineChart`]), vertical bars
//! with an optional line on the same axis ([`BarChart`]), horizontal bars ([`HBarChart`]) and a
//! heatmap ([`Heatmap`]). Each draws into a fixed 640-unit-wide view box that the page scales.

use std::fmt::Write as _;

/// The width of every chart's view box; the page scales it to its column.
pub const WIDTH: f64 = 640.0;

/// Colours: a blue for the main series, an orange for the second, a grey for references.
pub const BLUE: &str = "#2f6fb3";
pub const ORANGE: &str = "#e07b29";
pub const GREEN: &str = "#3c9d5d";
pub const RED: &str = "#c8423b";
pub const GREY: &str = "#8a8f98";

/// Text escaped for SVG and HTML (element content and attribute values).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A label cut to `max` characters (with an ellipsis), so long product names keep the layout.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A text's width in view-box units at font `size`, estimated on the wide side (per character, from
/// DejaVu Sans, the widest common fallback font): a label measured to fit does fit.
pub fn text_width(s: &str, size: f64) -> f64 {
    let em: f64 = s
        .chars()
        .map(|c| match c {
            ' ' | 'i' | 'j' | 'l' | 'I' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 0.34,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '-' | '/' => 0.45,
            'm' => 0.98,
            'w' => 0.82,
            'M' | 'W' | '%' | '&' | '@' => 1.0,
            c if c.is_ascii_uppercase() => 0.79,
            c if c.is_ascii_digit() => 0.64,
            c if c.is_ascii_lowercase() => 0.64,
            _ => 1.0,
        })
        .sum();
    em * size
}

/// `s` cut (with an ellipsis) to at most `max` view-box units at font `size`; and whether it was cut.
pub fn fit(s: &str, max: f64, size: f64) -> (String, bool) {
    if text_width(s, size) <= max {
        return (s.to_string(), false);
    }
    let mut t: String = s.chars().collect();
    while !t.is_empty() && text_width(&t, size) + text_width("…", size) > max {
        t.pop();
    }
    let mut t = t.trim_end().to_string();
    t.push('…');
    (t, true)
}

/// A number with thousands separators and `decimals` places: `1,234,567.89`.
pub fn thousands(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s.split_once('.').map_or((s.as_str(), None), |(a, b)| (a, Some(b)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 && out.chars().any(|c| c != '0' && c != '.' && c != ',') {
        out.insert(0, '−');
    }
    out
}

/// A number in short form for axes and cells: `950`, `12.3k`, `4.56M`, `1.2B`.
pub fn short(v: f64) -> String {
    let a = v.abs();
    let (x, unit) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        return if (v - v.round()).abs() < 1e-9 {
            thousands(v, 0)
        } else {
            thousands(v, if a >= 100.0 { 0 } else { 2 })
        };
    };
    let digits = if x.abs() >= 100.0 {
        0
    } else if x.abs() >= 10.0 {
        1
    } else {
        2
    };
    format!("{:.*}{unit}", digits, x).replace('-', "−")
}

/// A share (0..1) as a percentage: `12.3 %`.
pub fn pct(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_string();
    }
    format!("{:.1} %", v * 100.0)
}

/// The smallest round step (1, 2 or 5 × 10^k) at least `raw`.
pub fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

/// Round tick positions covering `0..=max` (or `min..=max`): about `n` steps of 1, 2 or 5 × 10^k.
pub fn ticks(min: f64, max: f64, n: usize) -> Vec<f64> {
    let span = (max - min).max(f64::MIN_POSITIVE);
    let step = nice_step(span / n.max(1) as f64);
    let first = (min / step).floor() * step;
    let mut out = Vec::new();
    let mut t = first;
    while t <= max + step * 1e-9 {
        if t >= min - step * 1e-9 {
            out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        }
        t += step;
    }
    if out.last().is_none_or(|l| *l < max - step * 1e-9) {
        out.push(t);
    }
    out
}

/// One SVG picture being drawn.
pub struct Svg {
    h: f64,
    body: String,
}

impl Svg {
    pub fn new(h: f64) -> Svg {
        Svg { h, body: String::new() }
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, title: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{fill}""#,
            w.max(0.0),
            h.max(0.0)
        );
        match title {
            Some(t) => {
                let _ = write!(self.body, "><title>{}</title></rect>", esc(t));
            }
            None => self.body.push_str("/>"),
        }
    }

    pub fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str, width: f64, dashed: bool) {
        let dash = if dashed { r#" stroke-dasharray="5 4""# } else { "" };
        let _ = write!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width}"{dash}/>"#
        );
    }

    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, dashed: bool) {
        let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let dash = if dashed { r#" stroke-dasharray="5 4""# } else { "" };
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}" stroke-linejoin="round"{dash}/>"#,
            pts.join(" ")
        );
    }

    pub fn circle(&mut self, (x, y): (f64, f64), r: f64, fill: &str, title: Option<&str>) {
        let _ = write!(self.body, r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}" fill="{fill}""#);
        match title {
            Some(t) => {
                let _ = write!(self.body, "><title>{}</title></circle>", esc(t));
            }
            None => self.body.push_str("/>"),
        }
    }

    /// Text at (x, y); `anchor` is start, middle or end; `size` in view-box units.
    pub fn text(&mut self, (x, y): (f64, f64), s: &str, anchor: &str, size: f64, fill: &str) {
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{}</text>"#,
            esc(s)
        );
    }

    /// Text cut to `max` units wide (an ellipsis) with the whole text as its hover title when cut.
    pub fn text_fit(&mut self, (x, y): (f64, f64), s: &str, max: f64, anchor: &str, size: f64, fill: &str) {
        let (shown, cut) = fit(s, max, size);
        let title = if cut { format!("<title>{}</title>", esc(s)) } else { String::new() };
        let _ = write!(
            self.body,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{title}{}</text>"#,
            esc(&shown)
        );
    }

    /// Text turned a quarter left (a y-axis label), centred on (x, y).
    pub fn vtext(&mut self, (x, y): (f64, f64), s: &str, size: f64) {
        let _ = write!(
            self.body,
            r##"<text x="{x:.1}" y="{y:.1}" text-anchor="middle" font-size="{size}" fill="#333" transform="rotate(-90 {x:.1} {y:.1})">{}</text>"##,
            esc(s)
        );
    }

    /// The finished `<svg>`: scales to its container's width, keeps its aspect.
    pub fn finish(self, id: &str, label: &str) -> String {
        format!(
            r#"<svg class="chart" data-chart="{id}" viewBox="0 0 {WIDTH} {h}" width="100%" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif">{body}</svg>"#,
            h = self.h,
            label = esc(label),
            body = self.body
        )
    }
}

/// The plot area inside a chart's margins.
#[derive(Clone, Copy)]
struct Plot {
    left: f64,
    top: f64,
    right: f64,
    bottom: f64,
}

impl Plot {
    fn x(&self, v: f64, (min, max): (f64, f64)) -> f64 {
        self.left + (v - min) / (max - min).max(f64::MIN_POSITIVE) * (self.right - self.left)
    }
    fn y(&self, v: f64, (min, max): (f64, f64)) -> f64 {
        self.bottom - (v - min) / (max - min).max(f64::MIN_POSITIVE) * (self.bottom - self.top)
    }
}

/// A horizontal grid with labelled ticks on the left, and the axis titles.
fn y_grid(svg: &mut Svg, p: Plot, range: (f64, f64), ticks: &[f64], fmt: &dyn Fn(f64) -> String, label: &str) {
    for &t in ticks {
        let y = p.y(t, range);
        svg.line((p.left, y), (p.right, y), "#e3e6ea", 1.0, false);
        svg.text((p.left - 6.0, y + 4.0), &fmt(t), "end", 11.0, "#555");
    }
    svg.line((p.left, p.bottom), (p.right, p.bottom), "#999", 1.0, false);
    svg.vtext((14.0, (p.top + p.bottom) / 2.0), label, 12.0);
}

fn x_title(svg: &mut Svg, p: Plot, label: &str) {
    svg.text(((p.left + p.right) / 2.0, svg.h - 8.0), label, "middle", 12.0, "#333");
}

/// A legend row above the plot: coloured swatches and names.
fn legend(svg: &mut Svg, items: &[(&str, &str, bool)], x0: f64) {
    // Moved left when it would run past the picture's right edge.
    let total: f64 = items.iter().map(|(name, _, _)| 34.0 + text_width(name, 11.0)).sum();
    let mut x = x0.min(WIDTH - 4.0 - total).max(4.0);
    for (name, color, dashed) in items {
        if *dashed {
            svg.line((x, 12.0), (x + 18.0, 12.0), color, 2.0, true);
        } else {
            svg.rect(x, 6.0, 18.0, 12.0, color, None);
        }
        svg.text((x + 24.0, 16.0), name, "start", 11.0, "#333");
        x += 34.0 + text_width(name, 11.0);
    }
}

/// One line of a [`LineChart`].
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: &'static str,
    pub dashed: bool,
    /// A dot on every point, with this hover text per point.
    pub dots: Option<Vec<String>>,
}

/// A point marked with a ring and a label.
pub struct Mark {
    pub at: (f64, f64),
    pub label: String,
    pub color: &'static str,
}

/// Lines over a numeric x axis.
pub struct LineChart {
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    pub x_ticks: Vec<(f64, String)>,
    pub y_fmt: fn(f64) -> String,
    pub series: Vec<Series>,
    pub marks: Vec<Mark>,
    pub height: f64,
}

impl LineChart {
    pub fn svg(&self, id: &str, label: &str) -> String {
        let mut svg = Svg::new(self.height);
        let p = Plot { left: 64.0, top: 30.0, right: WIDTH - 18.0, bottom: self.height - 44.0 };
        let yt = ticks(self.y_range.0, self.y_range.1, 5);
        let y_range = (self.y_range.0, yt.last().copied().unwrap_or(self.y_range.1).max(self.y_range.1));
        y_grid(&mut svg, p, y_range, &yt, &|v| (self.y_fmt)(v), &self.y_label);
        for (x, t) in &self.x_ticks {
            let px = p.x(*x, self.x_range);
            svg.line((px, p.bottom), (px, p.bottom + 4.0), "#999", 1.0, false);
            // Labels at the ends stay inside the picture.
            let half = 3.2 * t.chars().count() as f64;
            let anchor = if px + half > WIDTH - 4.0 {
                "end"
            } else if px - half < 4.0 {
                "start"
            } else {
                "middle"
            };
            svg.text((px, p.bottom + 17.0), t, anchor, 11.0, "#555");
        }
        x_title(&mut svg, p, &self.x_label);
        for s in &self.series {
            // A point without a number (a null in the table) is left out of the line.
            let titles: Vec<Option<&String>> = match &s.dots {
                Some(t) => t.iter().map(Some).collect(),
                None => vec![None; s.points.len()],
            };
            let (pts, titles): (Vec<(f64, f64)>, Vec<Option<&String>>) = s
                .points
                .iter()
                .zip(titles)
                .filter(|((x, y), _)| x.is_finite() && y.is_finite())
                .map(|((x, y), t)| ((p.x(*x, self.x_range), p.y(*y, y_range)), t))
                .unzip();
            svg.polyline(&pts, s.color, if s.dashed { 1.5 } else { 2.5 }, s.dashed);
            for (pt, t) in pts.iter().zip(titles) {
                if let Some(t) = t {
                    svg.circle(*pt, 3.5, s.color, Some(t));
                }
            }
        }
        for m in &self.marks {
            let at = (p.x(m.at.0, self.x_range), p.y(m.at.1, y_range));
            svg.line((at.0, p.bottom), at, m.color, 1.0, true);
            svg.line((p.left, at.1), at, m.color, 1.0, true);
            svg.circle(at, 5.0, m.color, Some(&m.label));
            // Above and to the left of the point, clear of a curve rising through it.
            svg.text((at.0 - 9.0, at.1 - 8.0), &m.label, "end", 11.5, m.color);
        }
        let items: Vec<(&str, &str, bool)> = self.series.iter().map(|s| (s.name.as_str(), s.color, s.dashed)).collect();
        legend(&mut svg, &items, p.left);
        svg.finish(id, label)
    }
}

/// One series of bars.
pub struct Bars {
    pub name: String,
    pub values: Vec<f64>,
    pub color: &'static str,
    pub titles: Vec<String>,
}

impl Bars {
    /// The i-th bar: the length drawn (negative and missing values draw none) and the value itself
    /// (None when missing), which its label shows.
    fn at(&self, i: usize) -> (f64, Option<f64>) {
        let raw = self.values.get(i).copied().filter(|v| v.is_finite());
        (raw.unwrap_or(0.0).max(0.0), raw)
    }
}

/// A bar's label: its value, or a dash when it has none.
fn value_label(raw: Option<f64>, fmt: fn(f64) -> String) -> String {
    raw.map_or_else(|| "–".to_string(), fmt)
}

/// Vertical bars per category (side by side when several series), with an optional line on the
/// same axis (e.g. a cumulative share over per-decile shares).
pub struct BarChart {
    pub categories: Vec<String>,
    pub bars: Vec<Bars>,
    pub line: Option<Bars>,
    pub x_label: String,
    pub y_label: String,
    pub y_fmt: fn(f64) -> String,
    /// Value printed above each bar of the first series.
    pub value_labels: bool,
    pub height: f64,
}

impl BarChart {
    pub fn svg(&self, id: &str, label: &str) -> String {
        let mut svg = Svg::new(self.height);
        let p = Plot { left: 64.0, top: 30.0, right: WIDTH - 18.0, bottom: self.height - 44.0 };
        let max = self
            .bars
            .iter()
            .chain(self.line.iter())
            .flat_map(|b| b.values.iter().copied())
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let yt = ticks(0.0, if max > 0.0 { max } else { 1.0 }, 5);
        let range = (0.0, *yt.last().unwrap_or(&1.0));
        y_grid(&mut svg, p, range, &yt, &|v| (self.y_fmt)(v), &self.y_label);
        let n = self.categories.len().max(1) as f64;
        let slot = (p.right - p.left) / n;
        let group = slot * 0.78;
        let bw = group / self.bars.len().max(1) as f64;
        for (i, cat) in self.categories.iter().enumerate() {
            let x0 = p.left + slot * i as f64 + (slot - group) / 2.0;
            for (j, b) in self.bars.iter().enumerate() {
                // Negative values (returns above purchases) draw no bar but keep their number.
                let (v, raw) = b.at(i);
                let y = p.y(v, range);
                svg.rect(x0 + bw * j as f64, y, bw - 1.0, p.bottom - y, b.color, b.titles.get(i).map(String::as_str));
                if self.value_labels && j == 0 && self.bars.len() == 1 {
                    svg.text((x0 + bw / 2.0, y - 4.0), &value_label(raw, self.y_fmt), "middle", 10.0, "#333");
                }
            }
            let step = (self.categories.len() as f64 / 12.0).ceil().max(1.0) as usize;
            if i % step == 0 {
                svg.text((p.left + slot * (i as f64 + 0.5), p.bottom + 17.0), &clip(cat, 14), "middle", 11.0, "#555");
            }
        }
        x_title(&mut svg, p, &self.x_label);
        if let Some(l) = &self.line {
            let pts: Vec<(f64, f64)> = l
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(i, v)| (p.left + slot * (i as f64 + 0.5), p.y(*v, range)))
                .collect();
            svg.polyline(&pts, l.color, 2.5, false);
            for (pt, t) in pts.iter().zip(&l.titles) {
                svg.circle(*pt, 3.5, l.color, Some(t));
            }
        }
        let mut items: Vec<(&str, &str, bool)> = self.bars.iter().map(|b| (b.name.as_str(), b.color, false)).collect();
        if let Some(l) = &self.line {
            items.push((l.name.as_str(), l.color, false));
        }
        legend(&mut svg, &items, p.left);
        svg.finish(id, label)
    }
}

/// Horizontal bars, one row per label (several series side by side), values written at the end.
pub struct HBarChart {
    pub labels: Vec<String>,
    /// A second label line per row (e.g. a pair's partner); empty for one line.
    pub sublabels: Vec<String>,
    pub bars: Vec<Bars>,
    pub x_label: String,
    pub x_fmt: fn(f64) -> String,
    /// Text after each row's bars (e.g. the support of a pair).
    pub notes: Vec<String>,
    /// The most width kept for the labels: the margin is the longest label's width up to this; a
    /// longer label is cut with an ellipsis and keeps its whole text as a hover title.
    pub label_width: f64,
}

/// The labels' font size of [`HBarChart`].
const HBAR_LABEL: f64 = 11.5;

impl HBarChart {
    fn row(&self) -> f64 {
        let bars = 10.0 + 13.0 * self.bars.len() as f64;
        if self.sublabels.is_empty() {
            bars
        } else {
            bars.max(32.0)
        }
    }

    pub fn height(&self) -> f64 {
        30.0 + self.row() * self.labels.len().max(1) as f64 + 46.0
    }

    /// The left margin's label width: the longest label's, within [`HBarChart::label_width`].
    pub fn label_room(&self) -> f64 {
        let longest =
            self.labels.iter().chain(&self.sublabels).map(|l| text_width(l, HBAR_LABEL)).fold(0.0f64, f64::max);
        longest.min(self.label_width).max(24.0)
    }

    pub fn svg(&self, id: &str, label: &str) -> String {
        let h = self.height();
        let mut svg = Svg::new(h);
        let notes_w = self.notes.iter().map(|n| text_width(n, 10.5)).fold(0.0f64, f64::max).min(140.0);
        let notes_w = if notes_w > 0.0 { notes_w + 14.0 } else { 0.0 };
        let room = self.label_room();
        let p = Plot { left: room + 16.0, top: 30.0, right: WIDTH - 44.0 - notes_w, bottom: h - 46.0 };
        let max =
            self.bars.iter().flat_map(|b| b.values.iter().copied()).filter(|v| v.is_finite()).fold(0.0f64, f64::max);
        let xt = ticks(0.0, if max > 0.0 { max } else { 1.0 }, 4);
        let range = (0.0, *xt.last().unwrap_or(&1.0));
        for &t in &xt {
            let x = p.x(t, range);
            svg.line((x, p.top), (x, p.bottom), "#e3e6ea", 1.0, false);
            svg.text((x, p.bottom + 16.0), &(self.x_fmt)(t), "middle", 11.0, "#555");
        }
        svg.line((p.left, p.top), (p.left, p.bottom), "#999", 1.0, false);
        let row = (p.bottom - p.top) / self.labels.len().max(1) as f64;
        let bh = (row - 8.0) / self.bars.len().max(1) as f64;
        for (i, l) in self.labels.iter().enumerate() {
            let y0 = p.top + row * i as f64 + 4.0;
            match self.sublabels.get(i) {
                Some(sub) => {
                    svg.text_fit((p.left - 8.0, y0 + row / 2.0 - 3.0), l, room, "end", HBAR_LABEL, "#222");
                    svg.text_fit((p.left - 8.0, y0 + row / 2.0 + 10.0), sub, room, "end", HBAR_LABEL, "#222");
                }
                None => svg.text_fit((p.left - 8.0, y0 + row / 2.0), l, room, "end", HBAR_LABEL, "#222"),
            }
            for (j, b) in self.bars.iter().enumerate() {
                let (v, raw) = b.at(i);
                let x = p.x(v, range);
                let y = y0 + bh * j as f64;
                svg.rect(p.left, y, x - p.left, bh - 1.0, b.color, b.titles.get(i).map(String::as_str));
                svg.text((x + 4.0, y + bh - 3.0), &value_label(raw, self.x_fmt), "start", 10.0, "#333");
            }
            if let Some(n) = self.notes.get(i) {
                svg.text_fit((WIDTH - 8.0, y0 + row / 2.0), n, notes_w.max(1.0), "end", 10.5, "#555");
            }
        }
        svg.text(((p.left + p.right) / 2.0, h - 8.0), &self.x_label, "middle", 12.0, "#333");
        if self.bars.len() > 1 {
            let items: Vec<(&str, &str, bool)> = self.bars.iter().map(|b| (b.name.as_str(), b.color, false)).collect();
            legend(&mut svg, &items, p.left);
        }
        svg.finish(id, label)
    }
}

/// A grid of cells coloured by value (darker is more), with a text in each cell.
pub struct Heatmap {
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// values[row][col]; None is an empty cell.
    pub values: Vec<Vec<Option<f64>>>,
    pub texts: Vec<Vec<String>>,
    pub titles: Vec<Vec<String>>,
    /// partial[row][col]: a cell of a period not over yet, hatched and left out of the colour scale
    /// (empty: none).
    pub partial: Vec<Vec<bool>>,
    /// Said beside the hatched swatch under the grid when a cell is partial.
    pub partial_note: Option<String>,
    pub x_label: String,
    pub y_label: String,
    pub row_label_width: f64,
    pub legend: String,
    /// The colour scale's ends, in the unit the cells are printed in.
    pub scale_fmt: fn(f64) -> String,
}

/// Column labels of a [`Heatmap`]: font size, the turn of labels too wide for their cells, and the
/// most width a turned label takes (longer ones are cut, whole in their hover title).
const COL_FONT: f64 = 10.5;
const TURN_DEG: f64 = 40.0;
const TURNED_MAX: f64 = 150.0;

impl Heatmap {
    pub fn height(&self) -> f64 {
        let cell = self.cell_height();
        let note = if self.has_partial() { 18.0 } else { 0.0 };
        self.top() + cell * self.rows.len().max(1) as f64 + 52.0 + note
    }

    fn has_partial(&self) -> bool {
        self.partial.iter().flatten().any(|p| *p) && self.partial_note.is_some()
    }

    fn is_partial(&self, i: usize, j: usize) -> bool {
        self.partial.get(i).and_then(|r| r.get(j)).copied().unwrap_or(false)
    }

    fn left(&self) -> f64 {
        24.0 + self.row_label_width
    }

    /// The grid's right edge: turned column labels rise to the right, so the grid ends early
    /// enough for the last ones to stay inside the picture.
    fn right(&self) -> f64 {
        let full = WIDTH - 12.0;
        if !self.rotated() {
            return full;
        }
        let (left, n) = (self.left(), self.cols.len().max(1) as f64);
        let cos = TURN_DEG.to_radians().cos();
        let mut right = full;
        for (j, c) in self.cols.iter().enumerate() {
            let reach = text_width(c, COL_FONT).min(TURNED_MAX) * cos + COL_FONT * 0.7;
            // The label starts 3 units left of its cell's centre: left + (R - left)(j + 0.5)/n - 3.
            let limit = left + n * (WIDTH - 4.0 - reach + 3.0 - left) / (j as f64 + 0.5);
            right = right.min(limit);
        }
        right.max(left + 12.0 * n).min(full)
    }

    fn col_width(&self) -> f64 {
        (WIDTH - 12.0 - self.left()) / self.cols.len().max(1) as f64
    }

    /// Column labels too wide for their cells are turned 40° (they then need room above the grid).
    fn rotated(&self) -> bool {
        self.cols.iter().any(|c| text_width(c, COL_FONT) > self.col_width() - 4.0)
    }

    fn top(&self) -> f64 {
        if self.rotated() {
            let longest = self.cols.iter().map(|c| text_width(c, COL_FONT).min(TURNED_MAX)).fold(0.0f64, f64::max);
            40.0 + longest * TURN_DEG.to_radians().sin() + COL_FONT
        } else {
            40.0
        }
    }

    fn cell_height(&self) -> f64 {
        match self.rows.len() {
            0..=6 => 48.0,
            7..=16 => 34.0,
            _ => 18.0,
        }
    }

    pub fn svg(&self, id: &str, label: &str) -> String {
        let h = self.height();
        let mut svg = Svg::new(h);
        let left = self.left();
        let note_h = if self.has_partial() { 18.0 } else { 0.0 };
        let p = Plot { left, top: self.top(), right: self.right(), bottom: h - 52.0 - note_h };
        let rotated = self.rotated();
        let hatch = format!("{id}-partial");
        if self.has_partial() {
            let _ = write!(
                svg.body,
                r##"<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f5f7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b9c0ca" stroke-width="2.5"/></pattern></defs>"##
            );
        }
        // The colour scale: complete cells only (a partial period's low share is no drop).
        let max = self
            .values
            .iter()
            .enumerate()
            .flat_map(|(i, row)| row.iter().enumerate().map(move |(j, v)| (i, j, *v)))
            .filter(|(i, j, _)| !self.is_partial(*i, *j))
            .filter_map(|(_, _, v)| v)
            .filter(|v| v.is_finite())
            .fold(0.0f64, f64::max);
        let cw = (p.right - p.left) / self.cols.len().max(1) as f64;
        let ch = self.cell_height();
        let font = if ch < 20.0 || cw < 34.0 { 8.5 } else { 10.5 };
        let every = (self.cols.len() as f64 / 16.0).ceil().max(1.0) as usize;
        for (j, c) in self.cols.iter().enumerate() {
            if rotated {
                let (x, y) = (p.left + cw * (j as f64 + 0.5) - 3.0, p.top - 6.0);
                let (shown, cut) = fit(c, TURNED_MAX, COL_FONT);
                let title = if cut { format!("<title>{}</title>", esc(c)) } else { String::new() };
                let _ = write!(
                    svg.body,
                    r##"<text x="{x:.1}" y="{y:.1}" text-anchor="start" font-size="{COL_FONT}" fill="#555" transform="rotate(-{TURN_DEG} {x:.1} {y:.1})">{title}{}</text>"##,
                    esc(&shown)
                );
            } else if j % every == 0 {
                let x = p.left + cw * (j as f64 + 0.5);
                svg.text_fit((x, p.top - 6.0), c, cw * every as f64 - 2.0, "middle", COL_FONT, "#555");
            }
        }
        for (i, r) in self.rows.iter().enumerate() {
            let y = p.top + ch * i as f64;
            svg.text_fit((p.left - 6.0, y + ch / 2.0 + 4.0), r, self.row_label_width, "end", 10.5, "#333");
            for j in 0..self.cols.len() {
                let x = p.left + cw * j as f64;
                let v = self.values.get(i).and_then(|row| row.get(j)).copied().flatten().filter(|v| v.is_finite());
                let title = self.titles.get(i).and_then(|row| row.get(j)).map(String::as_str);
                let text = self.texts.get(i).and_then(|row| row.get(j)).filter(|_| cw >= 22.0);
                match v {
                    Some(_) if self.has_partial() && self.is_partial(i, j) => {
                        svg.rect(x + 0.5, y + 0.5, cw - 1.0, ch - 1.0, &format!("url(#{hatch})"), title);
                        if let Some(text) = text {
                            svg.text((x + cw / 2.0, y + ch / 2.0 + font / 2.5), text, "middle", font, "#555");
                        }
                    }
                    Some(v) => {
                        let t = if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 };
                        svg.rect(x + 0.5, y + 0.5, cw - 1.0, ch - 1.0, &shade(t), title);
                        if let Some(text) = text {
                            let fill = if t > 0.55 { "#fff" } else { "#222" };
                            svg.text((x + cw / 2.0, y + ch / 2.0 + font / 2.5), text, "middle", font, fill);
                        }
                    }
                    None => svg.rect(x + 0.5, y + 0.5, cw - 1.0, ch - 1.0, "#f7f7f7", title),
                }
            }
        }
        svg.text(((p.left + p.right) / 2.0, 16.0), &self.x_label, "middle", 12.0, "#333");
        svg.vtext((12.0, (p.top + p.bottom) / 2.0), &self.y_label, 12.0);
        // The colour scale under the grid, in the cells' unit; then the hatched swatch.
        let lx = p.left.clamp(24.0, WIDTH - 420.0);
        let ly = p.bottom + 14.0;
        for k in 0..10 {
            svg.rect(lx + 16.0 * k as f64, ly, 16.0, 10.0, &shade(k as f64 / 9.0), None);
        }
        let scale = format!("{} ({} to {})", self.legend, (self.scale_fmt)(0.0), (self.scale_fmt)(max));
        svg.text_fit((lx + 168.0, ly + 9.0), &scale, WIDTH - 4.0 - lx - 168.0, "start", 11.0, "#555");
        if let (true, Some(note)) = (self.has_partial(), &self.partial_note) {
            svg.rect(lx, ly + 18.0, 32.0, 10.0, &format!("url(#{hatch})"), None);
            svg.text_fit((lx + 40.0, ly + 27.0), note, WIDTH - 4.0 - lx - 40.0, "start", 11.0, "#555");
        }
        svg.finish(id, label)
    }
}

/// The heatmap colour for t in 0..1: from a pale blue-grey to a deep blue.
pub fn shade(t: f64) -> String {
    let t = if t.is_finite() { t } else { 0.0 };
    let (a, b) = ((239.0, 243.0, 248.0), (23.0, 70.0, 140.0));
    let mix = |x: f64, y: f64| (x + (y - x) * t.clamp(0.0, 1.0)).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}
