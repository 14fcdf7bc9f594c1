//! The canonical rows each form writes. A build reads what it needs (the order a payment is
//! for, the PO line a receipt is against, on-hand stock for a count) and derives the rest:
//! business dates from instants, totals from lines, the shop a record belongs to.
//!
//! A build is pure with respect to the lake: it only reads. Rows are normalised JSON; the
//! flusher turns them into Arrow with each table's schema.

use chrono::Utc;
use serde_json::{Map, Value};
use warehouse::WarehouseError;

use super::FieldError;
use super::FormDef;
use super::fields::{RefKind, business_date, fen_text, parse_fen};
use super::lookup::{Lookup, Row};
use super::refs::Refs;

/// Which rows a form's submission writes: one variant per form, chosen in its definition
/// (`defs.rs`) and matched exhaustively by [`build`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    Payments,
    CodRemittances,
    MarketingExpenses,
    Salaries,
    Orders,
    OrderAdjustments,
    PurchaseRequests,
    Returns,
    ReturnReceipts,
    StockMovements,
    StockCounts,
    Suppliers,
    PurchaseOrders,
    PurchaseReceipts,
    Products,
    Categories,
    Brands,
    Campaigns,
    ShopTraffic,
}

/// What a submission writes.
#[derive(Debug, Default)]
pub struct Built {
    /// The record's id.
    pub key: String,
    /// The shop the record belongs to (scope checks); `None` for company-wide records.
    pub shop_id: Option<String>,
    /// Rows per table, in write order.
    pub tables: Vec<(&'static str, Vec<Row>)>,
    /// Child tables whose group (parent id) this version replaces whole.
    pub replace: Vec<(&'static str, String)>,
    /// Ids to make known to validation at once (kind, id, attribute).
    pub refs: Vec<(RefKind, String, String)>,
}

/// Why a build failed: the input is wrong (422) or the lake could not be read (500).
#[derive(Debug)]
pub enum BuildError {
    Invalid(Vec<FieldError>),
    Lake(WarehouseError),
}

impl From<WarehouseError> for BuildError {
    fn from(e: WarehouseError) -> Self {
        BuildError::Lake(e)
    }
}

fn invalid(field: &str, msg: impl Into<String>) -> BuildError {
    BuildError::Invalid(vec![FieldError::new(field, msg)])
}

/// Inputs of a build.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub lookup: Lookup<'a>,
    pub refs: &'a Refs,
    /// Whether this is a correction of an existing record (PUT) rather than a create.
    pub correcting: bool,
}

/// A fresh id: prefix, Shanghai date, 8 random hex digits.
pub fn new_id(prefix: &str) -> String {
    let day = Utc::now()
        .with_timezone(&vocab::BUSINESS_TZ)
        .format("%Y%m%d");
    format!("{prefix}-{day}-{:08x}", rand::random::<u32>())
}

fn now() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn s<'r>(r: &'r Map<String, Value>, k: &str) -> Option<&'r str> {
    r.get(k).and_then(Value::as_str)
}

fn text(r: &Map<String, Value>, k: &str) -> String {
    s(r, k).unwrap_or_default().to_string()
}

fn int(r: &Map<String, Value>, k: &str) -> i64 {
    r.get(k).and_then(Value::as_i64).unwrap_or(0)
}

fn fen(r: &Map<String, Value>, k: &str) -> i128 {
    s(r, k).and_then(parse_fen).unwrap_or(0)
}

fn get(r: &Map<String, Value>, k: &str) -> Value {
    r.get(k).cloned().unwrap_or(Value::Null)
}

fn or(r: &Map<String, Value>, k: &str, default: Value) -> Value {
    match r.get(k) {
        Some(Value::Null) | None => default,
        Some(v) => v.clone(),
    }
}

fn date_of(ts: &str, field: &str) -> Result<String, BuildError> {
    business_date(ts).map_err(|e| invalid(field, e))
}

macro_rules! row {
    ($($k:literal => $v:expr),* $(,)?) => {{
        let mut m = Map::new();
        $( m.insert($k.to_string(), Value::from($v)); )*
        m
    }};
}

