//! A [`Doc`] as a PDF, laid out by Typst in-process: A4, company and title in every page's
//! header, page numbers, tables that break across pages with their header row repeated, bar
//! charts drawn with Typst shapes, and the fonts embedded (DejaVu Sans for Latin and digits,
//! Droid Sans Fallback for Chinese) so the text is real, selectable text on any machine.
//!
//! The Typst source is generated here; every value from the data enters it as a string
//! literal, never as markup.

use std::fmt::Write;

use typst_as_lib::TypstEngine;

use crate::doc::{Cell, Doc, Section};
use crate::html::shown;

/// Fonts embedded in the binary for PDFs (and served to the web UI).
pub const FONT_LATIN: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
pub const FONT_LATIN_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");
pub const FONT_CJK: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfFailed {
    #[error("laying out the PDF: {0}")]
    Layout(String),
    #[error("writing the PDF: {0}")]
    Write(String),
}

/// Most bars a chart draws (the table below it has every row).
const MAX_BARS: usize = 60;

/// `s` as a Typst string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' | '\t' => out.push(' '),
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The (label, value) bars of a section's chart: the y (or theta) values summed per x (or
/// colour) label, in first-seen order.
fn bars(s: &Section) -> Option<Vec<(String, f64)>> {
    let c = s.chart.as_ref()?;
    let (label, value) = match (&c.x, &c.y, &c.color, &c.theta) {
        (_, _, Some(color), Some(theta)) => (color, theta),
        (Some(x), Some(y), _, _) => {
            // Horizontal bars put the category on y; pick the numeric one as the value.
            let y_num = s
                .table
                .column(&y.field)
                .is_some_and(|i| s.table.columns[i].1.numeric());
            if y_num { (x, y) } else { (y, x) }
        }
        _ => return None,
    };
    let li = s.table.column(&label.field)?;
    let vi = s.table.column(&value.field)?;
    let mut out: Vec<(String, f64)> = Vec::new();
    for row in &s.table.rows {
        let l = row[li].text();
        let v = row[vi].number().unwrap_or(0.0);
        match out.iter_mut().find(|(x, _)| *x == l) {
            Some(e) => e.1 += v,
            None => out.push((l, v)),
        }
    }
    Some(out)
}

fn chart(out: &mut String, s: &Section) {
    let Some(mut data) = bars(s) else { return };
    if data.is_empty() {
        return;
    }
    let max = data.iter().map(|(_, v)| v.abs()).fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return;
    }
    if data.len() > 20 {
        // Many points (a daily series): columns, first and last label under them.
        if data.len() > MAX_BARS {
            let step = data.len().div_ceil(MAX_BARS);
            data = data
                .chunks(step)
                .map(|c| {
                    (
                        c[0].0.clone(),
                        c.iter().map(|(_, v)| v).sum::<f64>() / c.len() as f64,
                    )
                })
                .collect();
        }
        let _ = writeln!(
            out,
            "#block(breakable: false, grid(columns: ({}), column-gutter: 1pt, align: bottom,",
            vec!["1fr"; data.len()].join(", ")
        );
        for (_, v) in &data {
            let h = (v.abs() / max * 3.5).max(0.02);
            let fill = if *v < 0.0 { "accent" } else { "primary" };
            let _ = writeln!(out, "  rect(width: 100%, height: {h:.3}cm, fill: {fill}),");
        }
        let _ = writeln!(out, "))");
        let first = &data[0].0;
        let last = &data[data.len() - 1].0;
        let _ = writeln!(
            out,
            "#grid(columns: (1fr, 1fr), text(size: 7pt, {}), align(right, text(size: 7pt, {})))",
            lit(first),
            lit(last)
        );
    } else {
        let _ = writeln!(
            out,
            "#block(breakable: false, grid(columns: (4.2cm, 1fr, 3.2cm), row-gutter: 3pt, column-gutter: 6pt, align: horizon,"
        );
        for (l, v) in &data {
            let w = (v.abs() / max * 100.0).max(0.3);
            let fill = if *v < 0.0 { "accent" } else { "primary" };
            let value = if v.fract() == 0.0 {
                crate::html::grouped(&format!("{v:.0}"))
            } else {
                crate::html::grouped(&format!("{v:.2}"))
            };
            let _ = writeln!(
                out,
                "  text(size: 8pt, {}), box(width: {w:.2}%, height: 8pt, fill: {fill}), align(right, text(size: 8pt, {})),",
                lit(l),
                lit(&value)
            );
        }
        let _ = writeln!(out, "))");
    }
}

