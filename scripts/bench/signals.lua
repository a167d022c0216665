-- wrk script: POST /signals/bounce with a distinct signal per request.
--
-- Each request carries a symbol (B0USDT .. B<n-1>USDT, cycling) and a timestamp (Unix
-- milliseconds) that no other request of the run, nor of another run with another
-- BENCH_TS_BASE, carries, so the derived idempotency key (strategy|exchange|symbol|
-- side|timestamp) is never repeated and nothing is deduplicated.
--
-- Environment:
--   BENCH_TS_BASE  first timestamp, Unix ms (default 1700000000000); thread i uses
--                  BASE + i * 1e8 + n for its n-th request
--   BENCH_SYMBOLS  number of distinct symbols (default 100)
--   BENCH_PRICE    signal price (default 100)
--   BENCH_QUOTA    signals per wrk thread, then the thread stops once all are answered,
--                  or 3-4 s after its last was sent (0 = until -d ends); requests past
--                  the quota are GET /metrics, which writes nothing
--   BENCH_SYMBOL_FORMAT  instead of B<n>USDT: a symbol per signal, this format of
--                  tid * BENCH_QUOTA + n (n from 1), e.g. SYM%04dUSDT for the fake
--                  Bitget's --symbols (live holds one position per symbol)
--
-- done() prints one line for the harness:
--   BENCH requests=.. duration_us=.. p50_us=.. p99_us=.. ... opened=.. ...
-- where opened counts 200 answers with "risk_ok":true (a position was opened), answered
-- the signal answers received, and sent the signals generated: an upper bound of those
-- that reached the server, since wrk asks for a new request (and drops the one it had)
-- when a socket write has to be retried.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   sent, answered, ok200, opened, dups, non200 = 0, 0, 0, 0, 0, 0
   base = tonumber(os.getenv("BENCH_TS_BASE") or "1700000000000") + tid * 100000000
   nsym = tonumber(os.getenv("BENCH_SYMBOLS") or "100")
   price = os.getenv("BENCH_PRICE") or "100"
   quota = tonumber(os.getenv("BENCH_QUOTA") or "0")
   symfmt = os.getenv("BENCH_SYMBOL_FORMAT")
   -- live answers: how many said each order_status (globals: thread:get reads them)
   s_filled, s_submitted, s_pending_submit, s_rejected, s_unknown = 0, 0, 0, 0, 0
end

function request()
   if quota > 0 and sent >= quota then
      return wrk.format("GET", "/metrics")
   end
   sent = sent + 1
   local side = (sent % 2 == 0) and "long" or "short"
   local symbol
   if symfmt then
      symbol = string.format(symfmt, tid * quota + sent)
   else
      symbol = string.format("B%dUSDT", sent % nsym)
   end
   local body = string.format(
      '{"symbol":"%s","side":"%s","price":%s,"timestamp":%d,"exchange":"bitget",' ..
      '"timeframe_min":5,"strategy":"bounce_ema10_strict","tp_pct":4.5,"sl_pct":1.5}',
      symbol, side, price, base + sent)
   return wrk.format("POST", "/signals/bounce", {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
   -- /metrics (the filler past the quota) is text; every signal answer is JSON.
   if status == 200 and body:sub(1, 1) ~= "{" then
      return
   end
   answered = answered + 1
   if status == 200 then
      ok200 = ok200 + 1
      if body:find('"risk_ok":true', 1, true) then opened = opened + 1 end
      if body:find('"duplicate":true', 1, true) then dups = dups + 1 end
      local st = body:match('"order_status":"([a-z_]+)"')
      if st and _G["s_" .. st] then _G["s_" .. st] = _G["s_" .. st] + 1 end
   else
      non200 = non200 + 1
   end
   if quota > 0 and sent >= quota then
      -- Done when every signal is answered; a signal wrk dropped before sending it
      -- (a socket write retried) is never answered: give up on it 3-4 s after the last.
      quota_at = quota_at or os.time()
      if answered >= sent or os.time() - quota_at >= 4 then
         wrk.thread:stop()
      end
   end
end

function done(summary, latency, requests)
   local t = { sent = 0, answered = 0, ok200 = 0, opened = 0, dups = 0, non200 = 0,
      s_filled = 0, s_submitted = 0, s_pending_submit = 0, s_rejected = 0, s_unknown = 0 }
   for _, th in ipairs(threads) do
      for k, _ in pairs(t) do
         t[k] = t[k] + (th:get(k) or 0)
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
      "sent=%d answered=%d ok200=%d opened=%d duplicates=%d non200=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_timeout=%d " ..
      "filled=%d submitted=%d pending_submit=%d rejected=%d unknown=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, latency.mean, t.sent, t.answered, t.ok200, t.opened, t.dups, t.non200,
      e.connect, e.read, e.write, e.timeout, t.s_filled, t.s_submitted, t.s_pending_submit,
      t.s_rejected, t.s_unknown))
end
