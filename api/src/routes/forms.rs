//! Entry-form endpoints: list and describe forms, submit, correct, read a record's versions,
//! and upload a brand's logo.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sqlx::Row as _;

use crate::auth::roles::{Perm, allows};
use crate::auth::{Principal, require};
use crate::server::error::ApiError;
use crate::server::state::AppState;
use crate::store::journal::{Outcome, Submission};
use pipelines::forms::build::{BuildError, Ctx, build};
use pipelines::forms::lookup::Lookup;
use pipelines::forms::schema::form_schema;
use pipelines::forms::validate::validate;
use pipelines::forms::{FieldError, FormDef, Group, defs::FORMS, find};

/// Bodies above this are refused (413) before parsing.
pub const MAX_FORM_BODY: usize = 256 * 1024;
/// Largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;

fn form(name: &str) -> Result<&'static FormDef, ApiError> {
    find(name).ok_or_else(|| {
        ApiError::NotFound(format!("no form {name:?}; GET /api/v1/forms lists them"))
    })
}

fn can_write(p: &Principal, f: &FormDef) -> Result<(), ApiError> {
    require(p, Perm::FormsWrite(f.group))?;
    if f.name == "salaries" {
        require(p, Perm::Payroll)?;
    }
    Ok(())
}

fn can_read(p: &Principal, f: &FormDef) -> Result<(), ApiError> {
    if !(allows(p.role, Perm::FormsRead) || allows(p.role, Perm::FormsWrite(f.group))) {
        require(p, Perm::FormsRead)?;
    }
    if f.name == "salaries" {
        require(p, Perm::Payroll)?;
    }
    Ok(())
}

/// `GET /api/v1/forms`: every form with its JSON schema.
pub async fn list(Extension(p): Extension<Principal>) -> Result<Json<Value>, ApiError> {
    let forms: Vec<Value> = FORMS
        .iter()
        .filter(|f| can_read(&p, f).is_ok())
        .map(describe)
        .collect();
    if forms.is_empty() {
        require(&p, Perm::FormsRead)?;
    }
    Ok(Json(json!({ "forms": forms })))
}

fn describe(f: &FormDef) -> Value {
    json!({
        "name": f.name, "title": f.title, "title_zh": f.title_zh, "doc": f.doc,
        "group": f.group, "key": f.key, "tables": f.tables, "schema": form_schema(f),
        "submit": format!("POST /api/v1/forms/{}", f.name),
        "correct": format!("PUT /api/v1/forms/{}/{{{}}}", f.name, f.key),
    })
}

/// `GET /api/v1/forms/{form}`: one form's schema.
pub async fn get_form(
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let f = form(&name)?;
    can_read(&p, f)?;
    Ok(Json(describe(f)))
}

/// Reads a JSON body strictly: content type, size, syntax.
pub fn json_body(headers: &HeaderMap, body: &Bytes, max: usize) -> Result<Value, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "application/json" {
        return Err(ApiError::UnsupportedMedia(format!(
            "send Content-Type: application/json (got {:?})",
            if ct.is_empty() { "nothing" } else { ct }
        )));
    }
    if body.len() > max {
        return Err(ApiError::TooLarge(format!(
            "the body is {} bytes; at most {max} accepted",
            body.len()
        )));
    }
    serde_json::from_slice::<NoDuplicates>(body)
        .map(|d| d.0)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))
}

/// JSON read as a `Value`, refusing an object that names a key twice (which value wins
/// differs between parsers, so a proxy and this server could read different requests).
struct NoDuplicates(Value);

impl<'de> serde::Deserialize<'de> for NoDuplicates {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(NoDuplicates)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(NoDuplicates(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if out.contains_key(&k) {
                return Err(serde::de::Error::custom(format!(
                    "the key {k:?} appears twice"
                )));
            }
            let NoDuplicates(v) = map.next_value()?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Reads a JSON body (as [`json_body`]) into `T`; a shape error is a 422 on `(body)`.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
    max: usize,
) -> Result<T, ApiError> {
    let v = json_body(headers, body, max)?;
    serde_json::from_value(v).map_err(|e| ApiError::invalid("(body)", e.to_string()))
}

fn idempotency(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &Bytes,
) -> Result<Option<(String, String)>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let k = v
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 200 && k.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters".into())
        })?;
    let mut material = format!("{method} {path}\n").into_bytes();
    material.extend_from_slice(body);
    let hash = crate::store::hash_secret(&String::from_utf8_lossy(&material));
    Ok(Some((k.to_string(), hash)))
}

