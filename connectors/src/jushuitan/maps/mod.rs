//! Jushuitan records other than orders → canonical rows, one file per endpoint. Ids carry the
//! `jst:` prefix exactly as the orders mapping writes them (`order_id = jst:<o_id>`,
//! `shop_id = jst:<shop_id>`, `warehouse_id = jst:<wms_co_id>`), SKU ids are the ERP's own
//! codes (as in `order_items.sku_id`), so joins across streams work. Money is exact fen,
//! instants UTC, business dates Asia/Shanghai. Every mapper returns the stream's tables in
//! write order, the cursor-carrying table last.

pub(crate) mod inventory;
pub(crate) mod logistics;
pub(crate) mod master;
pub(crate) mod purchases;
pub(crate) mod refunds;
pub(crate) mod shipments;
pub(crate) mod skus;

use super::mapping::SOURCE;
use vocab::rows::{Cell, text};

/// The `source` cell of every row.
pub(crate) fn source() -> Cell {
    text(SOURCE)
}

/// A carrier code as canonical text (`ZTO` → `zto`).
pub(crate) fn carrier(code: &str) -> String {
    code.trim().to_lowercase()
}

/// A shipment's id: the order and its waybill (outbound and shipping info agree on it).
pub(crate) fn shipment_id(o_id: &str, l_id: &str) -> String {
    format!("jst:{o_id}:{l_id}")
}