/// One `stock_movements` row: every form that moves stock (movements, counts, return and
/// purchase receipts) writes it through here.
struct Movement<'a> {
    id: String,
    sku: Value,
    warehouse: Value,
    location: Value,
    kind: &'a str,
    /// Signed: positive into stock.
    qty: i64,
    unit_cost: Value,
    /// The instant and the form field it came from (named in a bad-date error).
    at: (String, &'static str),
    /// `(ref_type, ref_id)` of the record that caused the movement.
    reference: Option<(&'static str, String)>,
}

impl Movement<'_> {
    fn push(self, source: &str, b: &mut Built) -> Result<(), BuildError> {
        let (at, field) = self.at;
        let (ref_type, ref_id) = match self.reference {
            Some((t, id)) => (Value::from(t), Value::from(id)),
            None => (Value::Null, Value::Null),
        };
        b.tables.push((
            "stock_movements",
            vec![row! {
                "movement_id" => self.id, "sku_id" => self.sku, "warehouse_id" => self.warehouse,
                "location_id" => self.location, "kind" => self.kind, "qty" => self.qty,
                "unit_cost" => self.unit_cost, "move_date" => date_of(&at, field)?,
                "moved_at" => at, "ref_type" => ref_type, "ref_id" => ref_id, "source" => source,
            }],
        ));
        Ok(())
    }
}

