//! The static part of the demo world: shops, catalog, warehouses, suppliers, staff, carriers.
//! Everything is drawn from the seeded RNG, so the same seed gives the same world.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A shop and how its platform behaves.
#[derive(Debug, Clone)]
pub(crate) struct Shop {
    pub id: &'static str,
    pub platform: &'static str,
    pub name: &'static str,
    pub nick: &'static str,
    /// Share of all orders.
    pub weight: f64,
    /// Platform commission in basis points of the paid amount.
    pub commission_bp: i64,
    /// Payment/technical service fee in basis points.
    pub fee_bp: i64,
    /// Share of orders paid cash on delivery.
    pub cod_share: f64,
    /// Visitors → orders conversion.
    pub conversion: f64,
}

pub(crate) const SHOPS: &[Shop] = &[
    Shop {
        id: "jst:10001",
        platform: "taobao",
        name: "栖木家居淘宝店",
        nick: "qimu_home",
        weight: 0.22,
        commission_bp: 0,
        fee_bp: 60,
        cod_share: 0.0,
        conversion: 0.032,
    },
    Shop {
        id: "jst:10002",
        platform: "tmall",
        name: "栖木家居旗舰店",
        nick: "qimu旗舰店",
        weight: 0.30,
        commission_bp: 500,
        fee_bp: 60,
        cod_share: 0.0,
        conversion: 0.041,
    },
    Shop {
        id: "jst:10003",
        platform: "jd",
        name: "栖木家居京东旗舰店",
        nick: "qimu_jd",
        weight: 0.18,
        commission_bp: 600,
        fee_bp: 60,
        cod_share: 0.0,
        conversion: 0.038,
    },
    Shop {
        id: "jst:10004",
        platform: "douyin",
        name: "栖木家居抖音小店",
        nick: "qimu_dy",
        weight: 0.15,
        commission_bp: 500,
        fee_bp: 60,
        cod_share: 0.0,
        conversion: 0.024,
    },
    Shop {
        id: "jst:10005",
        platform: "taobao",
        name: "栖木生活馆",
        nick: "qimu_life",
        weight: 0.07,
        commission_bp: 0,
        fee_bp: 60,
        cod_share: 0.0,
        conversion: 0.027,
    },
    Shop {
        id: "jst:10006",
        platform: "internal",
        name: "栖木私域商城",
        nick: "qimu_wx",
        weight: 0.08,
        commission_bp: 0,
        fee_bp: 0,
        cod_share: 0.3,
        conversion: 0.055,
    },
];

pub(crate) const CARRIERS: &[(&str, &str)] = &[
    ("zto", "ZT"),
    ("yto", "YT"),
    ("yunda", "YD"),
    ("sto", "ST"),
    ("sf", "SF"),
    ("jd", "JDVA"),
    ("ems", "EM"),
];

/// (province, city, zone): zone 0 is near the east-China warehouses, 3 is remote.
pub(crate) const DESTINATIONS: &[(&str, &str, u8, f64)] = &[
    ("浙江", "杭州", 0, 0.10),
    ("上海", "上海", 0, 0.09),
    ("江苏", "南京", 0, 0.09),
    ("广东", "广州", 1, 0.08),
    ("广东", "深圳", 1, 0.07),
    ("北京", "北京", 1, 0.08),
    ("山东", "济南", 1, 0.06),
    ("四川", "成都", 2, 0.06),
    ("湖北", "武汉", 1, 0.05),
    ("河南", "郑州", 1, 0.05),
    ("福建", "厦门", 1, 0.04),
    ("陕西", "西安", 2, 0.04),
    ("湖南", "长沙", 1, 0.04),
    ("重庆", "重庆", 2, 0.03),
    ("辽宁", "沈阳", 2, 0.03),
    ("云南", "昆明", 2, 0.02),
    ("黑龙江", "哈尔滨", 2, 0.02),
    ("广西", "南宁", 2, 0.02),
    ("新疆", "乌鲁木齐", 3, 0.01),
    ("西藏", "拉萨", 3, 0.005),
];

pub(crate) const WAREHOUSES: &[(&str, &str, &str)] = &[
    ("W01", "杭州主仓", "杭州"),
    ("W02", "广州仓", "广州"),
    ("W03", "天津仓", "天津"),
];

pub(crate) const CATEGORIES: &[(&str, &[&str])] = &[
    ("家纺", &["床品四件套", "枕头", "被子", "毛巾浴巾"]),
    ("收纳", &["收纳箱", "衣架", "置物架"]),
    ("厨房", &["锅具", "餐具", "保鲜盒", "刀具"]),
    ("家居饰品", &["香薰", "花瓶", "挂画"]),
    ("清洁", &["拖把", "垃圾桶", "清洁剂"]),
];

pub(crate) const BRANDS: &[&str] = &[
    "栖木", "木语", "素居", "NORDHOME", "简物", "宜趣", "暖白", "山野",
];
pub(crate) const STYLES: &[&str] = &["简约", "北欧", "日式", "复古", "轻奢", "田园"];
pub(crate) const COLOURS: &[&str] = &["白", "灰", "原木", "黑", "米", "蓝", "粉"];
pub(crate) const SIZES: &[&str] = &["S", "M", "L", "XL", "1.5m", "1.8m"];
const PRICE_POINTS: &[i64] = &[
    990, 1990, 2990, 3900, 4900, 5900, 6900, 7900, 8900, 9900, 12900, 15900, 19900, 25900, 29900,
    39900, 49900, 69900, 99900,
];

