#!/usr/bin/env bash
# Live-mode benchmark (issue 12): intake in BROKER_MODE=live against the fake Bitget
# answering after BENCH_LATENCY_MS, next to paper intake of the same signals, and the
# time LOMS takes from receiving a signal to the place-order request leaving.
#
#   scripts/bench/live.sh
#   BENCH_REPEAT=5 scripts/bench/live.sh
#
# 1. builds loms-server and fake-bitget (release) unless BENCH_NO_BUILD=1;
# 2. per round, each on a fresh fake (`fake-bitget --symbols N --latency-ms L`: N plain
#    contracts SYM0001USDT.., all marked at 100) and a fresh server and database, in an
#    order that alternates between rounds:
#      paper-sim   BROKER_MODE=paper, simulator prices (the intake.sh set-up);
#      paper-venue BROKER_MODE=paper, prices from the fake's tickers (PRICE_SOURCE=exchange,
#                  as live must: every signal fetches the quote it fills at);
#      live        BROKER_MODE=live on the fake, LIVE_ACK_TIMEOUT_MS=0 (the answer does
#                  not wait for the venue), LIVE_EXEC_WORKERS=BENCH_WORKERS;
#    wrk (one thread) drives N signals (one per symbol: live holds one position per
#    symbol) at concurrency BENCH_CONCURRENCY; the intake rate is (N - 1) / (last - first
#    signals.received_at) in the database (wrk's own duration is its -d, not the quota's
#    end, and its latencies include the GET /metrics fillers past the quota, so neither
#    is used). After the live run: waits until every order is filled in LOMS and the
#    fake holds N filled entries (the executor drained), and reports how long that took;
#    wrk may drop a signal before sending it (see signals.lua): the checks count rows.
# 3. one live run with the default LIVE_ACK_TIMEOUT_MS=2000 (what the bot sees then:
#    live_latency.py --burst, the answers' times and order_status);
# 4. signal -> place-order: scripts/bench/live_latency.py on a fresh live server, one
#    signal at a time, paced (BENCH_LAT_RATE a second) so the executor's workers never
#    queue; it reads the fake's request log (GET /fake/requests: arrival and answer
#    times) and prints the distribution, raw and without the venue's own time.
#
# Environment: BENCH_SIGNALS (500: signals per intake run = symbols listed by the fake),
# BENCH_REPEAT (3), BENCH_CONCURRENCY (16), BENCH_LATENCY_MS (300), BENCH_WORKERS (64),
# BENCH_ACK_SIGNALS (160; 0 skips step 3), BENCH_LAT_SIGNALS (500 per latency round),
# BENCH_LAT_ROUNDS (4; 0 skips step 4),
# BENCH_LAT_RATE (20), BENCH_DRAIN_SECS (600), BENCH_NO_BUILD, BENCH_KEEP.
# Only 127.0.0.1 is contacted; every process started is killed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/loms-live.XXXXXX")
# shellcheck source=lib.sh
source "$ROOT/scripts/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

N=$(int_setting BENCH_SIGNALS 500 16 9999)
REPEAT=$(int_setting BENCH_REPEAT 3 1 9)
CONC=$(int_setting BENCH_CONCURRENCY 16 2 64)
LATENCY=$(int_setting BENCH_LATENCY_MS 300 0 5000)
WORKERS=$(int_setting BENCH_WORKERS 64 1 64)
ACK_N=$(int_setting BENCH_ACK_SIGNALS 160 0 9999)
LAT_N=$(int_setting BENCH_LAT_SIGNALS 500 10 9999)
LAT_ROUNDS=$(int_setting BENCH_LAT_ROUNDS 4 0 20)
LAT_RATE=$(int_setting BENCH_LAT_RATE 20 1 1000)
DRAIN_SECS=$(int_setting BENCH_DRAIN_SECS 600 10 3600)
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT_DIR="$TARGET_DIR/bench-results"
FAKE="$RELEASE/fake-bitget"

