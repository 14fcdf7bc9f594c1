//! One [`TableBuf`] per canonical table the generator fills.

use arrow::record_batch::RecordBatch;
use warehouse::schema::table;

use crate::rows::TableBuf;

macro_rules! bufs {
    ($($f:ident),* $(,)?) => {
        /// Row buffers, one per table.
        pub(crate) struct Bufs { $(pub $f: TableBuf,)* }

        impl Bufs {
            pub(crate) fn new(source: &'static str) -> Self {
                Self { $($f: TableBuf::new(table(stringify!($f)).expect(concat!("table ", stringify!($f))), source),)* }
            }

            /// Every non-empty buffer as `(table, batch)`, leaving them empty.
            pub(crate) fn take_all(&mut self) -> Vec<(&'static str, RecordBatch)> {
                let mut out = Vec::new();
                $(if let Some(b) = self.$f.take() { out.push((self.$f.def.name, b)); })*
                out
            }
        }
    };
}

bufs!(
    shops,
    brands,
    categories,
    spus,
    skus,
    orders,
    order_items,
    payments,
    refunds,
    shipments,
    logistics_events,
    warehouses,
    locations,
    stock_movements,
    stock_snapshots,
    suppliers,
    purchase_orders,
    purchase_order_lines,
    purchase_receipts,
    supplier_bills,
    platform_bills,
    carrier_statements,
    cod_remittances,
    marketing_expenses,
    salaries,
    shop_traffic,
    campaigns,
    fee_rates,
);
