//! Exchange client tests against a fake exchange on 127.0.0.1 (never the internet).

mod bitget;
mod bybit;
mod fake;
mod transport;

use fake::{FakeExchange, T0_MS};
use loms_domain::{Decimal, ManualClock, PriceQuote};
use loms_price_source::{Exchange, ExchangeClient, ExchangeConfig, Market, PriceError};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// A clock one second after the canned server time.
fn clock() -> Arc<ManualClock> {
    let t0 = chrono::DateTime::from_timestamp_millis(T0_MS).expect("valid T0");
    Arc::new(ManualClock::new(t0 + chrono::Duration::seconds(1)))
}

/// Test settings: the fake's URL, 2 s timeout, 10 s max age, 2 retries from 5 ms, 5 s budget.
fn config(fake: &FakeExchange, exchange: Exchange, market: Market) -> ExchangeConfig {
    let mut c = ExchangeConfig::new(exchange, market, Duration::from_secs(5));
    c.base_url = fake.base_url();
    c.timeout = Duration::from_secs(2);
    c.max_age = Duration::from_secs(10);
    c.retries = 2;
    c.retry_backoff = Duration::from_millis(5);
    c
}

fn client(fake: &FakeExchange, exchange: Exchange, market: Market) -> ExchangeClient {
    ExchangeClient::new(config(fake, exchange, market), clock())
}

fn syms(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal literal")
}

/// The quote, failing the test with the error otherwise.
fn ok(r: &Result<PriceQuote, PriceError>) -> &PriceQuote {
    match r {
        Ok(q) => q,
        Err(e) => panic!("expected a quote, got {e}"),
    }
}

/// The detail of an `Unavailable` from `source`, failing the test otherwise.
fn unavailable(r: &Result<PriceQuote, PriceError>, source: &str) -> String {
    match r {
        Err(PriceError::Unavailable {
            source_name,
            detail,
        }) => {
            assert_eq!(*source_name, source);
            detail.clone()
        }
        other => panic!("expected Unavailable from {source}, got {other:?}"),
    }
}
