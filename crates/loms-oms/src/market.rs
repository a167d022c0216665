//! Prices for the writer: one quote request for a set of symbols, each price picked by
//! PRICE_MODE; what has no usable price is logged, counted and told apart.

use crate::writer::{Cmd, Market, Tick};
use crate::{Oms, OmsError};
use tokio::sync::oneshot;

impl Oms {
    /// The usable price of one symbol.
    pub(crate) async fn tick(&self, symbol: &str) -> Result<Tick, OmsError> {
        let (mut market, mut errors) = self.market(vec![symbol.to_string()]).await?;
        market
            .remove(symbol)
            .ok_or_else(|| OmsError::PriceUnavailable {
                symbol: symbol.to_string(),
                detail: errors
                    .pop()
                    .map_or_else(|| "no quote returned".into(), |(_, e)| e),
            })
    }

    /// One quote request for every symbol with an open position.
    pub(crate) async fn current_market(&self) -> Result<Market, OmsError> {
        let symbols = self.open_symbols().await?;
        Ok(self.market(symbols).await?.0)
    }

    /// The distinct symbols with an open position, from the writer's Book.
    pub(crate) async fn open_symbols(&self) -> Result<Vec<String>, OmsError> {
        let (reply, rx) = oneshot::channel();
        self.0
            .tx
            .send(Cmd::Symbols { reply })
            .map_err(|_| OmsError::Stopped)?;
        rx.await.map_err(|_| OmsError::Stopped)
    }

    /// One quote request for `symbols`, each picked by PRICE_MODE. Symbols without a
    /// usable price are logged, counted and returned apart with their error.
    pub(crate) async fn market(
        &self,
        symbols: Vec<String>,
    ) -> Result<(Market, Vec<(String, String)>), OmsError> {
        let mut market = Market::with_capacity(symbols.len());
        let mut errors = Vec::new();
        if symbols.is_empty() {
            return Ok((market, errors));
        }
        let source = self.0.deps.prices.clone();
        let batch = tokio::task::spawn_blocking(move || source.quotes(&symbols))
            .await
            .map_err(|e| OmsError::Storage(format!("price task failed: {e}")))?;
        let mode = self.0.settings.price_mode;
        for (symbol, q) in batch {
            match q.map_err(|e| e.to_string()).and_then(|q| {
                mode.pick(&q)
                    .map(|price| Tick {
                        price,
                        quote: q,
                        bar: None,
                        bar_start: None,
                    })
                    .map_err(|e| e.to_string())
            }) {
                Ok(t) => {
                    market.insert(symbol, t);
                }
                Err(e) => {
                    log::warn!("price_error symbol={symbol} error=\"{e}\"");
                    self.0.health.price_error(e.clone());
                    self.0.metrics.price_error();
                    errors.push((symbol, e));
                }
            }
        }
        if !market.is_empty() {
            self.0.health.price_ok(self.0.deps.clock.now());
        }
        Ok((market, errors))
    }
}