if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    log "building release: loms-server, fake-bitget"
    (cd "$ROOT" && cargo build --release -q -p loms-server --bin loms-server \
        && cargo build --release -q -p loms-fake-bitget --bin fake-bitget) >&2
fi
for b in "$RELEASE/loms-server" "$FAKE"; do
    [[ -x "$b" ]] || die "missing $b (run without BENCH_NO_BUILD)"
done
ensure_wrk
command -v sqlite3 >/dev/null || die "need sqlite3"
command -v python3 >/dev/null || die "need python3"
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)

# Start the fake with SYMBOLS contracts. Sets FAKE_PID, FAKE_URL.
start_fake() { # DIR SYMBOLS
    "$FAKE" --port 0 --latency-ms "$LATENCY" --balance 1000000000 --symbols "$2" \
        >"$1/fake.out" 2>"$1/fake.err" &
    FAKE_PID=$!
    BENCH_PIDS+=("$FAKE_PID")
    FAKE_URL=""
    for _ in $(seq 1 100); do
        FAKE_URL=$(head -n1 "$1/fake.out" 2>/dev/null || true)
        [[ "$FAKE_URL" == http://127.0.0.1:* ]] && break
        kill -0 "$FAKE_PID" 2>/dev/null || die "fake-bitget exited at start"
        sleep 0.1
    done
    [[ "$FAKE_URL" == http://127.0.0.1:* ]] || die "fake-bitget printed no URL"
}

# Settings of each mode (after start_loms's own; later --set wins).
mode_args() { # MODE ACK_MS
    local common=(--set POSITION_SIZE_USDT=20)
    local venue=(--set PRICE_SOURCE=exchange --set PRICE_EXCHANGE=bitget --set PRICE_MARKET=perp
        --set "BITGET_BASE_URL=$FAKE_URL")
    case "$1" in
        paper-sim) printf '%s\n' "${common[@]}" ;;
        paper-venue) printf '%s\n' "${common[@]}" "${venue[@]}" ;;
        live) printf '%s\n' "${common[@]}" "${venue[@]}" --set BROKER_MODE=live \
            --set LIVE_CONFIRM=I_UNDERSTAND_REAL_ORDERS --set LIVE_ACCOUNT_UID=5550000001 \
            --set BITGET_API_KEY=fake-key --set BITGET_API_SECRET=fake-secret \
            --set BITGET_API_PASSPHRASE=fake-pass --set LIVE_MAX_NOTIONAL_USDT=1000 \
            --set LIVE_MAX_EQUITY_USDT=10000000000 --set "LIVE_ACK_TIMEOUT_MS=$2" \
            --set "LIVE_EXEC_WORKERS=$WORKERS" --set LIVE_RESOLVE_INTERVAL_MS=500 ;;
    esac
}

# Signals per second the server took in: (rows - 1) / (last - first received_at).
intake_rate() { # DB
    sqlite3 -readonly "$1" "SELECT printf('%.0f', (count(*) - 1) / ((julianday(max(received_at)) - julianday(min(received_at))) * 86400.0)) FROM signals"
}


# One intake run of MODE; sets RUN_RATE and RUN_DRAIN ("-" unless live).
intake_run() { # DIR MODE TS_BASE
    local d="$1" mode="$2" args f bad opened rows
    mkdir -p "$d"
    start_fake "$d" "$N"
    mapfile -t args < <(mode_args "$mode" 0)
    start_loms "$d/loms" "${args[@]}"
    # wrk's -d is how long it runs whatever the quota: long enough for N at >= 100/s.
    # One wrk thread: with two, the first done would send GET /metrics fillers as fast
    # as answered while the other still sends signals.
    WRK_THREADS=1 BENCH_QUOTA=$N BENCH_SYMBOL_FORMAT='SYM%04dUSDT' \
        run_wrk "$LOMS_ADDR" "$CONC" $((N / 100 + 5)) "$3" "$d/wrk"
    f="$d/wrk"
    opened=$(field "$f" opened)
    bad=$(($(field "$f" non200) + $(field "$f" duplicates) + $(field "$f" err_connect) \
        + $(field "$f" err_read) + $(field "$f" err_write) + $(field "$f" err_timeout)))
    rows=$(count_rows "$LOMS_DB" positions)
    # wrk may drop a request before sending it (a socket write retried): a few fewer.
    ((opened == rows && opened >= N - 4 && bad == 0)) \
        || { cat "$f" >&2; die "$mode: $opened of $N signals opened ($rows positions), $bad bad answers"; }
    RUN_RATE=$(intake_rate "$LOMS_DB")
    RUN_DRAIN=-
    if [[ "$mode" == live ]]; then
        RUN_DRAIN=$(wait_drained "$LOMS_DB" "$rows") || die "live: not drained within $DRAIN_SECS s"
    fi
    stop_pid "$LOMS_PID"
    stop_pid "$FAKE_PID"
}

# Once every LOMS order is filled and the fake holds WANT filled orders with WANT
# distinct clientOids (one venue order each): the seconds from the last signal received
# to the last answer the executor needed (the fake's last place-order, detail or fills
# answer, same clock).
wait_drained() { # DB WANT
    local left venue
    for _ in $(seq 1 $((DRAIN_SECS * 2))); do
        left=$(sqlite3 -readonly "$1" "SELECT count(*) FROM orders WHERE status <> 'filled'")
        venue=$(curl -s "$FAKE_URL/fake/orders" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(sum(1 for o in d if o["state"] == "filled"), len({o["clientOid"] for o in d}))')
        if [[ "$left" == 0 && "$venue" == "$2 $2" ]]; then
            local last_signal
            last_signal=$(sqlite3 -readonly "$1" "SELECT CAST(round((julianday(max(received_at)) - 2440587.5) * 86400000000.0) AS INTEGER) FROM signals")
            curl -s "$FAKE_URL/fake/requests" | python3 -c '
import json, sys
log = json.load(sys.stdin)["data"]
ends = [q["answeredUs"] for q in log if q["answeredUs"] and q["path"].split("/")[-1] in ("place-order", "detail", "fills")]
print(f"{(max(ends) - int(sys.argv[1])) / 1e6:.1f}")' "$last_signal"
            return 0
        fi
        sleep 0.5
    done
    log "drain: $left LOMS orders not filled; fake: $venue (filled, distinct clientOids) of $2"
    return 1
}

declare -A RATE
DRAINS=()
MODES=(paper-sim paper-venue live)
for r in $(seq 1 "$REPEAT"); do
    order=("${MODES[@]}")
    ((r % 2 == 0)) && order=(live paper-venue paper-sim)
    for mode in "${order[@]}"; do
        log "round $r/$REPEAT: $mode, $N signals at concurrency $CONC, venue latency ${LATENCY} ms"
        intake_run "$WORK/r$r-$mode" "$mode" $((1700000000000 + r * 4000000000))
        log "  $RUN_RATE signals/s"
        RATE[$mode]+="$RUN_RATE "
        if [[ "$RUN_DRAIN" != - ]]; then
            DRAINS+=("$RUN_DRAIN")
            log "  drained: the executor's last venue answer $RUN_DRAIN s after the last signal"
        fi
    done
done

ACK_LINE="not run (BENCH_ACK_SIGNALS=0)"
if ((ACK_N > 0)); then
log "live with the default LIVE_ACK_TIMEOUT_MS=2000: $ACK_N signals at concurrency $CONC"
d="$WORK/ack2000"
mkdir -p "$d"
start_fake "$d" "$ACK_N"
mapfile -t args < <(mode_args live 2000)
start_loms "$d/loms" "${args[@]}"
ACK_LINE=$(python3 "$ROOT/scripts/bench/live_latency.py" --burst --loms "http://$LOMS_ADDR" \
    --signals "$ACK_N" --concurrency "$CONC" --ts-base 1690000000000)
log "  $ACK_LINE"
stop_pid "$LOMS_PID"
stop_pid "$FAKE_PID"
fi

log "signal -> place-order: $LAT_ROUNDS x $LAT_N signals, one at a time, $LAT_RATE a second"
LAT_FILES=()
for ((r = 1; r <= LAT_ROUNDS; r++)); do
    d="$WORK/lat$r"
    mkdir -p "$d"
    start_fake "$d" "$LAT_N"
    mapfile -t args < <(mode_args live 0)
    start_loms "$d/loms" "${args[@]}" --set AUTO_CLOSE_INTERVAL_SEC=3600
    python3 "$ROOT/scripts/bench/live_latency.py" --loms "http://$LOMS_ADDR" --fake "$FAKE_URL" \
        --signals "$LAT_N" --rate "$LAT_RATE" --ts-base $((1680000000000 + r * 10000000)) \
        --out "$d/latency.json" >&2
    LAT_FILES+=("$d/latency.json")
    stop_pid "$LOMS_PID"
    stop_pid "$FAKE_PID"
done
LAT_REPORT="Signal -> place-order: not run (BENCH_LAT_ROUNDS=0)."
((LAT_ROUNDS == 0)) || LAT_REPORT=$(python3 "$ROOT/scripts/bench/live_latency.py" --summarize "${LAT_FILES[@]}")

med() { median $1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * a / b}'; }
runs() { printf '%s' "$1" | sed 's/ *$//; s/ / \/ /g'; }
pairs() { # live/paper-venue per round
    local l p out=() i
    read -ra l <<<"${RATE[live]}"; read -ra p <<<"${RATE[paper-venue]}"
    for i in "${!l[@]}"; do out+=("$(ratio "${l[$i]}" "${p[$i]}")"); done
    local IFS='/'; printf '%s' "${out[*]}" | sed 's|/| / |g'
}
REPORT="$WORK/report.md"
{
    echo "## LOMS live intake and signal -> place-order — $STAMP"
    echo
    echo "- machine: $(machine_line) (shared with other sessions)"
    echo "- revision: $(revision_line)"
    echo "- fake venue: fake-bitget --symbols $N (latency rounds: --symbols $LAT_N) --latency-ms $LATENCY (private requests answered after $LATENCY ms; public ones at once)"
    echo "- command: \`BENCH_SIGNALS=$N BENCH_REPEAT=$REPEAT BENCH_CONCURRENCY=$CONC BENCH_LATENCY_MS=$LATENCY BENCH_WORKERS=$WORKERS BENCH_LAT_SIGNALS=$LAT_N BENCH_LAT_ROUNDS=$LAT_ROUNDS BENCH_LAT_RATE=$LAT_RATE scripts/bench/live.sh\`"
    echo
    echo "| mode ($N signals at concurrency $CONC, fresh server and fake each) | signals/s, median | each round |"
    echo "|---|---:|---|"
    for mode in "${MODES[@]}"; do
        echo "| $mode | $(med "${RATE[$mode]}") | $(runs "${RATE[$mode]}") |"
    done
    echo
    echo "- live / paper-venue (same signals, same quotes): $(ratio "$(med "${RATE[live]}")" "$(med "${RATE[paper-venue]}")") of the medians; per round $(pairs)"
    echo "- live / paper-sim: $(ratio "$(med "${RATE[live]}")" "$(med "${RATE[paper-sim]}")")"
    echo "- drain (every order filled in LOMS and at the fake, one venue order per clientOid): the executor's last venue answer came $(runs "${DRAINS[*]}") s after the last signal ($WORKERS workers)"
    echo "- default LIVE_ACK_TIMEOUT_MS=2000 (fresh live server, $ACK_N symbols listed): $ACK_LINE"
    echo
    echo "$LAT_REPORT"
} >"$REPORT"
mkdir -p "$OUT_DIR"
cp "$REPORT" "$OUT_DIR/live-$STAMP.md"
cat "$REPORT"
log "written to $OUT_DIR/live-$STAMP.md"
