#!/usr/bin/env bash
# LOMS memory (issue 5): VmRSS of loms-server idle and with 100,000 positions, from
# /proc/<pid>/status, plus the read endpoints timed over HTTP at those sizes.
#
#   scripts/bench/rss.sh                          # 100,000 positions
#   BENCH_POSITIONS=20000 scripts/bench/rss.sh    # quicker
#
# How the positions get there (the honest way: the server builds its own state):
# POST /signals/bounce from wrk at concurrency 32 (scripts/bench/signals.lua with a
# per-thread quota, so exactly as many signals as asked), every signal distinct, at
# price 100 with every simulated price pinned at 100 (POST /market/price/100), so
# nothing closes while seeding. Stages, each with VmRSS and VmHWM:
#   idle (1 s after start) -> 10,000 open (GET /positions/ full list timed here)
#   -> BENCH_POSITIONS open -> restarted with them open (the book loaded from the
#   database) -> all closed (prices pinned at 1000: longs hit TP, shorts SL; /stats
#   timed here) -> restarted on that database (100,000 closed loaded).
# Read timings are curl's time_total (loopback), median of several calls.
#
# Environment: BENCH_POSITIONS (100000), BENCH_NO_BUILD=1, BENCH_KEEP=1.
# Writes target/bench-results/rss-<date>.md too. Only 127.0.0.1 is contacted; every
# wait is bounded.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/loms-rss.XXXXXX")
# shellcheck source=lib.sh
source "$ROOT/scripts/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

N=$(int_setting BENCH_POSITIONS 100000 10000 1000000)
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT_DIR="$TARGET_DIR/bench-results"

if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    log "building release: loms-server"
    (cd "$ROOT" && cargo build --release -q -p loms-server --bin loms-server) >&2
fi
[[ -x "$RELEASE/loms-server" ]] || die "missing $RELEASE/loms-server"
ensure_wrk
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
command -v curl >/dev/null || die "need curl"
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || die "need sqlite3 or python3"