/// Builds the rows of a validated record of `form`.
pub async fn build(
    form: &FormDef,
    rec: &mut Map<String, Value>,
    ctx: Ctx<'_>,
) -> Result<Built, BuildError> {
    let key = match s(rec, form.key) {
        Some(k) => k.to_string(),
        None if form.name == "shop_traffic" => {
            format!("{}:{}", text(rec, "shop_id"), text(rec, "traffic_date"))
        }
        None => new_id(form.id_prefix),
    };
    rec.insert(form.key.to_string(), Value::from(key.clone()));
    let source = vocab::ids::form_owner(form.name);
    let mut b = Built {
        key: key.clone(),
        ..Built::default()
    };
    let refs = ctx.refs;
    let order_shop = |field: &str| -> Result<String, BuildError> {
        let id = text(rec, field);
        refs.get(RefKind::Order, &id)
            .ok_or_else(|| invalid(field, format!("unknown order {id:?}")))
    };
    match form.builder {
        Builder::Payments => {
            let shop = order_shop("order_id")?;
            let paid_at = text(rec, "paid_at");
            b.tables.push((
                "payments",
                vec![row! {
                    "payment_id" => key, "order_id" => get(rec, "order_id"), "shop_id" => shop.clone(),
                    "channel" => get(rec, "channel"), "txn_no" => get(rec, "txn_no"),
                    "amount" => get(rec, "amount"), "paid_at" => paid_at.clone(),
                    "pay_date" => date_of(&paid_at, "paid_at")?,
                    "status" => or(rec, "status", Value::from("success")), "source" => source,
                }],
            ));
            b.shop_id = Some(shop);
        }
        Builder::CodRemittances => {
            let shop = order_shop("order_id")?;
            b.tables.push((
                "cod_remittances",
                vec![row! {
                    "remittance_id" => key, "carrier" => get(rec, "carrier"),
                    "order_id" => get(rec, "order_id"), "tracking_no" => get(rec, "tracking_no"),
                    "amount" => get(rec, "amount"), "remitted_at" => get(rec, "remitted_at"),
                    "source" => source,
                }],
            ));
            b.shop_id = Some(shop);
        }
        Builder::MarketingExpenses => {
            let shop = text(rec, "shop_id");
            let platform = refs.get(RefKind::Shop, &shop).unwrap_or_default();
            b.tables.push((
                "marketing_expenses",
                vec![row! {
                    "expense_id" => key, "shop_id" => shop.clone(), "platform" => platform,
                    "channel" => get(rec, "channel"), "kind" => get(rec, "kind"),
                    "amount" => get(rec, "amount"), "spend_date" => get(rec, "spend_date"),
                    "campaign_id" => get(rec, "campaign_id"),
                    "paid_via_platform" => or(rec, "paid_via_platform", Value::Bool(false)),
                    "source" => source,
                }],
            ));
            b.shop_id = Some(shop);
        }
        Builder::Salaries => {
            b.shop_id = s(rec, "shop_id").map(str::to_string);
            b.tables.push((
                "salaries",
                vec![row! {
                    "salary_id" => key, "employee_id" => get(rec, "employee_id"),
                    "employee_name" => get(rec, "employee_name"), "department" => get(rec, "department"),
                    "shop_id" => get(rec, "shop_id"), "period" => get(rec, "period"),
                    "gross_amount" => get(rec, "gross_amount"), "paid_date" => get(rec, "paid_date"),
                    "source" => source,
                }],
            ));
        }
        Builder::Orders => order(rec, &key, &source, ctx, &mut b)?,
        Builder::OrderAdjustments => adjust(rec, &source, ctx, &mut b).await?,
        Builder::PurchaseRequests => purchase_request(rec, &key, &source, ctx, &mut b).await?,
        Builder::Returns => returns(rec, &key, &source, ctx, &mut b).await?,
        Builder::ReturnReceipts => return_receipt(rec, &key, &source, ctx, &mut b).await?,
        Builder::StockMovements => {
            let kind = text(rec, "kind");
            let q = int(rec, "qty");
            let qty = match kind.as_str() {
                "in" | "out" if q <= 0 => {
                    return Err(invalid(
                        "qty",
                        format!(
                            "must be positive for kind {kind}; the direction comes from the kind"
                        ),
                    ));
                }
                "out" => -q,
                "adjust" if q == 0 => {
                    return Err(invalid("qty", "must not be 0 for an adjustment"));
                }
                _ => q,
            };
            let sku = text(rec, "sku_id");
            Movement {
                id: key,
                unit_cost: or(rec, "unit_cost", Value::from(sku_cost(refs, &sku))),
                sku: Value::from(sku),
                warehouse: get(rec, "warehouse_id"),
                location: get(rec, "location_id"),
                kind: &kind,
                qty,
                at: (text(rec, "moved_at"), "moved_at"),
                reference: None,
            }
            .push(&source, &mut b)?;
        }
        Builder::StockCounts => {
            let sku = text(rec, "sku_id");
            let wh = text(rec, "warehouse_id");
            let book = ctx.lookup.on_hand(&sku, Some(&wh)).await?;
            Movement {
                id: key.clone(),
                unit_cost: Value::from(sku_cost(refs, &sku)),
                sku: Value::from(sku),
                warehouse: Value::from(wh),
                location: Value::Null,
                kind: "count",
                qty: int(rec, "counted_qty") - book,
                at: (text(rec, "counted_at"), "counted_at"),
                reference: Some(("stock_count", key)),
            }
            .push(&source, &mut b)?;
        }
        Builder::Suppliers => {
            b.refs.push((RefKind::Supplier, key.clone(), key.clone()));
            b.tables.push((
                "suppliers",
                vec![row! {
                    "supplier_id" => key, "name" => get(rec, "name"), "contact" => get(rec, "contact"),
                    "lead_time_days" => get(rec, "lead_time_days"), "source" => source,
                }],
            ));
        }
        Builder::PurchaseOrders => purchase_order(rec, &key, &source, &mut b)?,
        Builder::PurchaseReceipts => purchase_receipt(rec, &key, &source, ctx, &mut b).await?,
        Builder::Products => product(rec, &key, &source, ctx, &mut b).await?,
        Builder::Categories => {
            let name = text(rec, "name");
            let (level, path) = match s(rec, "parent_id") {
                Some(p) if p == key => {
                    return Err(invalid("parent_id", "a category cannot be its own parent"));
                }
                Some(p) => {
                    let parent =
                        ctx.lookup.row("categories", p).await?.ok_or_else(|| {
                            invalid("parent_id", format!("unknown category {p:?}"))
                        })?;
                    if text(&parent, "path").split(" > ").count() >= 8 {
                        return Err(invalid("parent_id", "the tree is at most 8 levels deep"));
                    }
                    (
                        int(&parent, "level") + 1,
                        format!("{} > {name}", text(&parent, "path")),
                    )
                }
                None => (1, name.clone()),
            };
            b.refs
                .push((RefKind::Category, key.clone(), level.to_string()));
            b.tables.push((
                "categories",
                vec![row! {
                    "category_id" => key, "parent_id" => get(rec, "parent_id"), "name" => name,
                    "level" => level, "path" => path, "source" => source,
                }],
            ));
        }
        Builder::Brands => {
            let logo = if ctx.correcting {
                ctx.lookup
                    .row("brands", &key)
                    .await?
                    .map(|r| get(&r, "logo_path"))
                    .unwrap_or(Value::Null)
            } else {
                Value::Null
            };
            b.refs.push((RefKind::Brand, key.clone(), key.clone()));
            b.tables.push((
                "brands",
                vec![row! { "brand_id" => key, "name" => get(rec, "name"), "logo_path" => logo, "source" => source }],
            ));
        }
        Builder::Campaigns => {
            let (start, end) = (text(rec, "start_date"), text(rec, "end_date"));
            if end < start {
                return Err(invalid(
                    "end_date",
                    format!("{end} is before start_date {start}"),
                ));
            }
            if let Some(p) = s(rec, "peak_date")
                && (p < start.as_str() || p > end.as_str())
            {
                return Err(invalid(
                    "peak_date",
                    format!("{p} is outside {start}..{end}"),
                ));
            }
            b.refs.push((RefKind::Campaign, key.clone(), key.clone()));
            b.tables.push((
                "campaigns",
                vec![row! {
                    "campaign_id" => key, "name" => get(rec, "name"), "platform" => get(rec, "platform"),
                    "start_date" => start, "end_date" => end, "peak_date" => get(rec, "peak_date"),
                    "source" => source,
                }],
            ));
        }
        Builder::ShopTraffic => {
            let shop = text(rec, "shop_id");
            let want = format!("{shop}:{}", text(rec, "traffic_date"));
            if key != want {
                return Err(invalid(
                    "traffic_id",
                    format!("must be {want:?} (shop_id:traffic_date)"),
                ));
            }
            if int(rec, "page_views") < int(rec, "visitors") {
                return Err(invalid("page_views", "cannot be fewer than visitors"));
            }
            b.tables.push((
                "shop_traffic",
                vec![row! {
                    "shop_id" => shop.clone(), "traffic_date" => get(rec, "traffic_date"),
                    "visitors" => get(rec, "visitors"), "page_views" => get(rec, "page_views"),
                    "source" => source,
                }],
            ));
            b.shop_id = Some(shop);
        }
    }
    Ok(b)
}

