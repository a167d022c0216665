#!/usr/bin/env python3
"""Signal -> place-order latency of a live loms-server against the fake Bitget.

Run mode (`--loms URL --fake URL --signals N --rate R --out FILE`): sends N signals to
POST /signals/bounce, one at a time on one keep-alive connection, R a second (paced so
the executor's workers never queue: each entry holds a worker for about five venue round
trips), symbol SYM0001USDT.. (one each: live holds one position per symbol), noting the
system clock (Unix us) just before each request is written and after its answer. It
then waits until the fake has N place-orders, reads the fake's request log
(GET /fake/requests: arrival and answer times, same clock) and writes, per signal:

- raw:   place-order arrival at the fake - signal send time (an upper bound of LOMS's
         time: it includes the HTTP hops on loopback, both ways);
- venue: the fake's own time in the requests LOMS made for that signal before the
         place-order (answer - arrival): the tickers fetch of the entry quote (the
         one that arrived while the signal was being answered), the contract rules
         (contracts?symbol=), set-margin-mode and set-leverage (a symbol's first entry);
- own:   raw - venue: LOMS's own time, network hops included.

Summary mode (`--summarize FILE...`): one markdown block over all the files.
Burst mode (`--burst --loms URL --signals N --concurrency C`): what the bot sees.
Only 127.0.0.1 is contacted.
"""
import argparse
import http.client
import json
import sys
import time
import urllib.parse


def now_us():
    return time.time_ns() // 1000


def get_json(base, path):
    u = urllib.parse.urlparse(base)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        sys.exit(f"GET {path}: {r.status} {body[:200]!r}")
    return json.loads(body)