/// `POST /api/v1/forms/{form}`: submit a new record.
pub async fn create(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/forms/{name}");
    submit(st, p, &name, None, method, headers, body, path).await
}

/// `PUT /api/v1/forms/{form}/{id}`: a correction, stored as a new version.
pub async fn correct(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/api/v1/forms/{name}/{id}");
    submit(st, p, &name, Some(id), method, headers, body, path).await
}

#[allow(clippy::too_many_arguments)]
async fn submit(
    st: AppState,
    p: Principal,
    name: &str,
    id: Option<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
    path: String,
) -> Result<Response, ApiError> {
    let f = form(name)?;
    can_write(&p, f)?;
    let value = json_body(&headers, &body, MAX_FORM_BODY)?;
    let idem = idempotency(&headers, &method, &path, &body)?;
    let mut rec = validate(f, &value, id.as_deref(), &st.refs).map_err(ApiError::Invalid)?;
    check_scope_of_input(&p, f, &rec, &st)?;
    if let Some(id) = &id {
        // A correction must stay in the caller's shops, before and after.
        if let Some(shop) = recorded_shop(&st, f.name, id).await?
            && !p.sees_shop(&shop)
        {
            return Err(ApiError::NotFound(format!("no {} record {id:?}", f.name)));
        }
    }
    // A serial form reads lake + pending rows and derives its rows from them: no flush may
    // move rows between the two meanwhile, and no other serial submission may read the same
    // state before this one is journaled.
    let _serial = if f.serial {
        Some(st.flush.hold().await)
    } else {
        None
    };
    let ctx = Ctx {
        lookup: Lookup {
            wh: &st.wh,
            pending: &st.pending,
            shops: p.shops.as_deref(),
        },
        refs: &st.refs,
        correcting: id.is_some(),
    };
    let built = match build(f, &mut rec, ctx).await {
        Ok(b) => b,
        Err(BuildError::Invalid(e)) => return Err(ApiError::Invalid(e)),
        Err(BuildError::Lake(e)) => {
            return Err(ApiError::internal("reading the lake for a form", e));
        }
    };
    if let Some(shop) = &built.shop_id {
        if !p.sees_shop(shop) {
            return Err(ApiError::Invalid(vec![FieldError::new(
                "shop_id",
                format!("shop {shop:?} is outside this caller's shops"),
            )]));
        }
    } else if p.shops.is_some() && !f.company_wide {
        return Err(ApiError::Forbidden(format!(
            "a shop-scoped caller cannot write company-wide {} records",
            f.name
        )));
    }
    if !f.corrects && id.is_none() {
        // A key another writer holds would be kept out of the lake at the flush: say so now.
        match pipelines::forms::taken::check(&st.refs.taken, &st.wh, &value, &built).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ApiError::Invalid(e)),
            Err(e) => return Err(ApiError::internal("reading the keys other writers hold", e)),
        }
    }
    let sub = Submission {
        form: f.name,
        correcting: id.is_some(),
        record: Value::Object(rec),
        built,
        actor: p.id.clone(),
        idem,
    };
    let out = st
        .journal
        .submit(sub)
        .await
        .map_err(|e| ApiError::internal("journaling a form", e))?;
    match out {
        Outcome::Accepted { status, body } | Outcome::Replayed { status, body } => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok((code, Json(body)).into_response())
        }
        Outcome::KeyReused => Err(ApiError::Conflict(
            "this Idempotency-Key was already used with a different request".into(),
        )),
        Outcome::Exists { version } => Err(ApiError::Conflict(format!(
            "{} record already exists at version {version}; correct it with PUT {path}/{{id}}",
            f.name
        ))),
        Outcome::NotFound => Err(ApiError::NotFound(format!(
            "no {} record {:?} was entered through this form",
            f.name,
            id.unwrap_or_default()
        ))),
    }
}