fn sku_cost(refs: &Refs, sku: &str) -> String {
    refs.get(RefKind::Sku, sku)
        .and_then(|c| parse_fen(&c))
        .map(fen_text)
        .unwrap_or_else(|| "0.00".into())
}

fn lines(rec: &Map<String, Value>, k: &str) -> Vec<Map<String, Value>> {
    match rec.get(k) {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_object().cloned()).collect(),
        _ => Vec::new(),
    }
}

/// Totals and rows of an order from its lines; shared by manual orders and adjustments.
fn order_rows(
    header: &Map<String, Value>,
    items: &[Map<String, Value>],
    refs: &Refs,
    field: &str,
) -> Result<(Row, Vec<Row>), BuildError> {
    let (mut goods, mut disc) = (0i128, 0i128);
    let mut out = Vec::with_capacity(items.len());
    for (i, l) in items.iter().enumerate() {
        let qty = int(l, "qty");
        let gross = i128::from(qty) * fen(l, "unit_price");
        let d = fen(l, "discount_amount");
        if d > gross {
            return Err(invalid(
                &format!("{field}[{i}].discount_amount"),
                format!("{} exceeds the line's {}", fen_text(d), fen_text(gross)),
            ));
        }
        goods += gross;
        disc += d;
        let sku = text(l, "sku_id");
        let cost = refs
            .get(RefKind::Sku, &sku)
            .and_then(|c| parse_fen(&c))
            .map(|c| Value::from(fen_text(c * i128::from(qty))))
            .unwrap_or(Value::Null);
        out.push(row! {
            "order_item_id" => get(l, "order_item_id"), "order_id" => get(header, "order_id"),
            "shop_id" => get(header, "shop_id"), "sku_id" => sku, "qty" => qty,
            "unit_price" => fen_text(fen(l, "unit_price")), "discount_amount" => fen_text(d),
            "amount" => fen_text(gross - d), "cost_amount" => cost,
            "source" => get(header, "source"),
        });
    }
    let freight = fen(header, "freight_amount");
    let mut o = header.clone();
    o.insert("goods_amount".into(), Value::from(fen_text(goods)));
    o.insert("discount_amount".into(), Value::from(fen_text(disc)));
    o.insert("freight_amount".into(), Value::from(fen_text(freight)));
    o.insert(
        "pay_amount".into(),
        Value::from(fen_text(goods - disc + freight)),
    );
    o.insert("modified_at".into(), Value::from(now()));
    Ok((o, out))
}