pub(crate) const DEPARTMENTS: &[(&str, usize, i64)] = &[
    ("operations", 7, 950_000),
    ("customer_service", 6, 620_000),
    ("warehouse", 5, 580_000),
    ("finance", 2, 880_000),
    ("design", 2, 900_000),
    ("management", 2, 2_200_000),
];
pub(crate) const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙",
];
pub(crate) const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "杰", "婷", "强", "丽", "军",
];

/// A SKU with everything the generator needs at order time.
#[derive(Debug, Clone)]
pub(crate) struct Sku {
    pub id: String,
    pub spu: usize,
    pub price: i64,
    pub cost: i64,
    pub weight_g: i64,
    pub warehouse: usize,
    pub supplier: usize,
    pub is_virtual: bool,
    pub attrs: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Spu {
    pub id: String,
    pub name: String,
    pub category: usize,
    pub brand: usize,
    pub style: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Supplier {
    pub id: String,
    pub name: String,
    pub lead_days: i64,
}

/// The catalog and partners.
#[derive(Debug)]
pub(crate) struct World {
    pub spus: Vec<Spu>,
    pub skus: Vec<Sku>,
    /// Cumulative popularity (Zipf over a shuffled ranking), for sampling SKUs.
    pub popularity_cdf: Vec<f64>,
    /// Each SKU's share of demand.
    pub popularity: Vec<f64>,
    pub suppliers: Vec<Supplier>,
    pub shop_cdf: Vec<f64>,
    pub dest_cdf: Vec<f64>,
    /// (leaf category index into CATEGORIES flattening, top index)
    pub leaves: Vec<(usize, usize)>,
}

pub(crate) fn cdf(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut v: Vec<f64> = weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    for x in &mut v {
        *x /= acc;
    }
    v
}

/// Samples an index from a cumulative distribution.
pub(crate) fn pick(cdf: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let u: f64 = rng.random();
    cdf.partition_point(|&c| c < u).min(cdf.len() - 1)
}

impl World {
    pub(crate) fn generate(n_skus: usize, rng: &mut ChaCha8Rng) -> World {
        let leaves: Vec<(usize, usize)> = CATEGORIES
            .iter()
            .enumerate()
            .flat_map(|(top, (_, subs))| (0..subs.len()).map(move |s| (top, s)))
            .collect();
        let suppliers: Vec<Supplier> = (0..12)
            .map(|i| Supplier {
                id: format!("SUP{:03}", i + 1),
                name: format!(
                    "{}{}制品有限公司",
                    ["义乌", "佛山", "南通", "曹县", "宁波", "潮州"][i % 6],
                    ["恒", "盛", "华", "美", "佳", "鑫"][i / 2 % 6]
                ),
                lead_days: rng.random_range(5..=20),
            })
            .collect();
        let n_spus = (n_skus / 5).max(1);
        let mut spus = Vec::with_capacity(n_spus);
        let mut skus = Vec::with_capacity(n_skus);
        for s in 0..n_spus {
            let leaf = rng.random_range(0..leaves.len());
            let (top, sub) = leaves[leaf];
            let style = rng.random_range(0..STYLES.len());
            let brand = rng.random_range(0..BRANDS.len());
            let name = format!(
                "{}{}{}",
                BRANDS[brand], STYLES[style], CATEGORIES[top].1[sub]
            );
            spus.push(Spu {
                id: format!("SPU{:05}", s + 1),
                name,
                category: leaf,
                brand,
                style,
            });
        }
        // Price points skew cheap: pick with weights falling by index.
        let price_cdf = cdf((0..PRICE_POINTS.len()).map(|i| 1.0 / (1.0 + i as f64 * 0.35)));
        let mut spu_price = Vec::with_capacity(n_spus);
        for _ in 0..n_spus {
            spu_price.push(PRICE_POINTS[pick(&price_cdf, rng)]);
        }
        for k in 0..n_skus {
            let spu = k % n_spus;
            let colour = COLOURS[rng.random_range(0..COLOURS.len())];
            let size = SIZES[(k / n_spus) % SIZES.len()];
            let price = spu_price[spu] + 1000 * ((k / n_spus) as i64 % 3);
            let cost = price * rng.random_range(42..=62) / 100;
            skus.push(Sku {
                id: format!("SKU{:06}", k + 1),
                spu,
                price,
                cost,
                weight_g: rng.random_range(2..=50) * 100,
                warehouse: if rng.random_bool(0.6) {
                    0
                } else {
                    rng.random_range(1..WAREHOUSES.len())
                },
                supplier: rng.random_range(0..suppliers.len()),
                is_virtual: rng.random_bool(0.005),
                attrs: format!("{{\"颜色\":\"{colour}\",\"尺寸\":\"{size}\"}}"),
                name: format!("{} {colour} {size}", spus[spu].name),
            });
        }
        // Zipf(s = 1.07) popularity over a shuffled ranking.
        let mut ranks: Vec<usize> = (0..n_skus).collect();
        for i in (1..n_skus).rev() {
            ranks.swap(i, rng.random_range(0..=i));
        }
        let mut popularity = vec![0.0; n_skus];
        for (rank, &k) in ranks.iter().enumerate() {
            popularity[k] = 1.0 / ((rank + 1) as f64).powf(1.07);
        }
        let total: f64 = popularity.iter().sum();
        for p in &mut popularity {
            *p /= total;
        }
        World {
            popularity_cdf: cdf(popularity.iter().copied()),
            popularity,
            spus,
            skus,
            suppliers,
            shop_cdf: cdf(SHOPS.iter().map(|s| s.weight)),
            dest_cdf: cdf(DESTINATIONS.iter().map(|d| d.3)),
            leaves,
        }
    }
}
