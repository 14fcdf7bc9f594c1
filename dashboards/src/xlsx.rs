//! A [`Doc`] as an Excel workbook: a cover sheet (company, title, filters, contents), then one
//! sheet per section with the header in row 1, frozen, and an autofilter over the rows.
//!
//! Cells are typed: counts are numbers, money is a number with a `#,##0.00` format (the
//! decimal's own places), dates and times are Excel dates with a date format, text is text.

use rust_xlsxwriter::{Color, Format, FormatAlign, Image, Workbook, Worksheet, XlsxError};

use crate::doc::{Cell, Doc, Kind, Table};

/// Errors writing a workbook, naming the section.
#[derive(Debug, thiserror::Error)]
#[error("writing the Excel sheet {sheet}: {source}")]
pub struct XlsxFailed {
    pub sheet: String,
    #[source]
    pub source: XlsxError,
}

/// Most rows a sheet holds (Excel's limit, less the header).
pub const MAX_ROWS: usize = 1_048_575;

fn rgb(hex: &str) -> Color {
    let h = hex.trim_start_matches('#');
    let h = if h.len() == 3 {
        h.chars().flat_map(|c| [c, c]).collect::<String>()
    } else {
        h.to_string()
    };
    Color::RGB(u32::from_str_radix(&h, 16).unwrap_or(0x1f4e79))
}

/// A sheet name Excel accepts (≤ 31 characters, none of `[]:*?/\`), unique in `used`.
fn sheet_name(title: &str, used: &mut Vec<String>) -> String {
    let clean: String = title
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { ' ' } else { c })
        .collect();
    let clean = clean.trim().trim_matches('\'').to_string();
    let base: String = if clean.is_empty() {
        "Sheet".into()
    } else {
        clean.chars().take(31).collect()
    };
    let mut name = base.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        let suffix = format!(" ({n})");
        name = base
            .chars()
            .take(31 - suffix.chars().count())
            .collect::<String>()
            + &suffix;
        n += 1;
    }
    used.push(name.clone());
    name
}

fn decimal_format(places: i8) -> Format {
    let places = places.clamp(0, 10) as usize;
    let f = if places == 0 {
        "#,##0".to_string()
    } else {
        format!("#,##0.{}", "0".repeat(places))
    };
    Format::new().set_num_format(f)
}