fn order(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let shop = text(rec, "shop_id");
    let platform = ctx.refs.get(RefKind::Shop, &shop).unwrap_or_default();
    let created = text(rec, "created_at");
    let status = match s(rec, "status") {
        Some(st) => st.to_string(),
        None if rec.get("paid_at").is_some_and(|v| !v.is_null()) => "paid".into(),
        None => "created".into(),
    };
    if status != "created" && status != "closed" && rec.get("paid_at").is_none_or(Value::is_null) {
        return Err(invalid(
            "paid_at",
            format!("is required when status is {status}"),
        ));
    }
    let header = row! {
        "order_id" => key, "platform_order_no" => key, "shop_id" => shop.clone(),
        "platform" => platform, "buyer_id" => get(rec, "buyer_id"), "status" => status,
        "created_at" => created.clone(), "paid_at" => get(rec, "paid_at"),
        "order_date" => date_of(&created, "created_at")?,
        "freight_amount" => or(rec, "freight_amount", Value::from("0.00")),
        "is_cod" => or(rec, "is_cod", Value::Bool(false)),
        "receiver_province" => get(rec, "receiver_province"), "receiver_city" => get(rec, "receiver_city"),
        "campaign_id" => get(rec, "campaign_id"), "source" => source,
    };
    let mut items = lines(rec, "lines");
    let mut seen = std::collections::HashSet::new();
    for (i, l) in items.iter_mut().enumerate() {
        let id = s(l, "order_item_id")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{key}-{}", i + 1));
        if !seen.insert(id.clone()) {
            return Err(invalid(
                &format!("lines[{i}].order_item_id"),
                format!("{id:?} repeats"),
            ));
        }
        l.insert("order_item_id".into(), Value::from(id));
    }
    let (o, its) = order_rows(&header, &items, ctx.refs, "lines")?;
    b.tables.push(("orders", vec![o]));
    b.tables.push(("order_items", its));
    b.replace.push(("order_items", key.to_string()));
    b.refs.push((RefKind::Order, key.to_string(), shop.clone()));
    b.shop_id = Some(shop);
    Ok(())
}

async fn adjust(
    rec: &Map<String, Value>,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let oid = text(rec, "order_id");
    let mut header = ctx
        .lookup
        .row("orders", &oid)
        .await?
        .ok_or_else(|| invalid("order_id", format!("unknown order {oid:?}")))?;
    if matches!(s(&header, "status"), Some("closed" | "refunded")) {
        return Err(invalid(
            "order_id",
            "a closed or refunded order cannot be re-priced",
        ));
    }
    let mut items = ctx
        .lookup
        .rows_where("order_items", "order_id", &oid)
        .await?;
    for (i, l) in lines(rec, "lines").iter().enumerate() {
        let id = text(l, "order_item_id");
        let Some(item) = items
            .iter_mut()
            .find(|it| s(it, "order_item_id") == Some(id.as_str()))
        else {
            return Err(invalid(
                &format!("lines[{i}].order_item_id"),
                format!("order {oid} has no line {id:?}"),
            ));
        };
        if l.get("unit_price").is_none() && l.get("discount_amount").is_none() {
            return Err(invalid(
                &format!("lines[{i}]"),
                "give unit_price, discount_amount or both",
            ));
        }
        for k in ["unit_price", "discount_amount"] {
            if let Some(v) = l.get(k) {
                item.insert(k.into(), v.clone());
            }
        }
    }
    header.insert("source".into(), Value::from(source));
    let (o, its) = order_rows(&header, &items, ctx.refs, "lines")?;
    b.shop_id = s(&o, "shop_id").map(str::to_string);
    b.tables.push(("orders", vec![o]));
    b.tables.push(("order_items", its));
    b.replace.push(("order_items", oid));
    Ok(())
}