fn check_scope_of_input(
    p: &Principal,
    f: &FormDef,
    rec: &serde_json::Map<String, Value>,
    st: &AppState,
) -> Result<(), ApiError> {
    if let Some(shop) = rec.get("shop_id").and_then(Value::as_str)
        && !p.sees_shop(shop)
    {
        // Same answer as a missing shop: a scoped caller learns nothing of others.
        return Err(ApiError::invalid(
            "shop_id",
            format!("unknown shop {shop:?}"),
        ));
    }
    if f.field("order_id").is_some()
        && let Some(o) = rec.get("order_id").and_then(Value::as_str)
    {
        let shop = st.refs.get(pipelines::forms::fields::RefKind::Order, o);
        if shop.is_some_and(|s| !p.sees_shop(&s)) {
            // Same answer as a missing order: a scoped caller learns nothing of others.
            return Err(ApiError::invalid(
                "order_id",
                format!("unknown order {o:?}"),
            ));
        }
    }
    Ok(())
}

async fn recorded_shop(st: &AppState, form: &str, id: &str) -> Result<Option<String>, ApiError> {
    let r = sqlx::query("SELECT shop_id FROM records WHERE form = ? AND record_key = ?")
        .bind(form)
        .bind(id)
        .fetch_optional(&st.store.pool)
        .await
        .map_err(|e| ApiError::internal("reading a record", e))?;
    Ok(r.and_then(|r| r.get::<Option<String>, _>(0)))
}

/// `GET /api/v1/forms/{form}/{id}`: the record's versions, newest last.
pub async fn versions(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let f = form(&name)?;
    can_read(&p, f)?;
    let rows = sqlx::query(
        "SELECT seq, version, shop_id, record, entered_by, entered_at FROM journal WHERE form = ? AND record_key = ? ORDER BY version",
    )
    .bind(f.name)
    .bind(&id)
    .fetch_all(&st.store.pool)
    .await
    .map_err(|e| ApiError::internal("reading record versions", e))?;
    let visible: Vec<Value> = rows
        .iter()
        .filter(|r| {
            r.get::<Option<String>, _>("shop_id")
                .is_none_or(|s| p.sees_shop(&s))
        })
        .map(|r| {
            let rec: String = r.get("record");
            json!({
                "version": r.get::<i64, _>("version"),
                "journal_seq": r.get::<i64, _>("seq"),
                "entered_by": r.get::<String, _>("entered_by"),
                "entered_at": r.get::<String, _>("entered_at"),
                "record": serde_json::from_str::<Value>(&rec).unwrap_or(Value::Null),
            })
        })
        .collect();
    if visible.is_empty() {
        return Err(ApiError::NotFound(format!("no {} record {id:?}", f.name)));
    }
    Ok(Json(json!({"form": f.name, "id": id, "versions": visible})))
}

