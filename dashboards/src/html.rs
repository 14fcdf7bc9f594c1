//! A [`Doc`] as one self-contained HTML file: styles, the logo, the chart library and the
//! Vega-Lite specs are all inside, so it opens offline and prints (A4, table headers repeated
//! on every printed page, charts never split).

use base64::Engine;

use crate::doc::{Cell, Doc};

/// The chart library, inlined into the file (the caller owns the vendored builds).
#[derive(Debug, Clone, Copy)]
pub struct Scripts<'a> {
    pub vega: &'a str,
    pub vega_lite: &'a str,
    pub vega_embed: &'a str,
}

/// `s` with HTML's special characters escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A decimal's text with thousands separators: `-1234567.80` → `-1,234,567.80`.
pub fn grouped(text: &str) -> String {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", text),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if !int.chars().all(|c| c.is_ascii_digit()) {
        return text.to_string();
    }
    let mut g = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            g.push(',');
        }
        g.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{g}.{f}"),
        None => format!("{sign}{g}"),
    }
}

/// A cell as shown in HTML and PDF (money and counts grouped).
pub fn shown(cell: &Cell) -> String {
    match cell {
        Cell::Int(_) | Cell::Decimal(_) => grouped(&cell.text()),
        _ => cell.text(),
    }
}

fn script(js: &str) -> String {
    format!(
        "<script>{}</script>\n",
        js.replace("</script", "<\\/script")
    )
}

const STYLE: &str = r#"
:root { --primary: PRIMARY; --accent: ACCENT; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "Droid Sans Fallback", sans-serif; margin: 24px; color: #222; }
header { border-bottom: 3px solid var(--primary); padding-bottom: 8px; margin-bottom: 16px; display: flex; gap: 16px; align-items: center; }
header img { max-height: 48px; }
.company { color: var(--primary); font-weight: bold; }
h1 { margin: 4px 0; font-size: 22px; }
h2 { color: var(--primary); font-size: 17px; border-left: 4px solid var(--accent); padding-left: 8px; }
.filters { color: #555; font-size: 13px; }
.chart { width: 100%; min-height: 40px; }
table { border-collapse: collapse; font-size: 12px; margin: 8px 0 24px; }
th { background: var(--primary); color: #fff; padding: 4px 8px; text-align: left; }
td { border-bottom: 1px solid #ddd; padding: 3px 8px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #777; font-style: italic; }
footer { color: #777; font-size: 11px; margin-top: 24px; border-top: 1px solid #ddd; padding-top: 6px; }
@page { size: A4; margin: 14mm; }
@media print {
  body { margin: 0; }
  thead { display: table-header-group; }
  tr, .chart { break-inside: avoid; }
  section { break-before: auto; }
}
"#;

/// The HTML file.
pub fn to_html(doc: &Doc, scripts: Scripts<'_>) -> String {
    let b = &doc.branding;
    let (primary, accent) = b.colors();
    let style = STYLE
        .replace("PRIMARY", &primary)
        .replace("ACCENT", &accent);
    let mut h = String::with_capacity(4 << 20);
    h.push_str("<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<title>{} — {}</title>\n<style>{style}</style>\n",
        escape(&doc.title),
        escape(&b.company)
    ));
    h.push_str(&script(scripts.vega));
    h.push_str(&script(scripts.vega_lite));
    h.push_str(&script(scripts.vega_embed));
    h.push_str("</head><body>\n<header>");
    if let Some(logo) = &b.logo {
        let mime = if logo.starts_with(b"\x89PNG") {
            "image/png"
        } else {
            "image/jpeg"
        };
        h.push_str(&format!(
            "<img alt=\"logo\" src=\"data:{mime};base64,{}\">",
            base64::engine::general_purpose::STANDARD.encode(logo)
        ));
    }
    h.push_str(&format!(
        "<div><div class=\"company\">{}</div><h1>{}</h1><div class=\"filters\">{}</div></div></header>\n",
        escape(&b.company),
        escape(&doc.title),
        doc.filters
            .iter()
            .map(|f| escape(f))
            .collect::<Vec<_>>()
            .join(" · ")
    ));
    let mut specs = Vec::new();
    for (i, s) in doc.sections.iter().enumerate() {
        h.push_str(&format!(
            "<section id=\"s-{}\"><h2>{}</h2>\n",
            escape(&s.id),
            escape(&s.title)
        ));
        if let Some(spec) = &s.spec
            && !s.table.rows.is_empty()
        {
            h.push_str(&format!("<div class=\"chart\" id=\"chart-{i}\"></div>\n"));
            specs.push(serde_json::json!([format!("chart-{i}"), spec]));
        }
        let t = &s.table;
        if t.rows.is_empty() {
            h.push_str("<p class=\"empty\">无数据 No data for these filters.</p>\n");
        } else {
            h.push_str("<table><thead><tr>");
            for (name, _) in &t.columns {
                h.push_str(&format!("<th>{}</th>", escape(name)));
            }
            h.push_str("</tr></thead><tbody>\n");
            for row in &t.rows {
                h.push_str("<tr>");
                for (cell, (_, kind)) in row.iter().zip(&t.columns) {
                    if kind.numeric() {
                        h.push_str(&format!("<td class=\"num\">{}</td>", escape(&shown(cell))));
                    } else {
                        h.push_str(&format!("<td>{}</td>", escape(&shown(cell))));
                    }
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</section>\n");
    }
    h.push_str(&format!(
        "<footer>{} · {} · 生成 Generated {}</footer>\n",
        escape(&b.company),
        escape(&doc.title),
        escape(&doc.generated)
    ));
    let specs = serde_json::Value::Array(specs)
        .to_string()
        .replace("</", "<\\/");
    h.push_str(&format!(
        "<script type=\"application/json\" id=\"zt-specs\">{specs}</script>\n"
    ));
    h.push_str(&script(
        "for (const [id, spec] of JSON.parse(document.getElementById('zt-specs').textContent)) { vegaEmbed('#' + id, spec, {actions: false, renderer: 'svg'}).catch(e => { document.getElementById(id).textContent = String(e); }); }",
    ));
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_without_changing_a_digit() {
        assert_eq!(grouped("-1234567.80"), "-1,234,567.80");
        assert_eq!(grouped("999.5"), "999.5");
        assert_eq!(grouped("1000"), "1,000");
        assert_eq!(grouped("abc"), "abc");
        assert_eq!(escape("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