async fn purchase_request(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let line_id = text(rec, "order_item_id");
    let line = ctx
        .lookup
        .row("order_items", &line_id)
        .await?
        .ok_or_else(|| invalid("order_item_id", format!("unknown order line {line_id:?}")))?;
    let sku = text(&line, "sku_id");
    let need = int(&line, "qty");
    let have = ctx.lookup.on_hand(&sku, None).await?;
    if have >= need {
        return Err(invalid(
            "order_item_id",
            format!("SKU {sku} is not short: {have} on hand, the line needs {need}"),
        ));
    }
    let qty = rec
        .get("qty")
        .and_then(Value::as_i64)
        .unwrap_or(need - have);
    let cost = fen(rec, "unit_cost");
    let amount = fen_text(cost * i128::from(qty));
    b.shop_id = s(&line, "shop_id").map(str::to_string);
    b.tables.push((
        "purchase_orders",
        vec![row! {
            "po_id" => key, "supplier_id" => get(rec, "supplier_id"), "warehouse_id" => get(rec, "warehouse_id"),
            "status" => "draft", "ordered_at" => now(), "promised_date" => get(rec, "promised_date"),
            "total_amount" => amount.clone(), "source" => source,
        }],
    ));
    b.tables.push((
        "purchase_order_lines",
        vec![row! {
            "po_line_id" => format!("{key}-1"), "po_id" => key, "sku_id" => sku, "qty" => qty,
            "unit_cost" => fen_text(cost), "amount" => amount, "source" => source,
        }],
    ));
    b.replace.push(("purchase_order_lines", key.to_string()));
    Ok(())
}

