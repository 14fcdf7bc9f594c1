//! Human labels of form fields, in English and Chinese, for the UI and the JSON Schemas
//! (`title` and `x-title-zh`). One dictionary by field name: a name means the same thing in
//! every form that uses it (`amount` is money, `status` a state), so a label is written once.
//! A test keeps every field of every form labelled.

/// `(field name, English label, Chinese label)`, sorted by name.
const LABELS: &[(&str, &str, &str)] = &[
    ("adjustment_id", "Adjustment no.", "改价单号"),
    ("allow_backorder", "Allow back-order", "允许缺货销售"),
    ("allow_preorder", "Allow pre-order", "允许预售"),
    ("amount", "Amount", "金额"),
    ("attributes", "Attributes", "属性"),
    ("barcode", "Barcode", "条码"),
    ("brand_id", "Brand", "品牌"),
    ("buyer_id", "Buyer", "买家"),
    ("campaign_id", "Campaign", "活动"),
    ("carrier", "Carrier", "快递公司"),
    ("category_id", "Category", "类目"),
    ("channel", "Channel", "渠道"),
    ("completed_at", "Completed at", "完成时间"),
    ("contact", "Contact", "联系人"),
    ("cost_price", "Cost price", "成本价"),
    ("count_id", "Count no.", "盘点单号"),
    ("counted_at", "Counted at", "盘点时间"),
    ("counted_qty", "Counted qty", "实盘数量"),
    ("created_at", "Created at", "创建时间"),
    ("department", "Department", "部门"),
    ("discount_amount", "Discount", "优惠金额"),
    ("employee_id", "Employee no.", "员工编号"),
    ("employee_name", "Employee name", "员工姓名"),
    ("end_date", "End date", "结束日期"),
    ("expense_id", "Expense no.", "费用单号"),
    ("freight_amount", "Freight", "运费"),
    ("gross_amount", "Gross pay", "应发工资"),
    ("high_stock", "High-stock alert", "库存上限预警"),
    ("is_cod", "Cash on delivery", "货到付款"),
    ("is_virtual", "Virtual goods", "虚拟商品"),
    ("kind", "Kind", "类型"),
    ("lead_time_days", "Lead time (days)", "采购周期（天）"),
    ("lifecycle", "Lifecycle", "生命周期"),
    ("lines", "Lines", "明细"),
    ("list_price", "List price", "标价"),
    ("location_id", "Location", "库位"),
    ("low_stock", "Low-stock alert", "库存下限预警"),
    ("moved_at", "Moved at", "出入库时间"),
    ("movement_id", "Movement no.", "出入库单号"),
    ("name", "Name", "名称"),
    ("note", "Note", "备注"),
    ("order_id", "Order no.", "订单号"),
    ("order_item_id", "Order line", "订单明细号"),
    ("ordered_at", "Ordered at", "下单时间"),
    ("page_views", "Page views", "浏览量"),
    ("paid_at", "Paid at", "付款时间"),
    ("paid_date", "Paid on", "付款日期"),
    ("paid_via_platform", "Paid via platform", "平台代扣"),
    ("parent_id", "Parent category", "上级类目"),
    ("payment_id", "Payment no.", "收款单号"),
    ("peak_date", "Peak day", "主推日"),
    ("period", "Month", "月份"),
    ("platform", "Platform", "平台"),
    ("po_id", "PO no.", "采购单号"),
    ("po_line_id", "PO line", "采购明细号"),
    ("promised_date", "Promised date", "承诺到货日"),
    ("qty", "Qty", "数量"),
    ("qty_accepted", "Qty accepted", "合格数量"),
    ("qty_received", "Qty received", "到货数量"),
    ("reason", "Reason", "原因"),
    ("receipt_id", "Receipt no.", "入库单号"),
    ("received_at", "Received at", "到货时间"),
    ("receiver_city", "City", "收货城市"),
    ("receiver_province", "Province", "收货省份"),
    ("refund_id", "Return case no.", "售后单号"),
    ("related_spu_ids", "Related products", "关联商品"),
    ("remittance_id", "Remittance no.", "回款单号"),
    ("remitted_at", "Remitted at", "回款时间"),
    ("request_id", "Request no.", "请购单号"),
    ("salary_id", "Salary line no.", "工资单号"),
    (
        "shipping_insurance_amount",
        "Return-freight insurance",
        "运费险理赔",
    ),
    ("shop_id", "Shop", "店铺"),
    ("sku_id", "SKU", "SKU 编码"),
    ("skus", "Variants", "规格（SKU）"),
    ("spend_date", "Spend date", "投放日期"),
    ("spu_id", "Product no.", "商品编号"),
    ("start_date", "Start date", "开始日期"),
    ("status", "Status", "状态"),
    ("style", "Style", "风格"),
    ("supplier_id", "Supplier", "供应商"),
    ("tracking_no", "Tracking no.", "运单号"),
    ("traffic_date", "Date", "日期"),
    ("traffic_id", "Traffic row no.", "流量记录号"),
    ("txn_no", "Transaction no.", "交易流水号"),
    ("unit_cost", "Unit cost", "单位成本"),
    ("unit_price", "Unit price", "单价"),
    ("visitors", "Visitors", "访客数"),
    ("warehouse_id", "Warehouse", "仓库"),
    ("weight_g", "Weight (g)", "重量（克）"),
];

/// The English and Chinese labels of a field, when it has them.
pub fn label(name: &str) -> Option<(&'static str, &'static str)> {
    LABELS
        .binary_search_by(|(n, _, _)| (*n).cmp(name))
        .ok()
        .map(|i| (LABELS[i].1, LABELS[i].2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::fields::{Field, Ty};

    fn unlabelled(fields: &[Field], form: &str, out: &mut Vec<String>) {
        for f in fields {
            if label(f.name).is_none() {
                out.push(format!("{form}.{}", f.name));
            }
            if let Ty::Lines(sub) = f.ty {
                unlabelled(sub, form, out);
            }
        }
    }

    #[test]
    fn the_dictionary_is_sorted_and_unique_so_lookups_find_every_entry() {
        for w in LABELS.windows(2) {
            assert!(w[0].0 < w[1].0, "{} must sort before {}", w[0].0, w[1].0);
        }
        for (name, en, zh) in LABELS {
            assert_eq!(label(name), Some((*en, *zh)));
        }
        assert_eq!(label("no_such_field"), None);
    }

    #[test]
    fn every_field_of_every_form_has_an_english_and_a_chinese_label() {
        let mut missing = Vec::new();
        for form in crate::forms::defs::FORMS {
            unlabelled(form.fields, form.name, &mut missing);
        }
        assert!(missing.is_empty(), "fields without a label: {missing:?}");
    }
}