def run(a):
    u = urllib.parse.urlparse(a.loms)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    sent = []
    period = 1.0 / a.rate
    start = time.monotonic()
    for i in range(1, a.signals + 1):
        wake = start + (i - 1) * period
        pause = wake - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        symbol = f"SYM{i + a.first - 1:04d}USDT"
        side = "long" if i % 2 == 0 else "short"
        body = json.dumps({"symbol": symbol, "side": side, "price": 100, "timestamp": a.ts_base + i,
                           "exchange": "bitget", "timeframe_min": 5,
                           "strategy": "bounce_ema10_strict", "tp_pct": 4.5, "sl_pct": 1.5})
        t0 = now_us()
        conn.request("POST", "/signals/bounce", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        answer = r.read()
        t1 = now_us()
        if r.status != 200 or b'"risk_ok":true' not in answer:
            sys.exit(f"signal {i}: {r.status} {answer[:300]!r}")
        sent.append((symbol, t0, t1))
    conn.close()
    deadline = time.monotonic() + 120
    while True:
        places = get_json(a.fake, "/fake/requests?path=/api/v2/mix/order/place-order")["data"]
        if len({q["symbol"] for q in places} & {s for s, _, _ in sent}) >= a.signals:
            break
        if time.monotonic() > deadline:
            sys.exit(f"only {len(places)} of {a.signals} place-orders reached the fake")
        time.sleep(0.5)
    log = get_json(a.fake, "/fake/requests")["data"]
    place_at = {}
    for q in log:
        if q["path"].endswith("/place-order"):
            place_at.setdefault(q["symbol"], q["receivedUs"])
    held = {}  # symbol -> venue time of its requests before the place-order
    for q in log:
        sym = q["symbol"]
        if sym and q["answeredUs"] and not q["path"].endswith("/place-order") \
                and q["receivedUs"] < place_at.get(sym, 0):
            held[sym] = held.get(sym, 0) + q["answeredUs"] - q["receivedUs"]
    tickers = [q for q in log if q["path"].endswith("/market/tickers")]
    rows = []
    for symbol, t0, t1 in sent:
        quote = [q for q in tickers if t0 <= q["receivedUs"] <= t1 and q["answeredUs"]]
        quote_us = quote[0]["answeredUs"] - quote[0]["receivedUs"] if quote else 0
        raw = place_at[symbol] - t0
        venue = held.get(symbol, 0) + quote_us
        rows.append({"symbol": symbol, "raw_us": raw, "venue_us": venue, "own_us": raw - venue,
                     "answer_us": t1 - t0, "quote_us": quote_us})
    with open(a.out, "w") as f:
        json.dump(rows, f)
    s = stats([r["own_us"] for r in rows])
    print(f"signal -> place-order, own time: p50 {s[0] / 1000:.2f} ms, p99 {s[1] / 1000:.2f} ms, "
          f"max {s[2] / 1000:.2f} ms over {len(rows)} signals", file=sys.stderr)


def burst(a):
    """`--burst`: N signals from `--concurrency` connections at once (each its own
    symbols), as fast as answered; prints the answers' times and order_status counts."""
    import threading
    u = urllib.parse.urlparse(a.loms)
    times, statuses, lock = [], {}, threading.Lock()

    def worker(k):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        for i in range(k + 1, a.signals + 1, a.concurrency):
            body = json.dumps({"symbol": f"SYM{i:04d}USDT", "side": "long", "price": 100,
                               "timestamp": a.ts_base + i, "exchange": "bitget",
                               "timeframe_min": 5, "strategy": "bounce_ema10_strict",
                               "tp_pct": 4.5, "sl_pct": 1.5})
            t0 = time.monotonic()
            conn.request("POST", "/signals/bounce", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            v = json.loads(r.read())
            dt = time.monotonic() - t0
            with lock:
                times.append(dt * 1e6)
                st = v.get("order_status", f"http {r.status}")
                statuses[st] = statuses.get(st, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p50, p99, mx = stats(times)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
    print(f"{len(times)} signals at concurrency {a.concurrency}: answer p50 {p50 / 1000:.1f} ms, "
          f"p99 {p99 / 1000:.1f} ms, max {mx / 1000:.1f} ms; order_status: {counts}")


def stats(xs):
    xs = sorted(xs)
    pick = lambda p: xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]
    return pick(50), pick(99), xs[-1]


def summarize(files):
    rows = []
    per_file = []
    for f in files:
        with open(f) as fh:
            r = json.load(fh)
        rows += r
        per_file.append(stats([x["own_us"] for x in r]))
    ms = lambda us: f"{us / 1000:.2f}"
    print(f"Signal -> place-order, {len(rows)} signals one at a time ({len(files)} fresh servers):")
    print()
    print("| measure | p50 ms | p99 ms | max ms |")
    print("|---|---:|---:|---:|")
    for key, what in [("raw_us", "raw: place-order arrival at the fake - signal sent"),
                      ("venue_us", "the fake's own time in the requests before it (quote, contract, margin mode, leverage)"),
                      ("own_us", "LOMS's own time (raw - venue), loopback hops included"),
                      ("quote_us", "of which the fake answering the entry quote (tickers)"),
                      ("answer_us", "the signal's answer (LIVE_ACK_TIMEOUT_MS=0), as the client saw it")]:
        p50, p99, mx = stats([x[key] for x in rows])
        print(f"| {what} | {ms(p50)} | {ms(p99)} | {ms(mx)} |")
    print()
    print("Own time per server (p50 / p99 / max ms): " +
          "; ".join(f"{ms(a)} / {ms(b)} / {ms(c)}" for a, b, c in per_file))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--loms")
    p.add_argument("--fake")
    p.add_argument("--signals", type=int, default=500)
    p.add_argument("--rate", type=float, default=20)
    p.add_argument("--ts-base", type=int, default=1680000000000)
    p.add_argument("--first", type=int, default=1, help="first symbol number")
    p.add_argument("--out")
    p.add_argument("--summarize", nargs="+")
    p.add_argument("--burst", action="store_true")
    p.add_argument("--concurrency", type=int, default=16)
    a = p.parse_args()
    if a.summarize:
        summarize(a.summarize)
    elif a.burst and a.loms:
        burst(a)
    elif a.loms and a.fake and a.out:
        run(a)
    else:
        p.error("--loms, --fake and --out, or --summarize FILE...")


if __name__ == "__main__":
    main()
