#!/usr/bin/env bash
# Place a market order on the fake exchange as a person would in the Bitget app: signed
# with the fake's key, with a client id that is not LOMS's. docs/go-live.md, section 0,
# uses it to make a position LOMS did not open, for `loms-ctl reconcile` to find.
#
#   scripts/go-live/fake-app-order.sh BTCUSDT buy 0.0003 [http://127.0.0.1:18931]
#
# Only for the fake (its key is public: fake-key / fake-secret / fake-pass).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 SYMBOL buy|sell SIZE [FAKE_URL]" >&2; exit 64; }
symbol=$1 side=$2 size=$3 url=${4:-http://127.0.0.1:18931}
path=/api/v2/mix/order/place-order
ts=$(date +%s%3N)
body='{"symbol":"'"$symbol"'","productType":"USDT-FUTURES","marginMode":"isolated","marginCoin":"USDT","size":"'"$size"'","side":"'"$side"'","orderType":"market","clientOid":"app-'"$ts"'"}'
sign=$(printf '%s' "${ts}POST${path}${body}" | openssl dgst -sha256 -hmac fake-secret -binary | base64)
curl -s -X POST "$url$path" -H 'Content-Type: application/json' -H 'locale: en-US' \
  -H "ACCESS-KEY: fake-key" -H "ACCESS-SIGN: $sign" -H "ACCESS-TIMESTAMP: $ts" \
  -H "ACCESS-PASSPHRASE: fake-pass" -d "$body"
echo
