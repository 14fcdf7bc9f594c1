//! Dimension rows: shops (with their contract fee rates), brands, the category tree, products, warehouses and locations,
//! suppliers and campaigns.

use super::Gen;
use super::clock::{US_PER_DAY, midnight_us};
use super::world::{BRANDS, CATEGORIES, SHOPS, STYLES, WAREHOUSES};

impl Gen {
    pub(crate) fn dimensions(&mut self) {
        let opened = midnight_us(self.first) - 900 * US_PER_DAY;
        for s in SHOPS {
            self.bufs
                .shops
                .text("shop_id", s.id)
                .text("platform", s.platform)
                .text("name", s.name)
                .text("seller_nick", s.nick)
                .ts("opened_at", opened)
                .end();
            if s.platform != "internal" {
                for (kind, bp) in [("commission", s.commission_bp), ("fee", s.fee_bp)] {
                    let r = &mut self.bufs.fee_rates;
                    r.text("shop_id", s.id)
                        .text("kind", kind)
                        .int("rate_bp", bp)
                        .date("valid_from", self.first - 900)
                        .null("valid_to")
                        .end();
                }
            }
        }
        for (i, b) in BRANDS.iter().enumerate() {
            self.bufs
                .brands
                .text_fmt("brand_id", format_args!("B{:02}", i + 1))
                .text("name", b)
                .null("logo_path")
                .end();
        }
        for (t, (top, subs)) in CATEGORIES.iter().enumerate() {
            self.bufs
                .categories
                .text_fmt("category_id", format_args!("C{:02}", t + 1))
                .null("parent_id")
                .text("name", top)
                .int("level", 1)
                .text("path", top)
                .end();
            for (s, sub) in subs.iter().enumerate() {
                let c = &mut self.bufs.categories;
                c.text_fmt("category_id", format_args!("C{:02}-{:02}", t + 1, s + 1))
                    .text_fmt("parent_id", format_args!("C{:02}", t + 1))
                    .text("name", sub)
                    .int("level", 2);
                c.text_fmt("path", format_args!("{top} > {sub}")).end();
            }
        }
        let n_spus = self.world.spus.len();
        for (i, p) in self.world.spus.iter().enumerate() {
            let (top, sub) = self.world.leaves[p.category];
            let related = format!(
                "{},{}",
                self.world.spus[(i + 1) % n_spus].id,
                self.world.spus[(i + 7) % n_spus].id
            );
            let b = &mut self.bufs.spus;
            b.text("spu_id", &p.id).text("name", &p.name);
            b.text_fmt(
                "category_id",
                format_args!("C{:02}-{:02}", top + 1, sub + 1),
            )
            .text_fmt("brand_id", format_args!("B{:02}", p.brand + 1))
            .text("style", STYLES[p.style])
            .text("related_spu_ids", &related)
            .ts("created_at", opened)
            .end();
        }
        for (k, s) in self.world.skus.iter().enumerate() {
            let b = &mut self.bufs.skus;
            b.text("sku_id", &s.id)
                .text("spu_id", &self.world.spus[s.spu].id)
                .text("name", &s.name)
                .text("attributes", &s.attrs);
            b.text_fmt("barcode", format_args!("69{:011}", k * 37 + 1_000_000))
                .bool("is_virtual", s.is_virtual)
                .bool("allow_preorder", k % 50 == 0)
                .bool("allow_backorder", k % 7 == 0);
            let lifecycle = if k % 97 == 0 {
                "discontinued"
            } else {
                "active"
            };
            b.text("lifecycle", lifecycle)
                .money("list_price", s.price)
                .money("cost_price", s.cost);
            if s.is_virtual {
                b.null("weight_g").null("low_stock").null("high_stock");
            } else {
                let d = self.demand[k];
                b.int("weight_g", s.weight_g)
                    .int("low_stock", (d * 5.0).ceil() as i64)
                    .int("high_stock", (d * 120.0).ceil() as i64 + 50);
            }
            b.end();
        }
        for (w, (id, name, city)) in WAREHOUSES.iter().enumerate() {
            self.bufs
                .warehouses
                .text("warehouse_id", id)
                .text("name", name)
                .text("city", city)
                .end();
            let mut n = 0;
            for (k, s) in self
                .world
                .skus
                .iter()
                .enumerate()
                .filter(|(_, s)| s.warehouse == w && !s.is_virtual)
            {
                n += 1;
                let zone = ["A", "B", "C", "D"][n % 4];
                let l = &mut self.bufs.locations;
                l.text_fmt("location_id", format_args!("L{}-{:05}", w + 1, k + 1))
                    .text("warehouse_id", id)
                    .text_fmt(
                        "code",
                        format_args!("{zone}-{:02}-{:02}", n / 40 + 1, n % 40 + 1),
                    );
                l.text("zone", zone)
                    .int("capacity", 500)
                    .text("sku_id", &s.id)
                    .end();
            }
            for f in 0..(n / 7).max(3) {
                let l = &mut self.bufs.locations;
                l.text_fmt("location_id", format_args!("L{}-F{:04}", w + 1, f + 1))
                    .text("warehouse_id", id)
                    .text_fmt(
                        "code",
                        format_args!("E-{:02}-{:02}", f / 40 + 1, f % 40 + 1),
                    );
                l.text("zone", "E")
                    .int("capacity", 500)
                    .null("sku_id")
                    .end();
            }
        }
        for s in &self.world.suppliers {
            self.bufs
                .suppliers
                .text("supplier_id", &s.id)
                .text("name", &s.name)
                .text("contact", "业务经理")
                .int("lead_time_days", s.lead_days)
                .end();
        }
        for c in &self.campaigns {
            self.bufs
                .campaigns
                .text("campaign_id", &c.id)
                .text("name", c.name)
                .null("platform")
                .date("start_date", c.start)
                .date("end_date", c.end)
                .date("peak_date", c.peak)
                .end();
        }
    }
}
