# Shared by scripts/bench/*.sh (sourced, not run). Needs: ROOT, WORK (a temp dir).
#
# Every process started here is remembered in BENCH_PIDS and killed by bench_cleanup,
# which the scripts install as their EXIT trap. Only 127.0.0.1 is ever contacted.

BENCH_PIDS=()
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
RELEASE="$TARGET_DIR/release"
LUA="$ROOT/scripts/bench/signals.lua"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "${WORK:-}" && -d "$WORK" && "${BENCH_KEEP:-0}" != 1 ]]; then
        rm -rf -- "$WORK"
    elif [[ -n "${WORK:-}" ]]; then
        log "kept $WORK"
    fi
}

# An integer environment setting within [min, max], else die.
int_setting() { # NAME DEFAULT MIN MAX
    local v="${!1:-$2}"
    [[ "$v" =~ ^[0-9]+$ ]] && ((v >= $3 && v <= $4)) || die "$1 must be an integer in [$3, $4], got '$v'"
    printf '%s' "$v"
}

# wrk from Debian (apt-get) when missing. oha is not used: its per-request bodies
# (-Z) are drawn at random with replacement, so some signals would repeat and be
# answered as duplicates; wrk's Lua gives each request its own signal.
ensure_wrk() {
    command -v wrk >/dev/null && return 0
    log "wrk not found: installing it from Debian (apt-get install wrk)"
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq wrk >&2 || die "cannot install wrk"
    command -v wrk >/dev/null || die "wrk still missing"
}

# Rows of a table in a SQLite file (sqlite3 CLI, else python3).
count_rows() { # DB TABLE [WHERE]
    local sql="SELECT count(*) FROM $2${3:+ WHERE $3}"
    if command -v sqlite3 >/dev/null; then
        sqlite3 -readonly "$1" "$sql"
    else
        python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print(c.execute(sys.argv[2]).fetchone()[0])' "$1" "$sql"
    fi
}

# VmRSS (or another /proc status field) of PID, in kB.
proc_kb() { # PID [FIELD]
    awk -v f="${2:-VmRSS}:" '$1 == f {print $2}' "/proc/$1/status"
}

kb_to_mb() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# Start loms-server on 127.0.0.1 (port chosen by the kernel) with DB and audit file in
# DIR (reused when DIR already has them), the default (durable) settings of the dev
# profile, no risk limits and simulator prices (never the network). Sets LOMS_PID,
# LOMS_ADDR, LOMS_DB, LOMS_LOG. Extra arguments are passed on (--set KEY=VALUE).
start_loms() { # DIR [ARGS...]
    local dir="$1"; shift
    mkdir -p "$dir"
    : >"$dir/empty.env"
    LOMS_DB="$dir/loms.db"
    LOMS_LOG="$dir/server-$(date +%s%N).log"
    # The server's own "listening" line is needed whatever RUST_LOG asks for.
    (cd "$ROOT" && RUST_LOG="${RUST_LOG:-info},loms_server=info" exec "$RELEASE/loms-server" --env-file "$dir/empty.env" \
        --profile dev --bind 127.0.0.1:0 --set PRICE_SOURCE=simulator \
        --set "DATABASE_URL=sqlite:///$LOMS_DB" \
        --set "AUDIT_LOG_PATH=$dir/audit.jsonl" "$@") >"$LOMS_LOG" 2>&1 &
    LOMS_PID=$!
    BENCH_PIDS+=("$LOMS_PID")
    LOMS_ADDR=""
    for _ in $(seq 1 300); do
        LOMS_ADDR=$(sed -n 's|.*LOMS listening on http://\([^ ]*\).*|\1|p' "$LOMS_LOG" | head -n1)
        [[ -n "$LOMS_ADDR" ]] && break
        kill -0 "$LOMS_PID" 2>/dev/null || { cat "$LOMS_LOG" >&2; die "loms-server exited at start"; }
        sleep 0.1
    done
    [[ -n "$LOMS_ADDR" ]] || die "loms-server did not listen within 30 s (log: $LOMS_LOG)"
}

# SIGTERM a server and wait (at most 30 s) for a clean stop.
stop_pid() { # PID
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 1 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then
        log "pid $1 did not stop within 30 s: killing it"
        kill -KILL "$1" 2>/dev/null || true
    fi
    wait "$1" 2>/dev/null || true
}

# Start the hyper ceiling server. Sets HELLO_PID, HELLO_ADDR.
start_hello() { # DIR
    "$RELEASE/examples/hello_ceiling" --bind 127.0.0.1:0 >"$1/hello.log" 2>&1 &
    HELLO_PID=$!
    BENCH_PIDS+=("$HELLO_PID")
    HELLO_ADDR=""
    for _ in $(seq 1 100); do
        HELLO_ADDR=$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$1/hello.log" | head -n1)
        [[ -n "$HELLO_ADDR" ]] && break
        kill -0 "$HELLO_PID" 2>/dev/null || die "hello_ceiling exited at start"
        sleep 0.1
    done
    [[ -n "$HELLO_ADDR" ]] || die "hello_ceiling did not listen within 10 s"
}

# Run wrk with signals.lua against ADDR; the BENCH line goes to OUT (whole output to
# OUT.full). CONC connections on min(CONC, 2) threads (WRK_THREADS when set), for SECS
# seconds.
run_wrk() { # ADDR CONC SECS TS_BASE OUT
    local threads=${WRK_THREADS:-$(($2 < 2 ? $2 : 2))}
    BENCH_TS_BASE="$4" wrk -t"$threads" -c"$2" -d"$3"s --timeout 10s -s "$LUA" \
        "http://$1" >"$5.full" 2>&1 || { cat "$5.full" >&2; die "wrk failed"; }
    grep '^BENCH ' "$5.full" >"$5" || { cat "$5.full" >&2; die "wrk printed no BENCH line"; }
}

# Field of a "KEY=VALUE KEY=VALUE" line in FILE.
field() { # FILE KEY
    sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" "$1" | head -n1
}

# Median of numbers (arguments).
median() {
    printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.6g\n", (a[NR/2] + a[NR/2+1]) / 2}'
}

machine_line() {
    local cpu
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
    printf '%s cores, %s, kernel %s; load average before the runs: %s' "$(nproc)" \
        "${cpu:-unknown CPU}" "$(uname -r)" "${LOAD_BEFORE:-$(cut -d' ' -f1-3 /proc/loadavg)}"
}

revision_line() {
    if [[ -n "${BENCH_REVISION:-}" ]]; then printf '%s' "$BENCH_REVISION"; return; fi
    local rev dirty=""
    rev=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
    [[ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null | head -n1)" ]] && dirty=" + uncommitted changes"
    printf '%s%s' "$rev" "$dirty"
}
