#!/usr/bin/env python3
"""Reconciliation + analytics suite: zhongtai (DataFusion over Delta) against DuckDB over the
same Parquet files, interleaved round by round; prints medians, ratios and the geometric mean.

Usage: bench-recon.py --bin target/release/zhongtai --data DATA_DIR --rounds 5 QUERY.sql ...

DuckDB reads the active files of each Delta table (from its JSON log) with read_parquet; it
gets the same 2 cores. Each round starts a fresh zhongtai process (session setup not timed)
and a fresh DuckDB connection (view creation not timed); every query runs once per round.
The SQL is the same text, with dialect shims for DuckDB: to_unixtime() -> epoch(),
to_char(d, fmt) -> strftime(d, fmt), CAST(date AS INT) -> date - DATE '1970-01-01', and
integer division `a / 10` -> `a // 10` (DuckDB's `/` is a float division). Row counts of the
two engines are compared, so a shim that changed a result would show.
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import subprocess
import time
import urllib.parse

import duckdb


def active_files(table_dir):
    """Paths of the table's current data files, replaying the JSON commits of its Delta log."""
    files = {}
    for commit in sorted(glob.glob(os.path.join(table_dir, "_delta_log", "*.json"))):
        with open(commit) as f:
            for line in f:
                action = json.loads(line)
                if "add" in action:
                    files[action["add"]["path"]] = True
                elif "remove" in action:
                    files.pop(action["remove"]["path"], None)
    if glob.glob(os.path.join(table_dir, "_delta_log", "*.checkpoint.parquet")):
        raise SystemExit(f"{table_dir}: checkpoints are not supported by this script")
    return [os.path.join(table_dir, urllib.parse.unquote(p)) for p in files]


def duck_sql(sql):
    sql = sql.replace("to_unixtime(", "epoch(").replace("to_char(", "strftime(")
    # DataFusion counts days with CAST(date AS INT); DuckDB subtracts dates.
    sql = re.sub(r"CAST\((\w+) AS INT\)", r"(\1 - DATE '1970-01-01')", sql)
    return re.sub(r"(\w|\))\s*/\s*(\d+)\b", r"\1 // \2", sql)


def duck_round(lake, queries):
    con = duckdb.connect()
    con.execute("SET threads = 2")
    for t in sorted(os.listdir(lake)):
        files = active_files(os.path.join(lake, t))
        if files:
            lst = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(f"CREATE VIEW {t} AS SELECT * FROM read_parquet([{lst}])")
    out = {}
    for name, sql in queries:
        start = time.perf_counter()
        table = con.sql(duck_sql(sql)).to_arrow_table()
        out[name] = ((time.perf_counter() - start) * 1000.0, table.num_rows)
    con.close()
    return out


def zt_round(binary, data, files, settings):
    sets = [a for kv in settings for a in ("--set", kv)]
    res = subprocess.run([binary, "--data-dir", data, "bench-sql", *sets, *files],
                         check=True, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        r = json.loads(line)
        out[r["query"]] = (r["ms"], r["rows"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--set", action="append", default=[], help="DataFusion option KEY=VALUE")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    queries = [(os.path.splitext(os.path.basename(f))[0], open(f).read()) for f in a.files]
    lake = os.path.join(a.data, "lake")
    zt, dk = {}, {}
    for r in range(a.rounds):
        # Interleave: alternate which engine goes first.
        order = [("zt", lambda: zt_round(a.bin, a.data, a.files, a.set)), ("dk", lambda: duck_round(lake, queries))]
        if r % 2:
            order.reverse()
        for who, fn in order:
            for name, v in fn().items():
                (zt if who == "zt" else dk).setdefault(name, []).append(v)
    print(f"| query | zhongtai median ms | DuckDB median ms | ratio | rows (zt / duckdb) |")
    print("|---|---:|---:|---:|---|")
    logs = []
    for name, _ in queries:
        zm = statistics.median(v[0] for v in zt[name])
        dm = statistics.median(v[0] for v in dk[name])
        zr, dr = zt[name][0][1], dk[name][0][1]
        ratio = zm / dm if dm > 0 else float("inf")
        logs.append(math.log(ratio))
        flag = "" if zr == dr else " MISMATCH"
        print(f"| {name} | {zm:.1f} | {dm:.1f} | {ratio:.2f} | {zr} / {dr}{flag} |")
    print(f"\ngeomean ratio (zhongtai / DuckDB) over {len(queries)} queries, {a.rounds} rounds: "
          f"{math.exp(sum(logs) / len(logs)):.2f}")


if __name__ == "__main__":
    main()
