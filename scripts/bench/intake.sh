#!/usr/bin/env bash
# LOMS intake benchmark (issue 5), one command:
#
#   scripts/bench/intake.sh                 # 10 s per run
#   BENCH_SECS=3 scripts/bench/intake.sh    # quick look
#   BENCH_REPEAT=3 scripts/bench/intake.sh  # medians of 3 rounds
#
# 1. builds loms-server and the two ceiling examples (release);
# 2. installs wrk (Debian) if missing;
# 3. per round: starts loms-server on 127.0.0.1 with a fresh temporary database and
#    audit file, the default durable settings (WAL, group commit, every answer after
#    an fdatasync of its batch) and no risk limits, and drives POST /signals/bounce with wrk at concurrency 1 and
#    BENCH_CONCURRENCY (16), BENCH_SECS each, every request a distinct signal (symbol
#    + timestamp: nothing is deduplicated); reads VmRSS idle and at the end; stops
#    the server and checks that the position rows in SQLite match the 200 answers
#    that opened one; runs concurrency BENCH_CONCURRENCY again on a fresh server with
#    the exit loop paused (a diagnostic: intake without the auto-close passes over
#    the positions the run piles up); then measures the ceilings in the same round: (a) the minimal
#    hyper server (examples/hello_ceiling) under the same wrk runs, (b) raw rusqlite,
#    one row per durable transaction (examples/sqlite_ceiling);
# 4. prints a markdown results block and writes it to
#    target/bench-results/intake-<date>.md.
#
# Environment: BENCH_SECS (10), BENCH_REPEAT (1), BENCH_CONCURRENCY (16),
# BENCH_SQLITE_SECS (min(BENCH_SECS, 5)), BENCH_NO_BUILD=1 (skip cargo build),
# BENCH_KEEP=1 (keep the temp dir with the databases and logs).
# Exit status 1 when a run fails or the durability check does not hold (a missed
# speed target is reported, not an error). Only 127.0.0.1 is contacted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/loms-intake.XXXXXX")
# shellcheck source=lib.sh
source "$ROOT/scripts/bench/lib.sh"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

SECS=$(int_setting BENCH_SECS 10 1 120)
REPEAT=$(int_setting BENCH_REPEAT 1 1 9)
CONC=$(int_setting BENCH_CONCURRENCY 16 2 256)
SQLITE_SECS=$(int_setting BENCH_SQLITE_SECS $((SECS < 5 ? SECS : 5)) 1 120)
STAMP=$(date -u +%Y-%m-%dT%H%M%SZ)
OUT_DIR="$TARGET_DIR/bench-results"

if [[ "${BENCH_NO_BUILD:-0}" != 1 ]]; then
    log "building release: loms-server, hello_ceiling, sqlite_ceiling"
    (
        cd "$ROOT"
        cargo build --release -q -p loms-server --bin loms-server
        cargo build --release -q -p loms-http --example hello_ceiling
        cargo build --release -q -p loms-storage --example sqlite_ceiling
    ) >&2
fi
for b in "$RELEASE/loms-server" "$RELEASE/examples/hello_ceiling" "$RELEASE/examples/sqlite_ceiling"; do
    [[ -x "$b" ]] || die "missing $b (run without BENCH_NO_BUILD)"
done
ensure_wrk
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
command -v sqlite3 >/dev/null || command -v python3 >/dev/null || die "need sqlite3 or python3 to count rows"

# rps, p50 ms, p99 ms of a BENCH file.
rps() { awk -v n="$(field "$1" requests)" -v d="$(field "$1" duration_us)" 'BEGIN {printf "%.0f", n / (d / 1e6)}'; }
ms() { awk -v u="$(field "$1" "$2")" 'BEGIN {printf "%.3f", u / 1000}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.0f %%", 100 * a / b; else print "n/a"}'; }

declare -a L1_RPS L1_P50 L1_P99 LC_RPS LC_P50 LC_P99 NC_RPS NC_P50 NC_P99 H1_RPS H1_P50 H1_P99 HC_RPS HC_P50 HC_P99
declare -a SQ_RPS SQ_P50 RSS_IDLE RSS_END HWM ROWS OPENED CHECKS
FAILED=0

