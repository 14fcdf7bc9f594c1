//! Canonical codes for values platforms spell many ways: a shop's platform (`淘宝`, `Taobao`,
//! `天猫`…) and a payment's channel (`支付宝`, `微信支付`, `货到付款`…).
//!
//! Each function answers the schema's code, or `None` for a spelling it does not know: the
//! caller keeps the raw text and flags it (a log line; the conformance check lists it), so an
//! unknown value is visible rather than silently `unknown`.

/// The platform codes of `shops.platform` and `orders.platform`.
pub const PLATFORMS: &[&str] = &["taobao", "tmall", "jd", "douyin", "pinduoduo", "internal"];

/// The channel codes of `payments.channel`.
pub const PAYMENT_CHANNELS: &[&str] = &[
    "alipay",
    "wechat",
    "jdpay",
    "douyin_pay",
    "bank",
    "cash",
    "cod",
];

fn norm(raw: &str) -> String {
    raw.trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_' && *c != '-')
        .collect()
}

/// The platform code for `raw` (a code, an English or a Chinese name).
pub fn platform(raw: &str) -> Option<&'static str> {
    Some(match norm(raw).as_str() {
        "taobao" | "tb" | "淘宝" | "淘宝网" | "淘宝店" | "淘宝c店" => "taobao",
        "tmall" | "tm" | "天猫" | "天猫商城" | "天猫店" | "天猫旗舰店" => "tmall",
        "jd" | "jingdong" | "360buy" | "京东" | "京东商城" | "京东pop" => "jd",
        "douyin" | "dy" | "doudian" | "fxg" | "抖音" | "抖店" | "抖音小店" | "抖音电商" => {
            "douyin"
        }
        "pinduoduo" | "pdd" | "yangkeduo" | "拼多多" | "拼多多店" => "pinduoduo",
        "internal" | "own" | "offline" | "自有商城" | "自营" | "线下" | "门店" | "官网"
        | "内部" => "internal",
        _ => return None,
    })
}

/// The payment channel code for `raw` (a code, an English or a Chinese name).
pub fn payment_channel(raw: &str) -> Option<&'static str> {
    Some(match norm(raw).as_str() {
        "alipay" | "支付宝" | "支付宝支付" | "花呗" => "alipay",
        "wechat" | "weixin" | "wxpay" | "wechatpay" | "微信" | "微信支付" => "wechat",
        "jdpay" | "京东支付" | "京东白条" => "jdpay",
        "douyinpay" | "抖音支付" | "抖音月付" => "douyin_pay",
        "bank" | "banktransfer" | "银行转账" | "银行" | "对公转账" | "网银" => "bank",
        "cash" | "现金" => "cash",
        "cod" | "货到付款" | "到付" => "cod",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_and_channel_spellings_map_to_schema_codes() {
        for (raw, code) in [
            ("淘宝", "taobao"),
            ("Taobao", "taobao"),
            ("天猫", "tmall"),
            ("TMALL", "tmall"),
            ("京东", "jd"),
            ("抖音", "douyin"),
            ("抖店", "douyin"),
            ("拼多多", "pinduoduo"),
            ("PDD", "pinduoduo"),
            ("自有商城", "internal"),
            (" internal ", "internal"),
        ] {
            assert_eq!(platform(raw), Some(code), "{raw}");
        }
        for (raw, code) in [
            ("支付宝", "alipay"),
            ("微信支付", "wechat"),
            ("货到付款", "cod"),
            ("银行转账", "bank"),
            ("douyin_pay", "douyin_pay"),
            ("现金", "cash"),
        ] {
            assert_eq!(payment_channel(raw), Some(code), "{raw}");
        }
        assert_eq!(platform("亚马逊"), None);
        assert_eq!(payment_channel("积分"), None);
        for p in PLATFORMS {
            assert_eq!(platform(p), Some(*p));
        }
        for c in PAYMENT_CHANNELS {
            assert_eq!(payment_channel(c), Some(*c));
        }
    }
}