async fn returns(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let oid = text(rec, "order_id");
    let shop = ctx
        .refs
        .get(RefKind::Order, &oid)
        .ok_or_else(|| invalid("order_id", format!("unknown order {oid:?}")))?;
    let kind = text(rec, "kind");
    let qty = int(rec, "qty");
    let mut sku = get(rec, "sku_id");
    if let Some(item) = s(rec, "order_item_id") {
        let line = ctx.lookup.row("order_items", item).await?;
        match line {
            Some(l) if s(&l, "order_id") == Some(oid.as_str()) => {
                if qty > int(&l, "qty") {
                    return Err(invalid(
                        "qty",
                        format!(
                            "{qty} is more than the {} units of the line",
                            int(&l, "qty")
                        ),
                    ));
                }
                if sku.is_null() {
                    sku = get(&l, "sku_id");
                } else if sku != get(&l, "sku_id") {
                    return Err(invalid("sku_id", "is not the SKU of order_item_id"));
                }
            }
            _ => {
                return Err(invalid(
                    "order_item_id",
                    format!("order {oid} has no line {item:?}"),
                ));
            }
        }
    }
    match kind.as_str() {
        "refund_only" if qty != 0 => return Err(invalid("qty", "must be 0 for refund_only")),
        "return" | "exchange" if qty == 0 => {
            return Err(invalid("qty", format!("must be at least 1 for {kind}")));
        }
        "return" | "exchange" if sku.is_null() => {
            return Err(invalid(
                "sku_id",
                format!("is required for {kind} (or give order_item_id)"),
            ));
        }
        _ => {}
    }
    let created = text(rec, "created_at");
    // A correction keeps what receiving recorded.
    let received = if ctx.correcting {
        ctx.lookup
            .row("refunds", key)
            .await?
            .map(|r| get(&r, "goods_received_at"))
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    b.tables.push((
        "refunds",
        vec![row! {
            "refund_id" => key, "order_id" => oid, "order_item_id" => get(rec, "order_item_id"),
            "shop_id" => shop.clone(), "sku_id" => sku, "kind" => kind, "reason" => get(rec, "reason"),
            "qty" => qty, "amount" => get(rec, "amount"),
            "shipping_insurance_amount" => or(rec, "shipping_insurance_amount", Value::from("0.00")),
            "status" => or(rec, "status", Value::from("pending")), "created_at" => created.clone(),
            "refund_date" => date_of(&created, "created_at")?, "completed_at" => get(rec, "completed_at"),
            "goods_received_at" => received, "source" => source,
        }],
    ));
    b.shop_id = Some(shop);
    Ok(())
}

async fn return_receipt(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let rid = text(rec, "refund_id");
    let mut case = ctx
        .lookup
        .row("refunds", &rid)
        .await?
        .ok_or_else(|| invalid("refund_id", format!("unknown return case {rid:?}")))?;
    let kind = text(&case, "kind");
    if kind == "refund_only" {
        return Err(invalid(
            "refund_id",
            "a refund_only case has no goods to receive",
        ));
    }
    let qty = int(rec, "qty");
    if qty > int(&case, "qty") {
        return Err(invalid(
            "qty",
            format!(
                "{qty} is more than the {} units of the case",
                int(&case, "qty")
            ),
        ));
    }
    let sku = text(&case, "sku_id");
    let at = text(rec, "received_at");
    case.insert("goods_received_at".into(), Value::from(at.clone()));
    case.insert("source".into(), Value::from(source));
    b.shop_id = s(&case, "shop_id").map(str::to_string);
    b.tables.push(("refunds", vec![case]));
    Movement {
        id: key.to_string(),
        unit_cost: Value::from(sku_cost(ctx.refs, &sku)),
        sku: Value::from(sku),
        warehouse: get(rec, "warehouse_id"),
        location: Value::Null,
        kind: "return",
        qty,
        at: (at, "received_at"),
        reference: Some(("refund", rid)),
    }
    .push(source, b)
}

fn purchase_order(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    b: &mut Built,
) -> Result<(), BuildError> {
    let mut total = 0i128;
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, l) in lines(rec, "lines").iter().enumerate() {
        let id = s(l, "po_line_id")
            .map(str::to_string)
            .unwrap_or_else(|| format!("{key}-{}", i + 1));
        if !seen.insert(id.clone()) {
            return Err(invalid(
                &format!("lines[{i}].po_line_id"),
                format!("{id:?} repeats"),
            ));
        }
        let amount = fen(l, "unit_cost") * i128::from(int(l, "qty"));
        total += amount;
        out.push(row! {
            "po_line_id" => id, "po_id" => key, "sku_id" => get(l, "sku_id"), "qty" => get(l, "qty"),
            "unit_cost" => get(l, "unit_cost"), "amount" => fen_text(amount), "source" => source,
        });
    }
    b.tables.push((
        "purchase_orders",
        vec![row! {
            "po_id" => key, "supplier_id" => get(rec, "supplier_id"), "warehouse_id" => get(rec, "warehouse_id"),
            "status" => or(rec, "status", Value::from("ordered")), "ordered_at" => get(rec, "ordered_at"),
            "promised_date" => get(rec, "promised_date"), "total_amount" => fen_text(total), "source" => source,
        }],
    ));
    b.tables.push(("purchase_order_lines", out));
    b.replace.push(("purchase_order_lines", key.to_string()));
    Ok(())
}