fn write_table(ws: &mut Worksheet, t: &Table, header: &Format) -> Result<(), XlsxError> {
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let time = Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let int = Format::new().set_num_format("0");
    let float = Format::new().set_num_format("General");
    let formats: Vec<Format> = t
        .columns
        .iter()
        .map(|(_, k)| match k {
            Kind::Decimal(p) => decimal_format(*p),
            Kind::Int => int.clone(),
            Kind::Float => float.clone(),
            Kind::Date => date.clone(),
            Kind::Timestamp => time.clone(),
            Kind::Text | Kind::Bool => Format::new(),
        })
        .collect();
    let mut widths: Vec<usize> = t
        .columns
        .iter()
        .map(|(n, _)| n.chars().count() + 4)
        .collect();
    for (c, (name, _)) in t.columns.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, name, header)?;
    }
    for (r, row) in t.rows.iter().take(MAX_ROWS).enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in row.iter().enumerate() {
            let col = c as u16;
            let f = &formats[c];
            match cell {
                Cell::Null => {}
                Cell::Text(s) => {
                    widths[c] = widths[c].max(s.chars().count() * 2 + 1).min(60);
                    ws.write_string(r, col, s)?;
                }
                Cell::Int(i) => {
                    ws.write_number_with_format(r, col, *i as f64, f)?;
                }
                Cell::Decimal(_) | Cell::Float(_) => {
                    let n = cell.number().unwrap_or(0.0);
                    widths[c] = widths[c].max(cell.text().len() + 4);
                    ws.write_number_with_format(r, col, n, f)?;
                }
                Cell::Date(d) => {
                    widths[c] = widths[c].max(12);
                    ws.write_datetime_with_format(r, col, d, f)?;
                }
                Cell::Timestamp(t) => {
                    widths[c] = widths[c].max(20);
                    ws.write_datetime_with_format(r, col, t, f)?;
                }
                Cell::Bool(b) => {
                    ws.write_boolean(r, col, *b)?;
                }
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    if !t.columns.is_empty() {
        let last_row = t.rows.len().min(MAX_ROWS) as u32;
        ws.autofilter(0, 0, last_row, (t.columns.len() - 1) as u16)?;
    }
    Ok(())
}

/// The workbook's bytes.
pub fn to_xlsx(doc: &Doc) -> Result<Vec<u8>, XlsxFailed> {
    let fail = |sheet: &str| {
        let sheet = sheet.to_string();
        move |source| XlsxFailed { sheet, source }
    };
    let mut wb = Workbook::new();
    let primary = rgb(&doc.branding.primary_color);
    let header = Format::new()
        .set_bold()
        .set_font_color(Color::White)
        .set_background_color(primary)
        .set_align(FormatAlign::Center);
    let mut used = Vec::new();
    let cover_name = sheet_name("报告 Report", &mut used);
    {
        let ws = wb.add_worksheet();
        ws.set_name(&cover_name).map_err(fail(&cover_name))?;
        let title = Format::new()
            .set_bold()
            .set_font_size(16)
            .set_font_color(primary);
        let mut row = 0u32;
        if let Some(logo) = &doc.branding.logo
            && let Ok(img) = Image::new_from_buffer(logo)
        {
            let img = img.set_scale_to_size(160, 48, true);
            ws.insert_image(0, 0, &img).map_err(fail(&cover_name))?;
            row = 3;
        }
        let write = |ws: &mut Worksheet, r: u32, s: &str, f: Option<&Format>| match f {
            Some(f) => ws.write_string_with_format(r, 0, s, f).map(|_| ()),
            None => ws.write_string(r, 0, s).map(|_| ()),
        };
        write(
            ws,
            row,
            &doc.branding.company,
            Some(&Format::new().set_bold()),
        )
        .map_err(fail(&cover_name))?;
        write(ws, row + 1, &doc.title, Some(&title)).map_err(fail(&cover_name))?;
        row += 2;
        for f in &doc.filters {
            write(ws, row, f, None).map_err(fail(&cover_name))?;
            row += 1;
        }
        write(ws, row, &format!("生成 Generated: {}", doc.generated), None)
            .map_err(fail(&cover_name))?;
        row += 2;
        write(ws, row, "内容 Contents", Some(&Format::new().set_bold()))
            .map_err(fail(&cover_name))?;
        row += 1;
        ws.set_column_width(0, 60).map_err(fail(&cover_name))?;
        let mut names = Vec::new();
        for s in &doc.sections {
            let name = sheet_name(&s.title, &mut used);
            let note = if s.table.rows.len() > MAX_ROWS {
                format!(" — first {MAX_ROWS} of {} rows", s.table.rows.len())
            } else {
                format!(" — {} rows", s.table.rows.len())
            };
            write(ws, row, &format!("{name}{note}"), None).map_err(fail(&cover_name))?;
            row += 1;
            names.push(name);
        }
        for (s, name) in doc.sections.iter().zip(names) {
            let ws = wb.add_worksheet();
            ws.set_name(&name).map_err(fail(&name))?;
            write_table(ws, &s.table, &header).map_err(fail(&name))?;
        }
    }
    wb.save_to_buffer().map_err(fail("(workbook)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut used = Vec::new();
        assert_eq!(
            sheet_name("Sales: by shop / month", &mut used),
            "Sales  by shop   month"
        );
        assert_eq!(
            sheet_name("Sales: by shop / month", &mut used),
            "Sales  by shop   month (2)"
        );
        let long = sheet_name(&"毛".repeat(40), &mut used);
        assert_eq!(long.chars().count(), 31);
        assert_eq!(sheet_name("", &mut used), "Sheet");
    }
}
