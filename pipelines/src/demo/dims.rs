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
                .s(s.id)
                .s(s.platform)
                .s(s.name)
                .s(s.nick)
                .t(opened)
                .end();
            if s.platform != "internal" {
                for (kind, bp) in [("commission", s.commission_bp), ("fee", s.fee_bp)] {
                    let r = &mut self.bufs.fee_rates;
                    r.s(s.id).s(kind).i(bp).d(self.first - 900).null().end();
                }
            }
        }
        for (i, b) in BRANDS.iter().enumerate() {
            self.bufs
                .brands
                .f(format_args!("B{:02}", i + 1))
                .s(b)
                .null()
                .end();
        }
        for (t, (top, subs)) in CATEGORIES.iter().enumerate() {
            self.bufs
                .categories
                .f(format_args!("C{:02}", t + 1))
                .null()
                .s(top)
                .i(1)
                .s(top)
                .end();
            for (s, sub) in subs.iter().enumerate() {
                let c = &mut self.bufs.categories;
                c.f(format_args!("C{:02}-{:02}", t + 1, s + 1))
                    .f(format_args!("C{:02}", t + 1))
                    .s(sub)
                    .i(2);
                c.f(format_args!("{top} > {sub}")).end();
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
            b.s(&p.id)
                .s(&p.name)
                .f(format_args!("C{:02}-{:02}", top + 1, sub + 1));
            b.f(format_args!("B{:02}", p.brand + 1))
                .s(STYLES[p.style])
                .s(&related)
                .t(opened)
                .end();
        }
        for (k, s) in self.world.skus.iter().enumerate() {
            let b = &mut self.bufs.skus;
            b.s(&s.id)
                .s(&self.world.spus[s.spu].id)
                .s(&s.name)
                .s(&s.attrs);
            b.f(format_args!("69{:011}", k * 37 + 1_000_000))
                .b(s.is_virtual)
                .b(k % 50 == 0)
                .b(k % 7 == 0);
            b.s(if k % 97 == 0 {
                "discontinued"
            } else {
                "active"
            })
            .m(s.price)
            .m(s.cost);
            if s.is_virtual {
                b.null().null().null();
            } else {
                let d = self.demand[k];
                b.i(s.weight_g)
                    .i((d * 5.0).ceil() as i64)
                    .i((d * 120.0).ceil() as i64 + 50);
            }
            b.end();
        }
        for (w, (id, name, city)) in WAREHOUSES.iter().enumerate() {
            self.bufs.warehouses.s(id).s(name).s(city).end();
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
                l.f(format_args!("L{}-{:05}", w + 1, k + 1))
                    .s(id)
                    .f(format_args!("{zone}-{:02}-{:02}", n / 40 + 1, n % 40 + 1));
                l.s(zone).i(500).s(&s.id).end();
            }
            for f in 0..(n / 7).max(3) {
                let l = &mut self.bufs.locations;
                l.f(format_args!("L{}-F{:04}", w + 1, f + 1))
                    .s(id)
                    .f(format_args!("E-{:02}-{:02}", f / 40 + 1, f % 40 + 1));
                l.s("E").i(500).null().end();
            }
        }
        for s in &self.world.suppliers {
            self.bufs
                .suppliers
                .s(&s.id)
                .s(&s.name)
                .s("业务经理")
                .i(s.lead_days)
                .end();
        }
        for c in &self.campaigns {
            self.bufs
                .campaigns
                .s(&c.id)
                .s(c.name)
                .null()
                .d(c.start)
                .d(c.end)
                .d(c.peak)
                .end();
        }
    }
}