/// Image types a logo may be, by their leading bytes.
fn logo_type(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// Largest logo, in pixels per side (a 512 KiB file could otherwise declare a huge canvas).
const MAX_LOGO_SIDE: u32 = 4096;

/// Whether `bytes` decode as a whole image of type `mime` within [`MAX_LOGO_SIDE`] and 64 MiB
/// of decoder memory: magic numbers alone let a PNG signature front an HTML page.
fn decodes(bytes: &[u8], mime: &str) -> Result<(), String> {
    let format = match mime {
        "image/png" => image::ImageFormat::Png,
        "image/jpeg" => image::ImageFormat::Jpeg,
        _ => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_LOGO_SIDE);
    limits.max_image_height = Some(MAX_LOGO_SIDE);
    limits.max_alloc = Some(64 << 20);
    reader.limits(limits);
    reader
        .decode()
        .map(drop)
        .map_err(|e| format!("the file is not a whole {mime} image: {e}"))
}

/// `PUT /api/v1/brands/{brand_id}/logo`: the raw image as the body (PNG, JPEG or WebP, at
/// most 512 KiB). Stored in the object store; the brand gets a new version naming it.
pub async fn upload_logo(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(brand): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require(&p, Perm::FormsWrite(Group::Catalog))?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !matches!(declared.as_str(), "image/png" | "image/jpeg" | "image/webp") {
        return Err(ApiError::UnsupportedMedia(format!(
            "a logo must be sent as image/png, image/jpeg or image/webp (got {declared:?})"
        )));
    }
    if body.len() > MAX_LOGO_BYTES {
        return Err(ApiError::TooLarge(format!(
            "the logo is {} bytes; at most {MAX_LOGO_BYTES} accepted",
            body.len()
        )));
    }
    if body.is_empty() {
        return Err(ApiError::invalid("(body)", "the logo is empty"));
    }
    let Some((mime, ext)) = logo_type(&body) else {
        return Err(ApiError::invalid(
            "(body)",
            "the file is not a PNG, JPEG or WebP image",
        ));
    };
    if mime != declared {
        return Err(ApiError::invalid(
            "(body)",
            format!("the file is {mime} but was sent as {declared}"),
        ));
    }
    let image = body.clone();
    tokio::task::spawn_blocking(move || decodes(&image, mime))
        .await
        .map_err(|e| ApiError::internal("checking a logo", e))?
        .map_err(|why| ApiError::invalid("(body)", why))?;
    let lookup = Lookup {
        wh: &st.wh,
        pending: &st.pending,
        shops: None,
    };
    let current = lookup
        .row("brands", &brand)
        .await
        .map_err(|e| ApiError::internal("reading the brand", e))?
        .ok_or_else(|| ApiError::NotFound(format!("no brand {brand:?}")))?;
    let digest = &crate::store::hash_secret(&String::from_utf8_lossy(&body))[..16];
    let path = format!("assets/brands/{brand}/logo-{digest}.{ext}");
    st.wh
        .put_asset(&path, body.to_vec())
        .await
        .map_err(|e| ApiError::internal("storing the logo", e))?;
    let mut row = current.clone();
    row.insert("logo_path".into(), Value::from(path.clone()));
    row.insert(
        "source".into(),
        Value::from(vocab::ids::form_owner("brands")),
    );
    let built = pipelines::forms::build::Built {
        key: brand.clone(),
        tables: vec![("brands", vec![row])],
        ..Default::default()
    };
    let record = json!({"brand_id": brand, "name": current.get("name"), "logo_path": path});
    let entered = sqlx::query("SELECT 1 FROM records WHERE form = 'brands' AND record_key = ?")
        .bind(&brand)
        .fetch_optional(&st.store.pool)
        .await
        .map_err(|e| ApiError::internal("reading a record", e))?
        .is_some();
    let out = st
        .journal
        .submit(Submission {
            form: "brands",
            correcting: entered,
            record,
            built,
            actor: p.id.clone(),
            idem: None,
        })
        .await
        .map_err(|e| ApiError::internal("journaling a logo", e))?;
    match out {
        Outcome::Accepted { body, .. } => Ok((
            StatusCode::OK,
            Json(json!({"brand_id": brand, "logo_path": path, "content_type": mime, "version": body.get("version")})),
        )
            .into_response()),
        other => Err(ApiError::Conflict(format!("the logo was not recorded: {other:?}"))),
    }
}

/// `GET /api/v1/brands/{brand_id}/logo`: the stored image.
pub async fn download_logo(
    State(st): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(brand): Path<String>,
) -> Result<Response, ApiError> {
    require(&p, Perm::FormsRead)?;
    let lookup = Lookup {
        wh: &st.wh,
        pending: &st.pending,
        shops: None,
    };
    let row = lookup
        .row("brands", &brand)
        .await
        .map_err(|e| ApiError::internal("reading the brand", e))?
        .ok_or_else(|| ApiError::NotFound(format!("no brand {brand:?}")))?;
    let Some(path) = row.get("logo_path").and_then(Value::as_str) else {
        return Err(ApiError::NotFound(format!("brand {brand:?} has no logo")));
    };
    let bytes = st
        .wh
        .get_asset(path)
        .await
        .map_err(|e| ApiError::internal("reading the logo", e))?;
    let mime = logo_type(&bytes)
        .map(|t| t.0)
        .unwrap_or("application/octet-stream");
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}