fn table(out: &mut String, s: &Section) {
    let t = &s.table;
    if t.rows.is_empty() {
        let _ = writeln!(
            out,
            "#text(fill: gray, style: \"italic\", {})\n",
            lit("无数据 No data for these filters.")
        );
        return;
    }
    let cols: Vec<&str> = t.columns.iter().map(|_| "auto").collect();
    let aligns: Vec<&str> = t
        .columns
        .iter()
        .map(|(_, k)| if k.numeric() { "right" } else { "left" })
        .collect();
    let _ = writeln!(
        out,
        "#table(columns: ({},), align: ({},), stroke: (x: none, y: 0.4pt + luma(200)), inset: (x: 4pt, y: 3pt),\n  fill: (_, y) => if y == 0 {{ primary }},",
        cols.join(", "),
        aligns.join(", ")
    );
    out.push_str("  table.header(repeat: true,");
    for (name, _) in &t.columns {
        let _ = write!(out, " text(fill: white, weight: \"bold\", {}),", lit(name));
    }
    out.push_str("),\n");
    for row in &t.rows {
        out.push_str("  ");
        for cell in row {
            let text = match cell {
                Cell::Null => String::new(),
                _ => shown(cell),
            };
            out.push_str(&lit(&text));
            out.push_str(", ");
        }
        out.push('\n');
    }
    out.push_str(")\n");
}

/// The Typst source of `doc` (public for tests and for debugging a layout).
pub fn typst_source(doc: &Doc) -> String {
    let b = &doc.branding;
    let (primary, accent) = b.colors();
    let wide = doc.sections.iter().any(|s| s.table.columns.len() > 7);
    let mut o = String::with_capacity(1 << 20);
    let _ = writeln!(o, "#let primary = rgb({})", lit(&primary));
    let _ = writeln!(o, "#let accent = rgb({})", lit(&accent));
    let _ = writeln!(
        o,
        "#set document(title: {}, author: {})",
        lit(&doc.title),
        lit(&b.company)
    );
    let _ = writeln!(
        o,
        "#set page(paper: \"a4\", flipped: {wide}, margin: (x: 14mm, top: 20mm, bottom: 16mm),\n  header: context grid(columns: (1fr, auto), text(size: 8pt, fill: primary, {}), text(size: 8pt, fill: gray, {})),\n  footer: context align(center, text(size: 8pt, fill: gray, counter(page).display(\"1 / 1\", both: true))))",
        lit(&b.company),
        lit(&doc.title)
    );
    let _ = writeln!(
        o,
        "#set text(font: (\"DejaVu Sans\", \"Droid Sans Fallback\"), size: 8.5pt, lang: \"zh\", cjk-latin-spacing: none)"
    );
    if b.logo.is_some() {
        let _ = writeln!(o, "#image(\"logo\", height: 1.2cm)");
    }
    let _ = writeln!(
        o,
        "#text(size: 10pt, fill: primary, weight: \"bold\", {})\\",
        lit(&b.company)
    );
    let _ = writeln!(
        o,
        "#text(size: 18pt, weight: \"bold\", {})\\",
        lit(&doc.title)
    );
    for f in &doc.filters {
        let _ = writeln!(o, "#text(size: 9pt, fill: luma(80), {})\\", lit(f));
    }
    let _ = writeln!(
        o,
        "#text(size: 8pt, fill: gray, {})\n",
        lit(&format!("生成 Generated: {}", doc.generated))
    );
    for s in &doc.sections {
        let _ = writeln!(
            o,
            "#v(8pt)\n#block(below: 6pt, text(size: 12pt, weight: \"bold\", fill: primary, {}))",
            lit(&s.title)
        );
        chart(&mut o, s);
        table(&mut o, s);
    }
    o
}