for r in $(seq 1 "$REPEAT"); do
    d="$WORK/round$r"
    mkdir -p "$d"
    log "round $r/$REPEAT: loms-server"
    start_loms "$d/loms"
    sleep 1
    RSS_IDLE+=("$(proc_kb "$LOMS_PID")")
    base=$((1700000000000 + r * 4000000000))
    log "  POST /signals/bounce, concurrency 1, ${SECS}s (http://$LOMS_ADDR)"
    run_wrk "$LOMS_ADDR" 1 "$SECS" "$base" "$d/loms-c1"
    log "  POST /signals/bounce, concurrency $CONC, ${SECS}s"
    run_wrk "$LOMS_ADDR" "$CONC" "$SECS" $((base + 2000000000)) "$d/loms-c$CONC"
    RSS_END+=("$(proc_kb "$LOMS_PID")")
    HWM+=("$(proc_kb "$LOMS_PID" VmHWM)")
    stop_pid "$LOMS_PID"
    L1_RPS+=("$(rps "$d/loms-c1")"); L1_P50+=("$(ms "$d/loms-c1" p50_us)"); L1_P99+=("$(ms "$d/loms-c1" p99_us)")
    LC_RPS+=("$(rps "$d/loms-c$CONC")"); LC_P50+=("$(ms "$d/loms-c$CONC" p50_us)"); LC_P99+=("$(ms "$d/loms-c$CONC" p99_us)")

    # Durability: every 200 that opened a position has its row; rows beyond those are
    # signals the server received but whose answer wrk dropped when its time was up.
    rows=$(count_rows "$LOMS_DB" positions)
    opened=0 sent=0 answered=0 bad=0
    for f in "$d/loms-c1" "$d/loms-c$CONC"; do
        opened=$((opened + $(field "$f" opened)))
        sent=$((sent + $(field "$f" sent)))
        answered=$((answered + $(field "$f" answered)))
        bad=$((bad + $(field "$f" non200) + $(field "$f" duplicates) + $(field "$f" err_connect) \
            + $(field "$f" err_read) + $(field "$f" err_write) + $(field "$f" err_timeout)))
    done
    unanswered=$((sent - answered))
    if ((rows >= opened && rows <= opened + unanswered && bad == 0)); then
        verdict="ok"
    else
        verdict="FAILED"
        FAILED=1
    fi
    ROWS+=("$rows"); OPENED+=("$opened")
    CHECKS+=("round $r: $rows position rows; $opened answers 200 with \"risk_ok\":true; $unanswered signals sent but not answered when wrk stopped (in flight); non-200, duplicate, socket errors and timeouts: $bad -> $verdict")
    log "  check: ${CHECKS[-1]}"

    # Diagnostic: the same load with the exit loop paused, to tell intake apart from
    # the auto-close passes over the open positions it piles up (risk limits are off).
    log "round $r/$REPEAT: loms-server, exit loop paused (AUTO_CLOSE_INTERVAL_SEC=3600)"
    start_loms "$d/loms-noexit" --set AUTO_CLOSE_INTERVAL_SEC=3600
    run_wrk "$LOMS_ADDR" "$CONC" "$SECS" $((base + 3000000000)) "$d/noexit-c$CONC"
    stop_pid "$LOMS_PID"
    f="$d/noexit-c$CONC"
    nbad=$(($(field "$f" non200) + $(field "$f" duplicates) + $(field "$f" err_connect) \
        + $(field "$f" err_read) + $(field "$f" err_write) + $(field "$f" err_timeout)))
    ((nbad == 0)) || { FAILED=1; log "  exit loop paused: $nbad bad answers -> FAILED"; }
    NC_RPS+=("$(rps "$f")"); NC_P50+=("$(ms "$f" p50_us)"); NC_P99+=("$(ms "$f" p99_us)")

    log "round $r/$REPEAT: ceiling (a) hyper hello_ceiling"
    start_hello "$d"
    run_wrk "$HELLO_ADDR" 1 "$SECS" "$base" "$d/hello-c1"
    run_wrk "$HELLO_ADDR" "$CONC" "$SECS" "$base" "$d/hello-c$CONC"
    stop_pid "$HELLO_PID"
    H1_RPS+=("$(rps "$d/hello-c1")"); H1_P50+=("$(ms "$d/hello-c1" p50_us)"); H1_P99+=("$(ms "$d/hello-c1" p99_us)")
    HC_RPS+=("$(rps "$d/hello-c$CONC")"); HC_P50+=("$(ms "$d/hello-c$CONC" p50_us)"); HC_P99+=("$(ms "$d/hello-c$CONC" p99_us)")

    log "round $r/$REPEAT: ceiling (b) rusqlite, one row per durable transaction, ${SQLITE_SECS}s"
    "$RELEASE/examples/sqlite_ceiling" --path "$d/ceiling.db" --secs "$SQLITE_SECS" >"$d/sqlite"
    SQ_RPS+=("$(field "$d/sqlite" rows_per_s)"); SQ_P50+=("$(field "$d/sqlite" commit_p50_us)")
done

m() { median "$@"; }
runs() { if ((REPEAT > 1)); then local IFS='/'; printf ' (%s)' "$*" | sed 's|/| / |g'; fi; }
mi() { printf '%.0f' "$(median "$@")"; } # a median in whole units
l1=$(mi "${L1_RPS[@]}"); lc=$(mi "${LC_RPS[@]}"); h1=$(mi "${H1_RPS[@]}"); hc=$(mi "${HC_RPS[@]}"); sq=$(mi "${SQ_RPS[@]}")
l1p50=$(m "${L1_P50[@]}"); lcp99=$(m "${LC_P99[@]}")
idle_kb=$(m "${RSS_IDLE[@]}"); end_kb=$(m "${RSS_END[@]}")
runs_mb() { local a=() k; for k in "$@"; do a+=("$(kb_to_mb "$k")"); done; runs "${a[@]}"; }
yes() { if awk "BEGIN {exit !($1)}"; then printf 'met'; else printf '**missed**'; fi; }

