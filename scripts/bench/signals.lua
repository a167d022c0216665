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
--   BENCH_QUOTA    signals per wrk thread, then the thread stops (0 = until -d ends);
--                  requests past the quota are GET /metrics, which writes nothing
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
end

function request()
   if quota > 0 and sent >= quota then
      return wrk.format("GET", "/metrics")
   end
   sent = sent + 1
   local side = (sent % 2 == 0) and "long" or "short"
   local body = string.format(
      '{"symbol":"B%dUSDT","side":"%s","price":%s,"timestamp":%d,"exchange":"bitget",' ..
      '"timeframe_min":5,"strategy":"bounce_ema10_strict","tp_pct":4.5,"sl_pct":1.5}',
      sent % nsym, side, price, base + sent)
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
   else
      non200 = non200 + 1
   end
   if quota > 0 and answered >= quota then
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local t = { sent = 0, answered = 0, ok200 = 0, opened = 0, dups = 0, non200 = 0 }
   for _, th in ipairs(threads) do
      for k, _ in pairs(t) do
         t[k] = t[k] + (th:get(k) or 0)
      end
   end
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d mean_us=%.1f " ..
      "sent=%d answered=%d ok200=%d opened=%d duplicates=%d non200=%d " ..
      "err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      latency.max, latency.mean, t.sent, t.answered, t.ok200, t.opened, t.dups, t.non200,
      e.connect, e.read, e.write, e.timeout))
end
