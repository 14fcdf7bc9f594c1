#!/usr/bin/env python3
"""Fuzz the SQL guard through the real server: random deep and wide queries against
`zhongtai serve` on a demo lake, checking after each that the server is alive and answers
/healthz, and recording its peak RSS.

    scripts/fuzz-sql.py [--cases 2000] [--seed 1] [--bin target/release/zhongtai] [--memory-mb 256]

Prints one summary line (cases, answers by status class, crashes, 5xx, slowest answer, peak
RSS) and exits non-zero on any crash or 5xx. Results go to BENCHMARKS.md by hand, with the
machine and date.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LEAVES = ["1", "2.50", "-7", "'x'", "'%a_'", "NULL", "order_id", "pay_amount", "shop_id", "TRUE"]
BINARY = [" + ", " - ", " * ", " / ", " || ", " AND ", " OR ", " = ", " < ", " <> ", " LIKE "]
BIG = [0, 1, 10, 1000, 10**5, 10**6, 10**7, 10**8, 2**31 - 1, 2**62]


def leaf(r):
    return r.choice(LEAVES)


def expr(r, depth):
    """A random expression; `depth` bounds recursion in this script, not in the SQL."""
    if depth <= 0:
        return leaf(r)
    k = r.randrange(12)
    if k == 0:  # a long chain of one operator (the stack-overflow shape)
        n = r.choice([2, 10, 100, 500, 999, 1001, 1500, 2000, 4000])
        return r.choice(BINARY).join(expr(r, 0) for _ in range(n))
    if k == 1:  # deep parentheses
        d = r.choice([1, 10, 50, 64, 65, 100, 400])
        return "(" * d + expr(r, depth - 1) + ")" * d
    if k == 2:
        return f"repeat({r.choice(['order_id', chr(39) + 'ab' + chr(39)])}, {r.choice(BIG)})"
    if k == 3:
        return f"{r.choice(['lpad', 'rpad'])}({expr(r, 0)}, {r.choice(BIG)})"
    if k == 4:
        return f"cardinality({r.choice(['range', 'generate_series'])}(1, {r.choice(BIG)}))"
    if k == 5:
        return f"cardinality(array_repeat({expr(r, 0)}, {r.choice(BIG)}))"
    if k == 6:
        return f"length(replace(repeat('a', {r.choice(BIG[:6])}), 'a', repeat('b', {r.choice(BIG[:6])})))"
    if k == 7:  # CASE with many arms
        n = r.choice([1, 10, 300, 1200])
        arms = " ".join(f"WHEN {expr(r, 0)} THEN {i}" for i in range(n))
        return f"CASE {arms} ELSE 0 END"
    if k == 8:  # a wide IN list
        n = r.choice([1, 100, 5000, 20000])
        return f"{leaf(r)} IN ({', '.join(str(i) for i in range(n))})"
    if k == 9:  # nested scalar subqueries
        d = r.choice([1, 5, 30, 60])
        q = "SELECT 1"
        for _ in range(d):
            q = f"SELECT ({q})"
        return f"({q})"
    if k == 10:
        return f"{r.choice(['upper', 'abs', 'coalesce', 'length'])}({expr(r, depth - 1)})"
    return expr(r, depth - 1) + r.choice(BINARY) + expr(r, depth - 1)


def query(r):
    e = expr(r, 3)
    shape = r.randrange(4)
    if shape == 0:
        return f"SELECT {e}"
    if shape == 1:
        return f"SELECT {e} FROM orders LIMIT 5"
    if shape == 2:
        return f"SELECT count(*) FROM orders WHERE {e}"
    return f"SELECT sum(length(CAST({e} AS VARCHAR))) FROM orders a, orders b"


def post(base, token, sql, timeout=60):
    req = urllib.request.Request(
        base + "/api/v1/query",
        data=json.dumps({"sql": sql}).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def healthz(base):
    t = time.monotonic()
    with urllib.request.urlopen(base + "/healthz", timeout=30) as resp:
        resp.read()
        assert resp.status == 200
    return time.monotonic() - t


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="target/release/zhongtai")
    ap.add_argument("--memory-mb", type=int, default=256)
    a = ap.parse_args()
    data = tempfile.mkdtemp(prefix="zt-fuzz-")
    run = lambda *args: subprocess.run([a.bin, "--data-dir", data, *args], check=True,
                                       capture_output=True, text=True).stdout
    run("demo", "--orders", "300", "--days", "20", "--direct", "--end-date", "2026-11-20")
    token = run("token", "create", "--role", "admin").strip()
    srv = subprocess.Popen(
        [a.bin, "--data-dir", data, "serve", "--addr", "127.0.0.1:0",
         "--query-memory-mb", str(a.memory_mb), "--query-timeout-s", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    base = None
    for line in srv.stdout:
        if line.startswith("listening on "):
            base = line.strip().removeprefix("listening on ")
            break
    r = random.Random(a.seed)
    counts, crashes, slowest, worst_health = {}, 0, 0.0, 0.0
    jumps, last_peak = [], peak_rss_mb(srv.pid)
    try:
        for i in range(a.cases):
            sql = query(r)
            t = time.monotonic()
            try:
                st = post(base, token, sql)
            except Exception as e:  # connection reset: the server may be gone
                st = f"error:{type(e).__name__}"
            slowest = max(slowest, time.monotonic() - t)
            key = st if isinstance(st, str) else f"{st // 100}xx"
            counts[key] = counts.get(key, 0) + 1
            if srv.poll() is not None:
                crashes += 1
                print(f"case {i}: the server died; query starts {sql[:200]!r}", file=sys.stderr)
                break
            if key == "5xx":
                print(f"case {i}: {st}; query starts {sql[:200]!r}", file=sys.stderr)
            worst_health = max(worst_health, healthz(base))
            peak_now = peak_rss_mb(srv.pid)
            if peak_now > last_peak:
                jumps.append((peak_now - last_peak, peak_now, i, st, sql[:160]))
                last_peak = peak_now
        peak = peak_rss_mb(srv.pid) if srv.poll() is None else -1
    finally:
        srv.terminate()
        srv.wait()
    for d, p, i, st, q in sorted(jumps, reverse=True)[:5]:
        print(f"peak +{d} MiB to {p} MiB at case {i} ({st}): {q!r}", file=sys.stderr)
    print(json.dumps({
        "cases": sum(counts.values()), "answers": counts, "crashes": crashes,
        "slowest_answer_s": round(slowest, 2), "worst_healthz_s": round(worst_health, 3),
        "peak_rss_mb": peak, "query_memory_mb": a.memory_mb, "seed": a.seed,
    }))
    sys.exit(1 if crashes or counts.get("5xx") else 0)


if __name__ == "__main__":
    main()
