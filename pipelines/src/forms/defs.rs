//! Every entry form, as data. A homogeneous table kept in one file; the rows each form
//! writes are in `build.rs`, under the same names.

use super::build::Builder;
use super::fields::RefKind::{
    Brand, Campaign, Category, Order, Shop, Sku, Spu, Supplier, Warehouse,
};
use super::fields::Ty::{
    Attrs, Bool, Date, Enum, Id, IdList, Int, Lines, Money, Month, Text, Timestamp,
};
use super::fields::{Field, opt, req};
use super::{FormDef, Group};

const QTY: super::fields::Ty = Int {
    min: 1,
    max: 1_000_000,
};
const NAME: super::fields::Ty = Text { max: 100 };
const NOTE: super::fields::Ty = Text { max: 500 };
const PRICE: super::fields::Ty = Money { min: 0 };
const POSITIVE: super::fields::Ty = Money { min: 1 };

const ORDER_LINES: &[Field] = &[
    opt("order_item_id", Id, "line id; generated when omitted"),
    req("sku_id", Id, "SKU sold").refs(Sku),
    req("qty", QTY, "units"),
    req("unit_price", PRICE, "price per unit before discount"),
    opt("discount_amount", PRICE, "this line's discount (default 0)"),
];

const ADJUST_LINES: &[Field] = &[
    req("order_item_id", Id, "line whose price changes"),
    opt("unit_price", PRICE, "new price per unit"),
    opt("discount_amount", PRICE, "new line discount"),
];

const PO_LINES: &[Field] = &[
    opt("po_line_id", Id, "line id; generated when omitted"),
    req("sku_id", Id, "SKU ordered").refs(Sku),
    req("qty", QTY, "units ordered"),
    req("unit_cost", PRICE, "agreed cost per unit"),
];

const SKU_LINES: &[Field] = &[
    req("sku_id", Id, "SKU code"),
    req("name", NAME, "variant title"),
    opt(
        "attributes",
        Attrs,
        "custom attributes, e.g. {\"颜色\": \"白\", \"尺码\": \"L\"}",
    ),
    opt("barcode", Id, "EAN/UPC barcode"),
    opt(
        "is_virtual",
        Bool,
        "virtual goods need no shipment (default false)",
    ),
    opt(
        "allow_preorder",
        Bool,
        "may be sold before stock arrives (default false)",
    ),
    opt(
        "allow_backorder",
        Bool,
        "may be sold when out of stock (default false)",
    ),
    opt(
        "lifecycle",
        Enum(&["draft", "active", "discontinued"]),
        "default active",
    ),
    req("list_price", PRICE, "list price per unit"),
    req("cost_price", PRICE, "standard cost per unit"),
    opt(
        "weight_g",
        Int {
            min: 0,
            max: 1_000_000,
        },
        "shipping weight in grams",
    ),
    opt(
        "low_stock",
        Int {
            min: 0,
            max: 10_000_000,
        },
        "alert below this on-hand",
    ),
    opt(
        "high_stock",
        Int {
            min: 0,
            max: 10_000_000,
        },
        "alert above this on-hand",
    ),
];