async fn purchase_receipt(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let lid = text(rec, "po_line_id");
    let line = ctx
        .lookup
        .row("purchase_order_lines", &lid)
        .await?
        .ok_or_else(|| invalid("po_line_id", format!("unknown PO line {lid:?}")))?;
    let po_id = text(&line, "po_id");
    let po = ctx
        .lookup
        .row("purchase_orders", &po_id)
        .await?
        .ok_or_else(|| {
            invalid(
                "po_line_id",
                format!("its purchase order {po_id:?} is missing"),
            )
        })?;
    let (got, ok) = (int(rec, "qty_received"), int(rec, "qty_accepted"));
    if ok > got {
        return Err(invalid(
            "qty_accepted",
            format!("{ok} is more than the {got} received"),
        ));
    }
    let qc = if ok == got {
        "pass"
    } else if ok == 0 {
        "fail"
    } else {
        "partial"
    };
    let at = text(rec, "received_at");
    let day = date_of(&at, "received_at")?;
    b.tables.push((
        "purchase_receipts",
        vec![row! {
            "receipt_id" => key, "po_id" => po_id.clone(), "po_line_id" => lid, "sku_id" => get(&line, "sku_id"),
            "received_at" => at.clone(), "receipt_date" => day.clone(), "qty_received" => got,
            "qty_accepted" => ok, "qty_rejected" => got - ok, "qc_result" => qc, "source" => source,
        }],
    ));
    if ok > 0 {
        Movement {
            id: format!("{key}-IN"),
            sku: get(&line, "sku_id"),
            warehouse: get(&po, "warehouse_id"),
            location: Value::Null,
            kind: "in",
            qty: ok,
            unit_cost: get(&line, "unit_cost"),
            at: (at, "received_at"),
            reference: Some(("purchase_receipt", key.to_string())),
        }
        .push(source, b)?;
    }
    Ok(())
}

async fn product(
    rec: &Map<String, Value>,
    key: &str,
    source: &str,
    ctx: Ctx<'_>,
    b: &mut Built,
) -> Result<(), BuildError> {
    let created = if ctx.correcting {
        ctx.lookup
            .row("spus", key)
            .await?
            .map(|r| get(&r, "created_at"))
    } else {
        None
    }
    .unwrap_or_else(|| Value::from(now()));
    let related = match rec.get("related_spu_ids") {
        Some(Value::Array(ids)) => {
            if ids.iter().any(|v| v.as_str() == Some(key)) {
                return Err(invalid(
                    "related_spu_ids",
                    "a product cannot be related to itself",
                ));
            }
            Value::from(
                ids.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            )
        }
        _ => Value::Null,
    };
    b.tables.push((
        "spus",
        vec![row! {
            "spu_id" => key, "name" => get(rec, "name"), "category_id" => get(rec, "category_id"),
            "brand_id" => get(rec, "brand_id"), "style" => get(rec, "style"), "related_spu_ids" => related,
            "created_at" => created, "source" => source,
        }],
    ));
    let mut skus = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, l) in lines(rec, "skus").iter().enumerate() {
        let id = text(l, "sku_id");
        if !seen.insert(id.clone()) {
            return Err(invalid(
                &format!("skus[{i}].sku_id"),
                format!("{id:?} repeats"),
            ));
        }
        if let Some(spu) = sku_owner(ctx, &id).await?
            && spu != key
        {
            return Err(invalid(
                &format!("skus[{i}].sku_id"),
                format!("{id:?} belongs to product {spu:?}"),
            ));
        }
        let attrs = match l.get("attributes") {
            Some(v @ Value::Object(_)) => Value::from(v.to_string()),
            _ => Value::Null,
        };
        b.refs
            .push((RefKind::Sku, id.clone(), text(l, "cost_price")));
        skus.push(row! {
            "sku_id" => id, "spu_id" => key, "name" => get(l, "name"), "attributes" => attrs,
            "barcode" => get(l, "barcode"), "is_virtual" => or(l, "is_virtual", Value::Bool(false)),
            "allow_preorder" => or(l, "allow_preorder", Value::Bool(false)),
            "allow_backorder" => or(l, "allow_backorder", Value::Bool(false)),
            "lifecycle" => or(l, "lifecycle", Value::from("active")),
            "list_price" => get(l, "list_price"), "cost_price" => get(l, "cost_price"),
            "weight_g" => get(l, "weight_g"), "low_stock" => get(l, "low_stock"),
            "high_stock" => get(l, "high_stock"), "source" => source,
        });
    }
    b.refs
        .push((RefKind::Spu, key.to_string(), key.to_string()));
    b.tables.push(("skus", skus));
    Ok(())
}

async fn sku_owner(ctx: Ctx<'_>, sku: &str) -> Result<Option<String>, BuildError> {
    if !ctx.refs.contains(RefKind::Sku, sku) {
        return Ok(None);
    }
    Ok(ctx
        .lookup
        .row("skus", sku)
        .await?
        .map(|r| text(&r, "spu_id")))
}
