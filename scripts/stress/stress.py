#!/usr/bin/env python3
"""Stress LOMS's release binary the way an independent suite would (issue 11).

    scripts/stress/stress.py killloop  [--rounds 20]   # kill -9 under load, restart, verify
    scripts/stress/stress.py fulldisk                  # data folder on a tiny tmpfs (root)
    scripts/stress/stress.py closerace [--rounds 10]   # close / close-all / passes at once
    scripts/stress/stress.py fuzz      [--count 2000]  # odd bodies, restart over all accepted
    scripts/stress/stress.py livekill  [--rounds 8]    # live on the fake Bitget: kill -9 with
                                                       # orders in flight, one order per intent

Each mode starts target/release/loms-server (build it first: cargo build --release)
on 127.0.0.1 with a fresh temporary folder, and exits 1 on the first broken promise:
a signal answered 200 missing after a restart, a start-up that fails, a 5xx other than
a documented 503, a non-JSON error, an audit line that does not parse, a position
closed twice, /health saying ok while a write fails. Only 127.0.0.1 is contacted.
Standard library only.
"""

import argparse
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "target", "release", "loms-server")
FAKE_BIN = os.path.join(ROOT, "target", "release", "fake-bitget")


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


class Server:
    """loms-server in `folder` (database and audit inside), port chosen by the OS."""

    def __init__(self, folder, extra_env=None):
        self.folder = folder
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "RUST_LOG": "info",
            "DATABASE_URL": f"sqlite:///{folder}/loms.db",
            "AUDIT_LOG_PATH": f"{folder}/audit.jsonl",
            "LOMS_BIND": "127.0.0.1:0",
            "MIN_POSITION_AGE_SEC": "0",
            "MAX_OPEN_POSITIONS": "100000",
            "MAX_OPEN_POSITIONS_PER_SYMBOL": "100000",
            "MAX_SIGNALS_PER_SYMBOL_PER_DAY": "100000",
            "MAX_SIGNAL_AGE_SEC": "100000000",
        }
        self.env.update(extra_env or {})
        self.proc = None
        self.port = None
        self.log = []

    def start(self, expect_ok=True):
        self.proc = subprocess.Popen(
            [BIN], cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if "LOMS listening on http://" in line:
                addr = line.split("LOMS listening on http://")[1].split()[0]
                self.port = int(addr.rsplit(":", 1)[1])
                threading.Thread(target=self._drain, daemon=True).start()
                return True
        if expect_ok:
            fail("server did not start:\n" + "".join(self.log[-20:]))
        return False

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail("SIGTERM did not stop the server")

    def request(self, method, path, body=None, headers=None, raw=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        text = r.read().decode("utf-8", "replace")
        c.close()
        return r.status, text


def signal_body(n, symbol=None):
    return {"symbol": symbol or f"S{n % 50}USDT", "side": random.choice(["long", "short"]),
            "price": round(random.uniform(1, 1000), 4), "timestamp": "2025-12-01T10:05:00Z",
            "signal_id": f"stress-{n}-{random.getrandbits(40)}"}


def check_json_error(status, text, where):
    if status >= 400:
        try:
            v = json.loads(text)
        except ValueError:
            fail(f"{where}: {status} answer is not JSON: {text[:200]!r}")
        if "error" not in v:
            fail(f"{where}: {status} answer has no 'error': {text[:200]!r}")
    if status >= 500 and status != 503:
        fail(f"{where}: HTTP {status}: {text[:300]}")


def db_signal_ids(folder):
    con = sqlite3.connect(f"{folder}/loms.db")
    try:
        rows = con.execute("SELECT signal_id FROM positions WHERE signal_id IS NOT NULL").fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def killloop(rounds):
    folder = tempfile.mkdtemp(prefix="loms-kill-")
    acked = set()
    n = 0
    for r in range(rounds):
        srv = Server(folder)
        srv.start()
        # Everything acknowledged so far survived (the restart read it back).
        stored = db_signal_ids(folder)
        missing = acked - stored
        if missing:
            fail(f"round {r}: {len(missing)} acknowledged signals lost, e.g. {sorted(missing)[:3]}")
        stop = threading.Event()
        lock = threading.Lock()

        def fire():
            nonlocal n
            while not stop.is_set():
                with lock:
                    n += 1
                    body = signal_body(n)
                try:
                    st, text = srv.request("POST", "/signals/bounce", body)
                except OSError:
                    return
                if st == 200 and json.loads(text).get("position_id"):
                    with lock:
                        acked.add(body["signal_id"])
                elif st != 200:
                    check_json_error(st, text, "signal")

        threads = [threading.Thread(target=fire) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.2, 1.5))
        srv.kill9()
        stop.set()
        for t in threads:
            t.join()
        print(f"round {r}: {len(acked)} acknowledged so far")
    srv = Server(folder)
    srv.start()
    st, text = srv.request("GET", "/health")
    if not json.loads(text).get("ok"):
        fail(f"health after the kill loop: {text}")
    srv.stop()
    missing = acked - db_signal_ids(folder)
    if missing:
        fail(f"{len(missing)} acknowledged signals lost after the last restart")
    print(f"killloop ok: {rounds} kills, {len(acked)} acknowledged signals all stored")


def fulldisk():
    mnt = tempfile.mkdtemp(prefix="loms-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt]).returncode != 0:
        fail("cannot mount a tmpfs (run as root)")
    try:
        with open(f"{mnt}/ballast", "wb") as f:
            f.write(b"\0" * (1024 * 1024))
        srv = Server(mnt, {"AUTO_CLOSE_INTERVAL_SEC": "1"})
        srv.start()
        acked, n, refused = [], 0, 0
        while refused < 20 and n < 100000:
            n += 1
            body = signal_body(n)
            body["strategy"] = "x" * 60
            st, text = srv.request("POST", "/signals/bounce", body)
            if st == 200:
                acked.append(body["signal_id"])
            else:
                check_json_error(st, text, "signal on a full disk")
                refused += 1
        print(f"disk full after {len(acked)} signals")
        st, text = srv.request("GET", "/health")
        h = json.loads(text)
        if h.get("ok") or (h["checks"]["database"]["ok"] and h["checks"]["audit_log"]["ok"]):
            fail(f"/health does not show the full disk: {text}")
        # Space comes back while the server runs.
        os.remove(f"{mnt}/ballast")
        subprocess.run(["mount", "-o", "remount,size=64m", mnt], check=True)
        ok_after = 0
        for i in range(50):
            body = signal_body(10**6 + i)
            st, text = srv.request("POST", "/signals/bounce", body)
            if st == 200:
                acked.append(body["signal_id"])
                ok_after += 1
            else:
                check_json_error(st, text, "signal after space came back")
        print(f"{ok_after} of 50 signals accepted once space came back (before a restart)")
        srv.stop()
        srv = Server(mnt)
        srv.start()
        for i in range(50):
            body = signal_body(2 * 10**6 + i)
            st, text = srv.request("POST", "/signals/bounce", body)
            if st != 200:
                fail(f"after a restart with space: {st} {text}")
            acked.append(body["signal_id"])
        st, text = srv.request("GET", "/health")
        h = json.loads(text)
        if not (h["checks"]["database"]["ok"] and h["checks"]["audit_log"]["ok"]):
            fail(f"database/audit checks after restart with space: {text}")
        srv.stop()
        with open(f"{mnt}/audit.jsonl", encoding="utf-8", errors="replace") as f:
            for i, line in enumerate(f):
                try:
                    json.loads(line)
                except ValueError:
                    fail(f"audit line {i + 1} does not parse: {line[:200]!r}")
        missing = set(acked) - db_signal_ids(mnt)
        if missing:
            fail(f"{len(missing)} acknowledged signals not stored")
        print(f"fulldisk ok: {len(acked)} acknowledged, every audit line parses")
    finally:
        subprocess.run(["pkill", "-9", "-f", mnt], check=False)
        time.sleep(0.5)
        subprocess.run(["umount", mnt], check=False)


def closerace(rounds):
    folder = tempfile.mkdtemp(prefix="loms-race-")
    srv = Server(folder, {"AUTO_CLOSE_INTERVAL_SEC": "0.2"})
    srv.start()
    for r in range(rounds):
        ids = []
        for i in range(30):
            st, text = srv.request("POST", "/signals/bounce", signal_body(r * 100 + i, "BTCUSDT"))
            if st != 200:
                fail(f"open: {st} {text}")
            ids.append(json.loads(text)["position_id"])
        results = []

        def close(pid):
            results.append(srv.request("POST", f"/positions/{pid}/close", {}))

        threads = [threading.Thread(target=close, args=(p,)) for p in ids for _ in range(3)]
        threads.append(threading.Thread(target=lambda: results.append(
            srv.request("POST", "/admin/close-all", {}))))
        threads.append(threading.Thread(target=lambda: results.append(
            srv.request("POST", "/market/price/1?symbol=BTCUSDT", None))))
        random.shuffle(threads)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for st, text in results:
            check_json_error(st, text, "close race")
        st, text = srv.request("GET", "/positions/?status=open")
        if json.loads(text):
            fail(f"round {r}: positions still open after the race")
    srv.stop()
    con = sqlite3.connect(f"{folder}/loms.db")
    dup = con.execute(
        "SELECT position_id, COUNT(*) FROM fills WHERE kind = 'exit' GROUP BY position_id HAVING COUNT(*) > 1"
    ).fetchall()
    con.close()
    if dup:
        fail(f"positions closed more than once: {dup[:5]}")
    print(f"closerace ok: {rounds} rounds, every position closed exactly once")


EDGE_NUMBERS = [0, -1, 1e-30, 1e30, 1e308, "1e309", "NaN", "Infinity", 0.1, 97250.123456789012345,
                "97250.5", " 100 ", "", True, None, [], {}, 2**63, -(2**63), 2**64, 1e12, 1e12 + 1]
EDGE_TIMES = ["2025-12-01T10:05:00Z", 253402300800000, -62135596800001, 8_000_000_000_000_000,
              "10000-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "2009-01-01T00:00:00Z",
              "2008-12-31T23:59:59Z", 1764583500, "2025-12-01 10:05:00.123456789", "yesterday", 0, -1]


def fuzz(count):
    folder = tempfile.mkdtemp(prefix="loms-fuzz-")
    srv = Server(folder)
    srv.start()
    accepted = {}
    for i in range(count):
        body = signal_body(i)
        for key in random.sample(["price", "timestamp", "qty", "tp_pct", "sl_pct", "timeframe_min",
                                  "symbol", "exchange", "strategy", "signal_id", "side"], 2):
            body[key] = random.choice(EDGE_TIMES if key == "timestamp" else EDGE_NUMBERS + [
                "x" * random.choice([1, 40, 41, 65, 129, 300]), "ü" * 40, "\u0000", "BTC USDT"])
        st, text = srv.request("POST", "/signals/bounce", body)
        check_json_error(st, text, f"fuzz {body}")
        if st == 200:
            v = json.loads(text)
            if v.get("position_id"):
                accepted[v["position_id"]] = None
    for pid in list(accepted)[:500]:
        st, text = srv.request("GET", f"/positions/{pid}")
        accepted[pid] = text
    srv.stop()
    srv = Server(folder)
    srv.start()
    for pid, before in accepted.items():
        if before is None:
            continue
        st, after = srv.request("GET", f"/positions/{pid}")
        if after != before:
            fail(f"position {pid} reads differently after a restart:\n{before}\n{after}")
    st, text = srv.request("GET", "/health")
    if not json.loads(text).get("ok"):
        fail(f"health after fuzz + restart: {text}")
    srv.stop()
    print(f"fuzz ok: {count} bodies, {len(accepted)} accepted, all read back unchanged after a restart")


# Live on the fake venue: what the fake accepts (loms_fake_bitget::{KEY, SECRET,
# PASSPHRASE}), the symbols at their default marks with a size above each contract's
# minimum (19 and 35 USDT: LIVE_MAX_NOTIONAL_USDT is raised to 50 for ETHUSDT's), and
# the order states that are final.
FAKE_CREDENTIALS = {"BITGET_API_KEY": "fake-key", "BITGET_API_SECRET": "fake-secret",
                    "BITGET_API_PASSPHRASE": "fake-pass"}
FAKE_UID = "5550000001"  # the account the fake's key belongs to
LIVE_SYMBOLS = {"BTCUSDT": (64210, 0.0003), "ETHUSDT": (3500.2, 0.01)}
FINAL_ORDER_STATES = {"filled", "rejected", "canceled"}


class FakeVenue:
    """target/release/fake-bitget on a free port, answering private requests after
    `latency_ms`; read back through its own routes GET /fake/orders and /fake/positions."""

    def __init__(self, latency_ms):
        if not os.path.exists(FAKE_BIN):
            fail(f"{FAKE_BIN} not found: cargo build --release -p loms-fake-bitget")
        self.proc = subprocess.Popen(
            [FAKE_BIN, "--port", "0", "--latency-ms", str(latency_ms), "--balance", "150"],
            stdout=subprocess.PIPE, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            fail(f"fake-bitget did not print its URL: {self.url!r}")
        self.port = int(self.url.rsplit(":", 1)[1])

    def get(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        v = json.loads(r.read())
        c.close()
        if r.status != 200:
            fail(f"fake {path}: {r.status} {v}")
        return v["data"]

    def orders(self):
        return self.get("/fake/orders")

    def positions(self):
        return self.get("/fake/positions")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def live_env(venue):
    # RUST_LOG=trace: no record of any level may carry the secret or the passphrase.
    env = {"RUST_LOG": "trace", "BROKER_MODE": "live", "PRICE_SOURCE": "exchange",
           "PRICE_EXCHANGE": "bitget", "PRICE_MARKET": "perp", "BITGET_BASE_URL": venue.url,
           "LIVE_ACK_TIMEOUT_MS": "100", "LIVE_RESOLVE_INTERVAL_MS": "200",
           "AUTO_CLOSE_INTERVAL_SEC": "0.5", "MAX_SIGNAL_AGE_SEC": "600",
           "LIVE_CONFIRM": "I_UNDERSTAND_REAL_ORDERS", "LIVE_ACCOUNT_UID": FAKE_UID,
           "LIVE_MAX_NOTIONAL_USDT": "50"}
    env.update(FAKE_CREDENTIALS)
    return env


def db_orders(folder):
    con = sqlite3.connect(f"{folder}/loms.db")
    try:
        return con.execute(
            "SELECT client_oid, status, exchange_order_id, symbol FROM orders").fetchall()
    finally:
        con.close()


def db_open_positions(folder):
    con = sqlite3.connect(f"{folder}/loms.db")
    try:
        rows = con.execute(
            "SELECT id, symbol, side, qty FROM positions WHERE status = 'open'").fetchall()
    finally:
        con.close()
    return rows


def venue_duplicates(venue_orders):
    seen, dup = set(), set()
    for o in venue_orders:
        (dup if o["clientOid"] in seen else seen).add(o["clientOid"])
    return dup


def live_signal(symbol, n):
    price, qty = LIVE_SYMBOLS[symbol]
    return {"signal_id": f"live-{n}-{random.getrandbits(40)}", "symbol": symbol, "side": "long",
            "price": price, "qty": qty, "sl_pct": 1, "tp_pct": 5,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def live_trader(srv, symbol, stop, counts, lock, seq):
    """Open a position on `symbol` when there is none, close it when there is one."""
    def count(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1
    while not stop.is_set():
        try:
            st, text = srv.request("GET", f"/positions/?status=open&symbol={symbol}")
            if st != 200:
                check_json_error(st, text, "open positions")
                continue
            open_now = json.loads(text)
            if open_now:
                for p in open_now:
                    st, text = srv.request("POST", f"/positions/{p['id']}/close", {})
                    check_json_error(st, text, "close")
                    v = json.loads(text)
                    count(f"close {st} {v.get('status') if st == 200 else v.get('error')}")
                    if st == 409:
                        time.sleep(0.1)  # its exit is still at the venue
            else:
                with lock:
                    seq[0] += 1
                    n = seq[0]
                st, text = srv.request("POST", "/signals/bounce", live_signal(symbol, n))
                check_json_error(st, text, "signal")
                v = json.loads(text)
                count(f"signal {st} {v.get('order_status') or v.get('error') or v.get('risk_reason')}")
        except (OSError, http.client.HTTPException):
            return  # the server was killed under us
        time.sleep(random.uniform(0, 0.05))


def check_orders_settled(srv, folder, where, within=10.0):
    """Every order row final within `within` s of the start-up (an order the venue does
    not know is looked up once more, LIVE_RESOLVE_INTERVAL_MS later, before it counts as
    never placed). Returns the rows and the seconds it took."""
    t0 = time.time()
    while True:
        rows = db_orders(folder)
        open_rows = [r for r in rows if r[1] not in FINAL_ORDER_STATES]
        if not open_rows:
            return rows, time.time() - t0
        if time.time() - t0 > within:
            fail(f"{where}: {len(open_rows)} orders not settled {within:.0f} s after start-up: "
                 f"{open_rows[:5]}\n" + "".join(srv.log[-30:]))
        time.sleep(0.05)


def check_no_secret(text, where):
    for secret in (FAKE_CREDENTIALS["BITGET_API_SECRET"], FAKE_CREDENTIALS["BITGET_API_PASSPHRASE"]):
        if secret in text:
            fail(f"{where}: {secret!r} appears")


def check_one_order_per_intent(venue, where):
    orders = venue.orders()
    dup = venue_duplicates(orders)
    if dup:
        fail(f"{where}: the venue has two orders for one clientOid: {sorted(dup)[:5]}")
    return orders


def livekill(rounds, latency_ms):
    """BROKER_MODE=live on the fake Bitget: traders open and close BTCUSDT/ETHUSDT while
    the server is killed with -9 at random moments (orders in flight: the venue answers
    after `latency_ms`), restarted, and checked."""
    folder = tempfile.mkdtemp(prefix="loms-livekill-")
    venue = FakeVenue(latency_ms)
    env = live_env(venue)
    counts, lock, seq = {}, threading.Lock(), [0]
    in_flight_at_kill, settle_times = [], []
    started = time.time()
    try:
        for r in range(rounds):
            # Answers before the venue's (most rounds) or after it.
            env["LIVE_ACK_TIMEOUT_MS"] = random.choice(["100", "100", "2000"])
            srv = Server(folder, env)
            srv.start()
            # Start-up settles what the last kill left: every order final, one venue
            # order per client id.
            _, took = check_orders_settled(srv, folder, f"round {r}")
            settle_times.append(took)
            check_one_order_per_intent(venue, f"round {r}")
            stop = threading.Event()
            traders = [threading.Thread(target=live_trader, args=(srv, sym, stop, counts, lock, seq))
                       for sym in LIVE_SYMBOLS for _ in range(2)]
            for t in traders:
                t.start()
            time.sleep(random.uniform(0.5, 3.0))
            srv.kill9()
            stop.set()
            for t in traders:
                t.join()
            check_no_secret("".join(srv.log), f"round {r}: the server's log")
            unsettled = [o for o in db_orders(folder) if o[1] not in FINAL_ORDER_STATES]
            in_flight_at_kill.append(len(unsettled))
            print(f"round {r}: killed with {len(unsettled)} orders unsettled "
                  f"({', '.join(sorted({o[1] for o in unsettled})) or '-'}); "
                  f"{len(venue.orders())} venue orders so far")
        srv = Server(folder, env)
        srv.start()
        rows, took = check_orders_settled(srv, folder, "final start")
        settle_times.append(took)
        venue_orders = check_one_order_per_intent(venue, "final start")
        if len(venue_orders) < rounds:
            fail(f"only {len(venue_orders)} venue orders in {rounds} rounds: the traders did not "
                 f"trade ({dict(sorted(counts.items()))})")
        by_oid = {o["clientOid"]: o for o in venue_orders}
        # Every filled LOMS order is the venue's order of that client id, and the venue
        # has no order LOMS does not know as filled.
        for oid, status, exchange_id, _ in rows:
            v = by_oid.get(oid)
            if status == "filled" and (v is None or v["orderId"] != exchange_id):
                fail(f"LOMS order {oid} filled as {exchange_id}, venue: {v}")
            if status != "filled" and v is not None:
                fail(f"LOMS order {oid} is {status} but the venue filled it: {v}")
        known = {r[0] for r in rows}
        stray = [o["clientOid"] for o in venue_orders if o["clientOid"] not in known]
        if stray:
            fail(f"venue orders LOMS has no row for: {stray[:5]}")
        # Open positions: the same on both sides.
        mine = sorted((sym, side, float(qty)) for _, sym, side, qty in db_open_positions(folder))
        theirs = sorted((p["symbol"], p["holdSide"], float(p["total"])) for p in venue.positions())
        if mine != theirs:
            fail(f"open positions differ: LOMS {mine}, venue {theirs}")
        health = None
        for _ in range(50):
            st, text = srv.request("GET", "/health")
            health = json.loads(text)
            if (health["checks"].get("venue") or {}).get("ok"):
                break
            time.sleep(0.1)
        else:
            fail(f"/health checks.venue not ok after the final start: {health}")
        for path in ("/orders/?limit=100000", "/positions/?limit=100000", "/openapi.json",
                     "/stats", "/positions/999999"):
            st, text = srv.request("GET", path)
            check_no_secret(text, f"GET {path}")
        check_no_secret(json.dumps(health), "/health")
        srv.stop()
        check_no_secret("".join(srv.log), "the last server's log")
    finally:
        venue.stop()
    statuses = {}
    for _, status, _, _ in rows:
        statuses[status] = statuses.get(status, 0) + 1
    print(f"answers: {dict(sorted(counts.items()))}")
    print(f"LOMS orders: {dict(sorted(statuses.items()))}; venue orders: {len(venue_orders)}; "
          f"open positions: {mine}")
    print(f"livekill ok: {rounds} kills in {time.time() - started:.0f} s, latency {latency_ms} ms, "
          f"{sum(1 for n in in_flight_at_kill if n)} kills with orders in flight "
          f"({sum(in_flight_at_kill)} orders unsettled at the kills, all settled by the restarts), "
          f"{len(venue_orders)} venue orders, one per client id; every order final at most "
          f"{max(settle_times):.2f} s after a start-up")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("killloop").add_argument("--rounds", type=int, default=20)
    sub.add_parser("fulldisk")
    sub.add_parser("closerace").add_argument("--rounds", type=int, default=10)
    sub.add_parser("fuzz").add_argument("--count", type=int, default=2000)
    lk = sub.add_parser("livekill")
    lk.add_argument("--rounds", type=int, default=8)
    lk.add_argument("--latency-ms", type=int, default=200)
    a = p.parse_args()
    if not os.path.exists(BIN):
        fail(f"{BIN} not found: cargo build --release -p loms-server")
    random.seed(os.environ.get("STRESS_SEED", "loms"))
    {"killloop": lambda: killloop(a.rounds), "fulldisk": fulldisk,
     "closerace": lambda: closerace(a.rounds), "fuzz": lambda: fuzz(a.count),
     "livekill": lambda: livekill(a.rounds, a.latency_ms)}[a.mode]()


if __name__ == "__main__":
    main()
