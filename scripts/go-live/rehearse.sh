#!/usr/bin/env bash
# Run the commands of docs/go-live.md section 0 ("Rehearsal against the fake exchange")
# as written, in a throw-away HOME, and print what they print: a maintainer's check that
# the page still matches the binaries (compare with the outputs pasted in the page).
#
#   cargo build --release -p loms-server -p loms-ctl -p loms-health -p loms-stats -p loms-fake-bitget
#   scripts/go-live/rehearse.sh            # from the repository's root
#
# Needs curl and jq, and the ports 18931 and 18932 of 127.0.0.1 free. Only the fake
# exchange is ever talked to. The section's last block stops both processes it started.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOC=$ROOT/docs/go-live.md
for b in loms-server loms-ctl loms-health loms-stats fake-bitget; do
  [ -x "$ROOT/target/release/$b" ] || { echo "missing target/release/$b: build first (see the top of this script)" >&2; exit 2; }
done
HOME=$(mktemp -d)
export HOME LOMS=$ROOT PATH=$ROOT/target/release:$PATH
# The ```sh blocks between "## 0." and "## 1.", in order, as one script.
# Each block's output follows a line `==> block N`, N counting from 1.
script=$(awk '/^## 0\./{on=1} /^## 1\./{on=0}
  on && /^```sh$/{code=1; n++; print "echo \"==> block " n "\""; next}
  code && /^```$/{code=0; print ""; next} code{print}' "$DOC")
[ -n "$script" ] || { echo "no commands found in $DOC section 0" >&2; exit 2; }
echo "# HOME=$HOME"
bash -c "$script" 2>&1