/// Every form, by URL name.
pub static FORMS: &[FormDef] = &[
    FormDef {
        name: "payments",
        builder: Builder::Payments,
        title: "Manual payment",
        title_zh: "手工收款",
        doc: "Money received for an order outside the platforms (bank transfer, cash).",
        group: Group::Finance,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "payment_id",
        id_prefix: "MPAY",
        tables: &["payments"],
        fields: &[
            opt("payment_id", Id, "payment id; generated when omitted"),
            req("order_id", Id, "order paid").refs(Order),
            req(
                "channel",
                Enum(&["alipay", "wechat", "jdpay", "douyin_pay", "bank", "cash"]),
                "payment channel",
            ),
            req("txn_no", Id, "channel or bank transaction number"),
            req("amount", POSITIVE, "amount received"),
            req("paid_at", Timestamp, "when the money was received"),
            opt("status", Enum(&["success", "reversed"]), "default success"),
        ],
    },
    FormDef {
        name: "cod_remittances",
        builder: Builder::CodRemittances,
        title: "COD remittance",
        title_zh: "货到付款回款",
        doc: "Cash-on-delivery money a carrier remitted for one parcel.",
        group: Group::Finance,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "remittance_id",
        id_prefix: "MCOD",
        tables: &["cod_remittances"],
        fields: &[
            opt(
                "remittance_id",
                Id,
                "remittance line id; generated when omitted",
            ),
            req(
                "carrier",
                Enum(&["zto", "yto", "sf", "jd", "ems", "yunda", "sto"]),
                "carrier code",
            ),
            req("order_id", Id, "COD order").refs(Order),
            req("tracking_no", Id, "waybill number"),
            req("amount", POSITIVE, "amount remitted"),
            req("remitted_at", Timestamp, "when the money arrived"),
        ],
    },
    FormDef {
        name: "marketing_expenses",
        builder: Builder::MarketingExpenses,
        title: "Marketing expense",
        title_zh: "推广费用",
        doc: "Marketing spend: ads, KOL fees, coupons.",
        group: Group::Finance,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "expense_id",
        id_prefix: "MEXP",
        tables: &["marketing_expenses"],
        fields: &[
            opt("expense_id", Id, "expense id; generated when omitted"),
            req("shop_id", Id, "shop").refs(Shop),
            req(
                "channel",
                Id,
                "e.g. ztc (直通车), ylmf (引力魔方), qianchuan, kol",
            ),
            req(
                "kind",
                Enum(&["ads", "kol", "coupon", "other"]),
                "kind of spend",
            ),
            req("amount", POSITIVE, "amount spent"),
            req("spend_date", Date, "Asia/Shanghai date of the spend"),
            opt("campaign_id", Id, "campaign").refs(Campaign),
            opt(
                "paid_via_platform",
                Bool,
                "deducted through platform fee lines (default false)",
            ),
        ],
    },
    FormDef {
        name: "salaries",
        builder: Builder::Salaries,
        title: "Salary",
        title_zh: "工资",
        doc: "One employee's pay for one month, optionally allocated to a shop.",
        group: Group::Finance,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "salary_id",
        id_prefix: "MSAL",
        tables: &["salaries"],
        fields: &[
            opt("salary_id", Id, "salary line id; generated when omitted"),
            req("employee_id", Id, "employee"),
            req("employee_name", NAME, "name"),
            req(
                "department",
                Enum(&[
                    "operations",
                    "customer_service",
                    "warehouse",
                    "finance",
                    "design",
                    "management",
                ]),
                "department",
            ),
            opt(
                "shop_id",
                Id,
                "shop the cost is allocated to; omit for shared staff",
            )
            .refs(Shop),
            req("period", Month, "month, YYYY-MM"),
            req("gross_amount", POSITIVE, "gross pay"),
            req("paid_date", Date, "date paid"),
        ],
    },
    FormDef {
        name: "orders",
        builder: Builder::Orders,
        title: "Manual order",
        title_zh: "手工订单",
        doc: "An order taken outside the platforms (phone, WeChat, wholesale). A correction is a new version of the whole order; lines it drops are removed.",
        group: Group::Operations,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "order_id",
        id_prefix: "MORD",
        tables: &["orders", "order_items"],
        fields: &[
            opt("order_id", Id, "order id; generated when omitted"),
            req("shop_id", Id, "shop").refs(Shop),
            opt("buyer_id", Id, "buyer"),
            req("created_at", Timestamp, "when the order was placed"),
            opt("paid_at", Timestamp, "when it was paid"),
            opt(
                "status",
                Enum(&["created", "paid", "shipped", "finished", "closed"]),
                "default created (paid when paid_at is given)",
            ),
            opt("freight_amount", PRICE, "freight charged (default 0)"),
            opt("is_cod", Bool, "cash on delivery (default false)"),
            opt("receiver_province", NAME, "destination province"),
            opt("receiver_city", NAME, "destination city"),
            opt("campaign_id", Id, "campaign").refs(Campaign),
            req("lines", Lines(ORDER_LINES), "order lines"),
        ],
    },
    FormDef {
        name: "order_adjustments",
        builder: Builder::OrderAdjustments,
        title: "Order price adjustment",
        title_zh: "订单改价",
        doc: "Changes line prices or discounts of an order (e.g. when a promotion changes), with a reason. Writes a new version of the order and its lines.",
        group: Group::Operations,
        company_wide: false,
        serial: false,
        corrects: true,
        key: "adjustment_id",
        id_prefix: "MADJ",
        tables: &["orders", "order_items"],
        fields: &[
            opt("adjustment_id", Id, "adjustment id; generated when omitted"),
            req("order_id", Id, "order").refs(Order),
            req("reason", NOTE, "why the price changed"),
            req(
                "lines",
                Lines(ADJUST_LINES),
                "lines whose price or discount changes",
            ),
        ],
    },
    FormDef {
        name: "purchase_requests",
        builder: Builder::PurchaseRequests,
        title: "Purchase request from an order line",
        title_zh: "缺货请购",
        doc: "Raises a draft purchase order for an order line whose SKU is short (on-hand below what the line needs).",
        group: Group::Operations,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "request_id",
        id_prefix: "MPR",
        tables: &["purchase_orders", "purchase_order_lines"],
        fields: &[
            opt(
                "request_id",
                Id,
                "request id (also the draft PO's id); generated when omitted",
            ),
            req("order_item_id", Id, "the order line that cannot be filled"),
            req("supplier_id", Id, "supplier to ask").refs(Supplier),
            req("warehouse_id", Id, "receiving warehouse").refs(Warehouse),
            opt("qty", QTY, "units to buy (default: the shortfall)"),
            req("unit_cost", PRICE, "expected cost per unit"),
            req("promised_date", Date, "date the goods are needed by"),
        ],
    },
    FormDef {
        name: "returns",
        builder: Builder::Returns,
        title: "Return or exchange",
        title_zh: "退货/换货",
        doc: "An after-sale case: refund only, return, or exchange.",
        group: Group::Operations,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "refund_id",
        id_prefix: "MRET",
        tables: &["refunds"],
        fields: &[
            opt("refund_id", Id, "case id; generated when omitted"),
            req("order_id", Id, "order").refs(Order),
            opt("order_item_id", Id, "line returned"),
            opt("sku_id", Id, "SKU returned").refs(Sku),
            req(
                "kind",
                Enum(&["refund_only", "return", "exchange"]),
                "kind of case",
            ),
            opt("reason", NOTE, "buyer's reason"),
            req(
                "qty",
                Int {
                    min: 0,
                    max: 1_000_000,
                },
                "units returned (0 for refund_only)",
            ),
            req("amount", PRICE, "amount refunded to the buyer"),
            opt(
                "shipping_insurance_amount",
                PRICE,
                "return-freight insurance claim (default 0)",
            ),
            opt(
                "status",
                Enum(&["pending", "success", "closed"]),
                "default pending",
            ),
            req("created_at", Timestamp, "when the case was opened"),
            opt("completed_at", Timestamp, "when the money went back"),
        ],
    },
    FormDef {
        name: "return_receipts",
        builder: Builder::ReturnReceipts,
        title: "Receive returned goods",
        title_zh: "退货入库",
        doc: "Returned goods arrived: marks the case received and books them back into stock.",
        group: Group::Operations,
        company_wide: false,
        serial: false,
        corrects: true,
        key: "receipt_id",
        id_prefix: "MRR",
        tables: &["refunds", "stock_movements"],
        fields: &[
            opt(
                "receipt_id",
                Id,
                "receipt id (also the stock movement's id); generated when omitted",
            ),
            req("refund_id", Id, "the return or exchange case"),
            req("warehouse_id", Id, "receiving warehouse").refs(Warehouse),
            req("qty", QTY, "units received back into stock"),
            req("received_at", Timestamp, "when the goods arrived"),
        ],
    },
    FormDef {
        name: "stock_movements",
        builder: Builder::StockMovements,
        title: "Stock movement",
        title_zh: "库存调整",
        doc: "A manual change of on-hand stock: goods in, goods out, or an adjustment.",
        group: Group::Operations,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "movement_id",
        id_prefix: "MMOV",
        tables: &["stock_movements"],
        fields: &[
            opt("movement_id", Id, "movement id; generated when omitted"),
            req("sku_id", Id, "SKU").refs(Sku),
            req("warehouse_id", Id, "warehouse").refs(Warehouse),
            opt("location_id", Id, "bin"),
            req(
                "kind",
                Enum(&["in", "out", "adjust"]),
                "in adds, out removes, adjust is signed",
            ),
            req(
                "qty",
                Int {
                    min: -1_000_000,
                    max: 1_000_000,
                },
                "units; positive for in and out, signed for adjust",
            ),
            opt(
                "unit_cost",
                PRICE,
                "cost per unit (default: the SKU's cost price)",
            ),
            req("moved_at", Timestamp, "when it moved"),
            opt("note", NOTE, "why"),
        ],
    },
    FormDef {
        name: "stock_counts",
        builder: Builder::StockCounts,
        title: "Stock count",
        title_zh: "盘点",
        doc: "A counted quantity for one SKU in one warehouse; the difference from the books is booked as a `count` movement.",
        group: Group::Operations,
        company_wide: true,
        serial: true,
        corrects: false,
        key: "count_id",
        id_prefix: "MCNT",
        tables: &["stock_movements"],
        fields: &[
            opt(
                "count_id",
                Id,
                "count id (also the movement's id); generated when omitted",
            ),
            req("sku_id", Id, "SKU").refs(Sku),
            req("warehouse_id", Id, "warehouse").refs(Warehouse),
            req(
                "counted_qty",
                Int {
                    min: 0,
                    max: 10_000_000,
                },
                "units found",
            ),
            req("counted_at", Timestamp, "when it was counted"),
        ],
    },
    FormDef {
        name: "suppliers",
        builder: Builder::Suppliers,
        title: "Supplier",
        title_zh: "供应商",
        doc: "A supplier goods are bought from.",
        group: Group::Catalog,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "supplier_id",
        id_prefix: "MSUP",
        tables: &["suppliers"],
        fields: &[
            opt("supplier_id", Id, "supplier id; generated when omitted"),
            req("name", NAME, "supplier name"),
            opt("contact", NAME, "contact person"),
            req(
                "lead_time_days",
                Int { min: 0, max: 365 },
                "usual days from order to arrival",
            ),
        ],
    },
    FormDef {
        name: "purchase_orders",
        builder: Builder::PurchaseOrders,
        title: "Purchase order",
        title_zh: "采购单",
        doc: "A purchase order to a supplier with its lines. A correction replaces the lines.",
        group: Group::Operations,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "po_id",
        id_prefix: "MPO",
        tables: &["purchase_orders", "purchase_order_lines"],
        fields: &[
            opt("po_id", Id, "purchase order id; generated when omitted"),
            req("supplier_id", Id, "supplier").refs(Supplier),
            req("warehouse_id", Id, "receiving warehouse").refs(Warehouse),
            opt(
                "status",
                Enum(&["draft", "ordered", "partial", "received", "closed"]),
                "default ordered",
            ),
            req("ordered_at", Timestamp, "when it was placed"),
            req("promised_date", Date, "supplier's promised arrival date"),
            req("lines", Lines(PO_LINES), "lines"),
        ],
    },
    FormDef {
        name: "purchase_receipts",
        builder: Builder::PurchaseReceipts,
        title: "Purchase receipt and QC",
        title_zh: "采购入库与质检",
        doc: "Goods received against a PO line with the QC result; accepted units go into stock.",
        group: Group::Operations,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "receipt_id",
        id_prefix: "MPRC",
        tables: &["purchase_receipts", "stock_movements"],
        fields: &[
            opt("receipt_id", Id, "receipt id; generated when omitted"),
            req("po_line_id", Id, "the PO line received"),
            req("received_at", Timestamp, "when it arrived"),
            req("qty_received", QTY, "units delivered"),
            req(
                "qty_accepted",
                Int {
                    min: 0,
                    max: 1_000_000,
                },
                "units passing QC",
            ),
        ],
    },
    FormDef {
        name: "products",
        builder: Builder::Products,
        title: "Product (SPU with SKUs)",
        title_zh: "商品",
        doc: "A product and its variants, with custom attributes, physical or virtual, pre-order and back-order flags and a lifecycle.",
        group: Group::Catalog,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "spu_id",
        id_prefix: "MSPU",
        tables: &["spus", "skus"],
        fields: &[
            opt("spu_id", Id, "product id; generated when omitted"),
            req("name", Text { max: 200 }, "product title"),
            req("category_id", Id, "leaf category").refs(Category),
            opt("brand_id", Id, "brand").refs(Brand),
            opt("style", NAME, "style attribute (e.g. 简约)"),
            opt("related_spu_ids", IdList, "related products").refs(Spu),
            req("skus", Lines(SKU_LINES), "variants"),
        ],
    },
    FormDef {
        name: "categories",
        builder: Builder::Categories,
        title: "Category",
        title_zh: "类目",
        doc: "A node of the category tree; level and path are derived from the parent.",
        group: Group::Catalog,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "category_id",
        id_prefix: "MCAT",
        tables: &["categories"],
        fields: &[
            opt("category_id", Id, "category id; generated when omitted"),
            opt("parent_id", Id, "parent; omit for a top-level category").refs(Category),
            req("name", NAME, "category name"),
        ],
    },
    FormDef {
        name: "brands",
        builder: Builder::Brands,
        title: "Brand",
        title_zh: "品牌",
        doc: "A brand. Upload its logo with PUT /api/v1/brands/{brand_id}/logo.",
        group: Group::Catalog,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "brand_id",
        id_prefix: "MBRD",
        tables: &["brands"],
        fields: &[
            opt("brand_id", Id, "brand id; generated when omitted"),
            req("name", NAME, "brand name"),
        ],
    },
    FormDef {
        name: "campaigns",
        builder: Builder::Campaigns,
        title: "Campaign",
        title_zh: "活动",
        doc: "A sales campaign such as 618 or Double 11.",
        group: Group::Catalog,
        company_wide: true,
        serial: false,
        corrects: false,
        key: "campaign_id",
        id_prefix: "MCMP",
        tables: &["campaigns"],
        fields: &[
            opt("campaign_id", Id, "campaign id; generated when omitted"),
            req("name", NAME, "name"),
            opt(
                "platform",
                Enum(&["taobao", "tmall", "jd", "douyin", "pinduoduo", "internal"]),
                "platform; omit when all take part",
            ),
            req("start_date", Date, "first day"),
            req("end_date", Date, "last day"),
            opt("peak_date", Date, "the main day"),
        ],
    },
    FormDef {
        name: "shop_traffic",
        builder: Builder::ShopTraffic,
        title: "Shop traffic",
        title_zh: "店铺流量",
        doc: "Visitors and page views of a shop on a day (the id is SHOP:YYYY-MM-DD).",
        group: Group::Operations,
        company_wide: false,
        serial: false,
        corrects: false,
        key: "traffic_id",
        id_prefix: "",
        tables: &["shop_traffic"],
        fields: &[
            opt("traffic_id", Id, "derived: shop_id:traffic_date"),
            req("shop_id", Id, "shop").refs(Shop),
            req("traffic_date", Date, "date"),
            req(
                "visitors",
                Int {
                    min: 0,
                    max: 1_000_000_000,
                },
                "unique visitors (UV)",
            ),
            req(
                "page_views",
                Int {
                    min: 0,
                    max: 1_000_000_000,
                },
                "page views (PV)",
            ),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_writes_known_tables_and_has_its_key_field() {
        for f in FORMS {
            assert!(
                f.field(f.key).is_some(),
                "{}: no key field {}",
                f.name,
                f.key
            );
            for t in f.tables {
                assert!(
                    warehouse::schema::CATALOG.iter().any(|d| d.name == *t),
                    "{}: unknown table {t}",
                    f.name
                );
            }
        }
        let mut names: Vec<_> = FORMS.iter().map(|f| f.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FORMS.len(), "form names repeat");
    }
}