REPORT="$WORK/report.md"
{
    echo "## LOMS intake — $STAMP"
    echo
    echo "- machine: $(machine_line)"
    echo "- revision: $(revision_line)"
    echo "- load generator: $(wrk --version 2>&1 | head -n1 | awk '{print $1, $2}'), scripts/bench/signals.lua (a distinct signal per request), threads = min(concurrency, 2), on the same 2 cores as the server"
    echo "- runs: ${SECS} s per concurrency, $REPEAT round(s); medians$( ((REPEAT > 1)) && echo ', every round in parentheses')"
    echo "- command: \`BENCH_SECS=$SECS BENCH_REPEAT=$REPEAT BENCH_CONCURRENCY=$CONC scripts/bench/intake.sh\`"
    echo
    echo "| what | concurrency | requests/s | p50 ms | p99 ms |"
    echo "|---|---:|---:|---:|---:|"
    echo "| LOMS POST /signals/bounce | 1 | $l1$(runs "${L1_RPS[@]}") | $l1p50$(runs "${L1_P50[@]}") | $(m "${L1_P99[@]}")$(runs "${L1_P99[@]}") |"
    echo "| LOMS POST /signals/bounce | $CONC | $lc$(runs "${LC_RPS[@]}") | $(m "${LC_P50[@]}")$(runs "${LC_P50[@]}") | $lcp99$(runs "${LC_P99[@]}") |"
    echo "| LOMS, exit loop paused (diagnostic) | $CONC | $(mi "${NC_RPS[@]}")$(runs "${NC_RPS[@]}") | $(m "${NC_P50[@]}")$(runs "${NC_P50[@]}") | $(m "${NC_P99[@]}")$(runs "${NC_P99[@]}") |"
    echo "| ceiling (a): hyper hello_ceiling | 1 | $h1$(runs "${H1_RPS[@]}") | $(m "${H1_P50[@]}")$(runs "${H1_P50[@]}") | $(m "${H1_P99[@]}")$(runs "${H1_P99[@]}") |"
    echo "| ceiling (a): hyper hello_ceiling | $CONC | $hc$(runs "${HC_RPS[@]}") | $(m "${HC_P50[@]}")$(runs "${HC_P50[@]}") | $(m "${HC_P99[@]}")$(runs "${HC_P99[@]}") |"
    echo "| ceiling (b): rusqlite, 1 row per durable commit | 1 thread | $sq rows/s$(runs "${SQ_RPS[@]}") | commit $(awk -v u="$(m "${SQ_P50[@]}")" 'BEGIN {printf "%.3f", u / 1000}') | |"
    echo
    echo "| LOMS as a share of its ceiling | concurrency 1 | concurrency $CONC |"
    echo "|---|---:|---:|"
    echo "| of (a) hyper hello_ceiling, requests/s | $(pct "$l1" "$h1") | $(pct "$lc" "$hc") |"
    echo "| of (b) rusqlite one commit per row, rows/s | $(pct "$l1" "$sq") | $(pct "$lc" "$sq") |"
    echo
    echo "| target (issue 5) | figure | |"
    echo "|---|---:|---|"
    echo "| concurrency $CONC: ≥ 10,000 signals/s | $lc/s | $(yes "$lc >= 10000") |"
    echo "| concurrency $CONC: p99 ≤ 5 ms | $lcp99 ms | $(yes "$lcp99 <= 5") |"
    echo "| concurrency 1: p50 ≤ 0.5 ms | $l1p50 ms | $(yes "$l1p50 <= 0.5") |"
    echo "| RSS idle ≤ 10 MB (VmRSS 1 s after start) | $(kb_to_mb "$idle_kb") MB$(runs_mb "${RSS_IDLE[@]}") | $(yes "$idle_kb <= 10240") |"
    echo "| RSS after the runs ($(m "${ROWS[@]}")$(runs "${ROWS[@]}") position rows), for reference | $(kb_to_mb "$end_kb") MB$(runs_mb "${RSS_END[@]}"), peak VmHWM $(kb_to_mb "$(m "${HWM[@]}")") MB | |"
    echo
    echo "Durability (positions table read with $(command -v sqlite3 >/dev/null && echo sqlite3 || echo python3) after a clean stop):"
    echo
    for c in "${CHECKS[@]}"; do echo "- $c"; done
} >"$REPORT"

mkdir -p "$OUT_DIR"
cp "$REPORT" "$OUT_DIR/intake-$STAMP.md"
cat "$REPORT"
log "written to $OUT_DIR/intake-$STAMP.md"
((FAILED == 0)) || die "durability check failed (see above)"