# Median time of COUNT GETs of PATH, in ms.
time_get() { # PATH COUNT
    local t=()
    for _ in $(seq 1 "$2"); do
        t+=("$(curl -fsS -o /dev/null -w '%{time_total}' "http://$LOMS_ADDR$1")")
    done
    awk -v s="$(median "${t[@]}")" 'BEGIN {printf "%.2f", s * 1000}'
}

# Bring the positions table to TOTAL rows with signals from wrk (concurrency 32).
SEED_ROUND=0
seed_to() { # TOTAL
    local have need quota wrk_pid start
    have=$(count_rows "$LOMS_DB" positions)
    need=$(($1 - have))
    ((need > 0)) || return 0
    SEED_ROUND=$((SEED_ROUND + 1))
    quota=$(((need + 1) / 2)) # two wrk threads
    log "  seeding $need positions (wrk, 2 threads x $quota signals)"
    start=$(date +%s.%N)
    BENCH_QUOTA=$quota BENCH_TS_BASE=$((1700000000000 + SEED_ROUND * 1000000000)) \
        wrk -t2 -c32 -d600s --timeout 10s -s "$LUA" "http://$LOMS_ADDR" >"$WORK/seed$SEED_ROUND.out" 2>&1 &
    wrk_pid=$!
    BENCH_PIDS+=("$wrk_pid")
    # wrk drops a generated request now and then (a socket write that must be retried
    # asks the script for a new one), so a thread may end a few signals short of its
    # quota: stop once the table has TOTAL rows, or is within 64 of it and no longer
    # growing.
    local rows=0 last=-1 still=0 stop_at
    for _ in $(seq 1 1200); do # at most 600 s
        rows=$(count_rows "$LOMS_DB" positions)
        ((rows >= $1)) && break
        if ((rows == last)); then still=$((still + 1)); else still=0; fi
        ((rows >= $1 - 64 && still >= 4)) && break
        last=$rows
        kill -0 "$wrk_pid" 2>/dev/null || break
        sleep 0.5
    done
    stop_at=$(date +%s.%N)
    sleep 1 # the last answers reach wrk, whose threads then stop at their quota
    kill -INT "$wrk_pid" 2>/dev/null || true
    wait "$wrk_pid" 2>/dev/null || true
    grep -q '^BENCH ' "$WORK/seed$SEED_ROUND.out" || { cat "$WORK/seed$SEED_ROUND.out" >&2; die "seeding wrk failed"; }
    rows=$(count_rows "$LOMS_DB" positions)
    SEED_RATE=$(awk -v n="$((rows - have))" -v a="$start" -v b="$stop_at" 'BEGIN {printf "%.0f", n / (b - a)}')
    ((rows >= $1 - 64)) || die "seeding stopped at $rows of $1 positions"
}

declare -a ROWS_OUT
stage() { # LABEL: one row of the memory table
    ROWS_OUT+=("| $1 | $(count_rows "$LOMS_DB" positions "status = 'open'") | $(count_rows "$LOMS_DB" positions "status = 'closed'") | $(kb_to_mb "$(proc_kb "$LOMS_PID")") | $(kb_to_mb "$(proc_kb "$LOMS_PID" VmHWM)") |")
    log "  ${ROWS_OUT[-1]}"
}

log "starting loms-server (fresh database in $WORK/loms)"
start_loms "$WORK/loms"
sleep 1
stage "idle, 1 s after start"
IDLE_KB=$(proc_kb "$LOMS_PID")

curl -fsS -XPOST "http://$LOMS_ADDR/market/price/100" >/dev/null
seed_to 10000
sleep 1
stage "10,000 open"
P10K_FULL=$(time_get /positions/ 5)
P10K_100=$(time_get '/positions/?limit=100' 20)

seed_to "$N"
SEED_RATE_N=$SEED_RATE
sleep 2
stage "$N open"
OPEN_KB=$(proc_kb "$LOMS_PID")
cp "/proc/$LOMS_PID/smaps" "$WORK/smaps-open.txt" 2>/dev/null || true # BENCH_KEEP=1 keeps it
PN_100=$(time_get '/positions/?limit=100' 20)

log "restarting loms-server with $N open"
stop_pid "$LOMS_PID"
start_loms "$WORK/loms"
# Simulated prices start afresh: pin them again before the first pass (1 s).
curl -fsS -XPOST "http://$LOMS_ADDR/market/price/100" >/dev/null
sleep 2
stage "restarted with $N open"
OPEN_RESTART_KB=$(proc_kb "$LOMS_PID")

log "  closing all: prices pinned at 1000 (longs TP, shorts SL) once 7 s old"
curl -fsS -XPOST "http://$LOMS_ADDR/market/price/1000" >/dev/null
closed_ok=0
for _ in $(seq 1 600); do # at most 300 s
    if (($(count_rows "$LOMS_DB" positions "status = 'open'") == 0)); then closed_ok=1; break; fi
    sleep 0.5
done
((closed_ok)) || log "  warning: positions still open after 300 s"
sleep 2
stage "$N closed"
CLOSED_KB=$(proc_kb "$LOMS_PID")
STATS_N=$(time_get /stats 20)

log "restarting loms-server on that database"
stop_pid "$LOMS_PID"
start_loms "$WORK/loms"
sleep 2
stage "restarted with $N closed"
RESTART_KB=$(proc_kb "$LOMS_PID")
STATS_RESTART=$(time_get /stats 20)
stop_pid "$LOMS_PID"

yes() { if awk "BEGIN {exit !($1)}"; then printf 'met'; else printf '**missed**'; fi; }
max_kb=$(printf '%s\n' "$OPEN_KB" "$OPEN_RESTART_KB" "$CLOSED_KB" "$RESTART_KB" | sort -n | tail -n1)
REPORT="$WORK/report.md"
{
    echo "## LOMS memory — $STAMP"
    echo
    echo "- machine: $(machine_line)"
    echo "- revision: $(revision_line)"
    echo "- command: \`BENCH_POSITIONS=$N scripts/bench/rss.sh\`"
    echo "- positions opened by POST /signals/bounce (wrk, 32 connections, every signal distinct) at ~$SEED_RATE_N signals/s, prices pinned so that none closes while seeding"
    echo
    echo "| stage | open | closed | VmRSS MB | VmHWM MB |"
    echo "|---|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS_OUT[@]}"
    echo
    echo "| target (issue 5) | figure | |"
    echo "|---|---:|---|"
    echo "| RSS idle ≤ 10 MB | $(kb_to_mb "$IDLE_KB") MB | $(yes "$IDLE_KB <= 10240") |"
    echo "| RSS with $N positions ≤ 64 MB (worst of open / closed / restarted) | $(kb_to_mb "$max_kb") MB | $(yes "$max_kb <= 65536") |"
    echo "| GET /positions/ full list, 10,000 positions, ≤ 20 ms (HTTP, median of 5) | $P10K_FULL ms | $(yes "$P10K_FULL <= 20") |"
    echo "| GET /positions/?limit=100, 10,000 positions, ≤ 1 ms (HTTP, median of 20) | $P10K_100 ms | $(yes "$P10K_100 <= 1") |"
    echo "| GET /positions/?limit=100, $N positions (HTTP, median of 20) | $PN_100 ms | |"
    echo "| GET /stats, $N closed, ≤ 5 ms (HTTP, median of 20) | $STATS_N ms | $(yes "$STATS_N <= 5") |"
    echo "| GET /stats after restart, $N closed (HTTP, median of 20) | $STATS_RESTART ms | |"
} >"$REPORT"

mkdir -p "$OUT_DIR"
cp "$REPORT" "$OUT_DIR/rss-$STAMP.md"
cat "$REPORT"
log "written to $OUT_DIR/rss-$STAMP.md"