/// The PDF's bytes.
pub fn to_pdf(doc: &Doc) -> Result<Vec<u8>, PdfFailed> {
    let source = typst_source(doc);
    let logo: Vec<(&str, Vec<u8>)> = doc
        .branding
        .logo
        .iter()
        .map(|l| ("logo", l.clone()))
        .collect();
    let engine = TypstEngine::builder()
        .main_file(source)
        .fonts([FONT_LATIN, FONT_LATIN_BOLD, FONT_CJK])
        .with_static_file_resolver(logo)
        .build();
    let compiled = engine.compile();
    let paged: typst_layout::PagedDocument = compiled
        .output
        .map_err(|e| PdfFailed::Layout(format!("{e:?}")))?;
    typst_pdf::pdf(&paged, &Default::default()).map_err(|e| PdfFailed::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::{Branding, Kind, Table};

    /// A 10,000-row table in Chinese: real text (pdftotext reads the names back), many pages,
    /// and the header row on every one of them.
    #[test]
    fn a_ten_thousand_row_chinese_table_paginates_with_headers_on_every_page() {
        let shops = ["天猫旗舰店", "淘宝企业店", "抖音小店"];
        let products = ["纯棉T恤 白色 L", "羊毛围巾 灰色", "保温杯 500毫升"];
        let rows: Vec<Vec<Cell>> = (0..10_000)
            .map(|i| {
                vec![
                    Cell::Int(i),
                    Cell::Text(shops[i as usize % 3].into()),
                    Cell::Text(products[i as usize % 3].into()),
                    Cell::Decimal(format!("{}.{:02}", 1000 + i, i % 100)),
                ]
            })
            .collect();
        let doc = Doc {
            title: "订单明细 Order lines".into(),
            filters: vec!["期间 Period: 2026-10-01 — 2026-10-31".into()],
            generated: "2026-11-30 12:00".into(),
            branding: Branding {
                company: "杭州示例电商有限公司".into(),
                ..Default::default()
            },
            sections: vec![Section {
                id: "lines".into(),
                title: "订单明细".into(),
                chart: None,
                spec: None,
                table: Table {
                    columns: vec![
                        ("line_no".into(), Kind::Int),
                        ("shop_name".into(), Kind::Text),
                        ("sku_name".into(), Kind::Text),
                        ("amount".into(), Kind::Decimal(2)),
                    ],
                    rows,
                },
            }],
        };
        let pdf = to_pdf(&doc).expect("pdf");
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.pdf");
        std::fs::write(&path, &pdf).expect("write");
        let out = std::process::Command::new("pdftotext")
            .args(["-layout", "-enc", "UTF-8"])
            .arg(&path)
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils; scripts/setup-test-tools.sh installs it)");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let pages: Vec<&str> = text
            .split('\u{c}')
            .filter(|p| !p.trim().is_empty())
            .collect();
        assert!(pages.len() > 100, "{} pages", pages.len());
        for (i, p) in pages.iter().enumerate() {
            assert!(
                p.contains("shop_name") && p.contains("sku_name"),
                "page {} has no header row",
                i + 1
            );
            assert!(
                p.contains("杭州示例电商有限公司"),
                "page {} has no company",
                i + 1
            );
        }
        for name in shops.iter().chain(&["纯棉T恤 白色 L"]) {
            assert!(text.contains(name), "{name} is not in the PDF text");
        }
        // The last row is there, exact: 1000 + 9999 = 10999, fen 99.
        assert!(text.contains("10,999.99"), "last row missing");
    }

    #[test]
    fn data_enters_typst_only_as_string_literals() {
        assert_eq!(lit(r#"a"b\c #x"#), r#""a\"b\\c #x""#);
        assert_eq!(lit("第一行\n"), "\"第一行\\n\"");
    }
}
