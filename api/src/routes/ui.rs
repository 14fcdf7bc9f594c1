//! The web UI: one page, its script and styles, the chart library (vega, vega-lite,
//! vega-embed) and the CJK font, all compiled into the binary — no CDN, works offline.
//!
//! These are the only routes besides `/healthz` and login that answer without credentials:
//! static files with no data. The page asks the API (which authenticates) for everything else.
//! The deployment's branding (company name and colours, not secret) is written into the page so
//! the login screen shows it. `ZHONGTAI_UI_DIR` serves the files from a folder instead (for
//! working on the UI without rebuilding).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use dashboards::html::{Scripts, escape};

use crate::server::state::AppState;

const INDEX: &str = include_str!("../../ui/index.html");
const APP_JS: &str = include_str!("../../ui/app.js");
const APP_CSS: &str = include_str!("../../ui/app.css");
const VEGA: &str = include_str!("../../ui/vendor/vega.min.js");
const VEGA_LITE: &str = include_str!("../../ui/vendor/vega-lite.min.js");
const VEGA_EMBED: &str = include_str!("../../ui/vendor/vega-embed.min.js");

/// The chart library, for self-contained HTML reports.
pub fn scripts() -> Scripts<'static> {
    Scripts {
        vega: VEGA,
        vega_lite: VEGA_LITE,
        vega_embed: VEGA_EMBED,
    }
}

/// `script-src 'unsafe-eval'`: Vega compiles its expressions with `new Function`.
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(name: &str) -> Option<(&'static str, Vec<u8>)> {
    let mime = match name.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("ttf") => "font/ttf",
        _ => "application/octet-stream",
    };
    if let Some(dir) = std::env::var_os("ZHONGTAI_UI_DIR")
        && !name.contains("..")
        && let Ok(bytes) = std::fs::read(std::path::Path::new(&dir).join(name))
    {
        return Some((mime, bytes));
    }
    let bytes: &[u8] = match name {
        "index.html" => INDEX.as_bytes(),
        "app.js" => APP_JS.as_bytes(),
        "app.css" => APP_CSS.as_bytes(),
        "vendor/vega.min.js" => VEGA.as_bytes(),
        "vendor/vega-lite.min.js" => VEGA_LITE.as_bytes(),
        "vendor/vega-embed.min.js" => VEGA_EMBED.as_bytes(),
        "font.ttf" => dashboards::pdf::FONT_CJK,
        _ => return None,
    };
    Some((mime, bytes.to_vec()))
}

fn respond(mime: &'static str, body: Vec<u8>, cache: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// `GET /`: the page, with the branding written in.
pub async fn index(State(st): State<AppState>) -> Response {
    let (_, page) = asset("index.html").unwrap_or(("", INDEX.as_bytes().to_vec()));
    let page = String::from_utf8_lossy(&page).into_owned();
    let b = &st.branding;
    let brand = serde_json::json!({
        "company": b.company, "primary_color": b.primary_color,
        "accent_color": b.accent_color, "logo": b.logo.is_some(),
    })
    .to_string()
    .replace('<', "\\u003c");
    let (primary, accent) = b.colors();
    let inject = format!(
        "<style>:root {{ --primary: {primary}; --accent: {accent}; }}</style>\n<script type=\"application/json\" id=\"zt-branding\">{brand}</script>\n<title>{}</title>\n</head>",
        escape(&b.company)
    );
    let page = match page.find("<title>") {
        // The page's own title gives way to the company's.
        Some(i) => match page[i..].find("</title>") {
            Some(j) => format!("{}{}", &page[..i], &page[i + j + "</title>".len()..]),
            None => page,
        },
        None => page,
    }
    .replacen("</head>", &inject, 1);
    respond("text/html; charset=utf-8", page.into_bytes(), "no-cache")
}

/// `GET /ui/{*path}`: the script, styles, chart library and font.
pub async fn file(Path(path): Path<String>) -> Response {
    match asset(&path) {
        Some((mime, body)) if path != "index.html" => respond(mime, body, "public, max-age=3600"),
        _ => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// `GET /ui/logo`: the configured logo.
pub async fn logo(State(st): State<AppState>) -> Response {
    match &st.branding.logo {
        Some(bytes) => {
            let mime = if bytes.starts_with(b"\x89PNG") {
                "image/png"
            } else {
                "image/jpeg"
            };
            respond(mime, bytes.clone(), "public, max-age=3600")
        }
        None => (StatusCode::NOT_FOUND, "no logo configured").into_response(),
    }
}
