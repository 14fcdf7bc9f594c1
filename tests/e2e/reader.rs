//! The lake is standard Delta Lake: an independent reader (the Python `deltalake` package,
//! delta-rs's Python build, plus pyarrow) reads what zhongtai wrote.

use std::process::Command;

use crate::support::{Lake, fen, int};

#[test]
fn python_deltalake_reads_the_orders_table() {
    let lake = Lake::new();
    lake.ok(&[
        "demo",
        "--orders",
        "3000",
        "--skus",
        "100",
        "--days",
        "40",
        "--end-date",
        "2026-11-24",
    ]);
    let r = lake.query("select count(*) as n, sum(pay_amount) as paid from orders");
    let (n, paid) = (int(&r[0]["n"]), fen(&r[0]["paid"]));
    let table = lake.path().join("lake").join("orders");
    let script = r#"
import sys
from deltalake import DeltaTable
t = DeltaTable(sys.argv[1])
a = t.to_pyarrow_table(columns=["pay_amount"])
col = a.column("pay_amount")
total = sum(v.as_py() for v in col if v.is_valid)
print(a.num_rows, int(total * 100), t.version(), col.type, flush=True)
# The reading is done; skip interpreter teardown, where deltalake's native threads sometimes
# abort ("terminate called without an active exception"; delta-io/delta-rs#2184).
import os
os._exit(0)
"#;
    let python = std::env::var("ZHONGTAI_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&table)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "the independent reader failed; install it with scripts/setup-test-tools.sh\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts[0].parse::<i64>().expect("rows"), n);
    assert_eq!(parts[1].parse::<i64>().expect("fen"), paid);
    assert_eq!(
        parts[3..].join(" "),
        "decimal128(18, 2)",
        "money is a decimal for other engines too: {text}"
    );
}
