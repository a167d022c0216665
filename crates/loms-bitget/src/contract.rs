//! A USDT-M contract's trading rules (`GET /api/v2/mix/market/contracts`) and the
//! rounding of sizes and prices to them (../shared/spec/bitget-live.md §8).
//!
//! Sizes are rounded **down** (never above the risk budget), then checked against the
//! minimum quantity and notional; a stop is rounded **toward the entry**, so the loss
//! never exceeds what was asked.

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;
use std::str::FromStr;

/// The rules of one contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractSpec {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Decimals of a price (`pricePlace`).
    pub price_place: u32,
    /// Price step in units of the last decimal (`priceEndStep`).
    pub price_end_step: Decimal,
    /// Decimals of a size (`volumePlace`).
    pub volume_place: u32,
    /// Size step, base coin (`sizeMultiplier`).
    pub size_multiplier: Decimal,
    /// Smallest size, base coin (`minTradeNum`).
    pub min_trade_num: Decimal,
    /// Smallest notional, USDT (`minTradeUSDT`).
    pub min_trade_usdt: Decimal,
    /// Largest market order size, when the venue says (`maxMarketOrderQty`).
    pub max_market_order_qty: Option<Decimal>,
    /// Leverage range (`minLever`, `maxLever`).
    pub min_lever: u32,
    /// See `min_lever`.
    pub max_lever: u32,
    /// `symbolStatus`: trade only when `normal`.
    pub status: String,
}

/// Why no order can be sized: said to the caller, nothing is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeRefusal {
    /// The contract is not open for trading.
    #[error("{symbol} is not tradable now (symbolStatus {status})")]
    NotTradable {
        /// Symbol.
        symbol: String,
        /// The venue's status.
        status: String,
    },
    /// Below `minTradeNum` after rounding down.
    #[error("{symbol}: size {size} is below the minimum {min} (from {notional} USDT at {price})")]
    BelowMinSize {
        /// Symbol.
        symbol: String,
        /// Rounded size.
        size: Decimal,
        /// `minTradeNum`.
        min: Decimal,
        /// The notional asked for.
        notional: Decimal,
        /// The price it was sized at.
        price: Decimal,
    },
    /// Below `minTradeUSDT` after rounding down.
    #[error("{symbol}: order value {value} USDT is below the minimum {min} USDT")]
    BelowMinNotional {
        /// Symbol.
        symbol: String,
        /// size × price.
        value: Decimal,
        /// `minTradeUSDT`.
        min: Decimal,
    },
    /// Above `maxMarketOrderQty`.
    #[error("{symbol}: size {size} is above the largest market order {max}")]
    AboveMaxSize {
        /// Symbol.
        symbol: String,
        /// Rounded size.
        size: Decimal,
        /// `maxMarketOrderQty`.
        max: Decimal,
    },
    /// A price or notional that cannot size anything (≤ 0).
    #[error("{symbol}: cannot size an order from notional {notional} at price {price}")]
    BadInput {
        /// Symbol.
        symbol: String,
        /// Notional.
        notional: Decimal,
        /// Price.
        price: Decimal,
    },
}

/// A contract row the venue sent that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("contract {symbol}: field {field} is missing or not a number")]
pub struct SpecError {
    /// Symbol, or `?`.
    pub symbol: String,
    /// The field.
    pub field: &'static str,
}

impl ContractSpec {
    /// Read one row of the `contracts` answer's `data`.
    ///
    /// # Errors
    /// [`SpecError`] naming the field.
    pub fn from_json(row: &Value) -> Result<Self, SpecError> {
        let symbol = row
            .get("symbol")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let err = |field| SpecError {
            symbol: symbol.clone(),
            field,
        };
        let text = |field: &'static str| -> Result<String, SpecError> {
            match row.get(field) {
                Some(Value::String(s)) => Ok(s.trim().to_string()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(err(field)),
            }
        };
        let dec = |field: &'static str| -> Result<Decimal, SpecError> {
            Decimal::from_str(&text(field)?).map_err(|_| err(field))
        };
        let int = |field: &'static str| -> Result<u32, SpecError> {
            text(field)?.parse::<u32>().map_err(|_| err(field))
        };
        let spec = Self {
            symbol: symbol.clone(),
            price_place: int("pricePlace")?,
            price_end_step: dec("priceEndStep")?,
            volume_place: int("volumePlace")?,
            size_multiplier: dec("sizeMultiplier")?,
            min_trade_num: dec("minTradeNum")?,
            min_trade_usdt: dec("minTradeUSDT")?,
            max_market_order_qty: match row.get("maxMarketOrderQty") {
                None | Some(Value::Null) => None,
                Some(_) => Some(dec("maxMarketOrderQty")?).filter(|d| *d > Decimal::ZERO),
            },
            min_lever: int("minLever")?,
            max_lever: int("maxLever")?,
            status: text("symbolStatus")?,
        };
        if spec.price_place > 18 || spec.volume_place > 18 {
            return Err(err("pricePlace/volumePlace"));
        }
        if spec.price_end_step <= Decimal::ZERO {
            return Err(err("priceEndStep"));
        }
        if spec.size_multiplier <= Decimal::ZERO {
            return Err(err("sizeMultiplier"));
        }
        Ok(spec)
    }

    /// The price tick: `priceEndStep × 10^-pricePlace`.
    pub fn tick(&self) -> Decimal {
        self.price_end_step * Decimal::new(1, self.price_place)
    }

    /// `qty` rounded down to the size step and to `volumePlace` decimals.
    pub fn round_size_down(&self, qty: Decimal) -> Decimal {
        let steps = (qty / self.size_multiplier).floor();
        (steps * self.size_multiplier)
            .round_dp_with_strategy(self.volume_place, RoundingStrategy::ToZero)
            .normalize()
    }

    /// The size of an order worth `notional` USDT at `price`, rounded down and checked.
    ///
    /// # Errors
    /// [`SizeRefusal`] saying which rule the order breaks; nothing may be sent then.
    pub fn size_for_notional(
        &self,
        notional: Decimal,
        price: Decimal,
    ) -> Result<Decimal, SizeRefusal> {
        if notional <= Decimal::ZERO || price <= Decimal::ZERO {
            return Err(SizeRefusal::BadInput {
                symbol: self.symbol.clone(),
                notional,
                price,
            });
        }
        let size = self.round_size_down(notional / price);
        self.check_size(size, price).map_err(|e| match e {
            SizeRefusal::BelowMinSize {
                symbol, size, min, ..
            } => SizeRefusal::BelowMinSize {
                symbol,
                size,
                min,
                notional,
                price,
            },
            other => other,
        })
    }

    /// Check a size (already on the step) against the contract's limits at `price`.
    ///
    /// # Errors
    /// [`SizeRefusal`] naming the broken rule.
    pub fn check_size(&self, size: Decimal, price: Decimal) -> Result<Decimal, SizeRefusal> {
        let symbol = || self.symbol.clone();
        if !self.status.eq_ignore_ascii_case("normal") {
            return Err(SizeRefusal::NotTradable {
                symbol: symbol(),
                status: self.status.clone(),
            });
        }
        if size < self.min_trade_num || size <= Decimal::ZERO {
            return Err(SizeRefusal::BelowMinSize {
                symbol: symbol(),
                size,
                min: self.min_trade_num,
                notional: size * price,
                price,
            });
        }
        let value = size * price;
        if value < self.min_trade_usdt {
            return Err(SizeRefusal::BelowMinNotional {
                symbol: symbol(),
                value: value.normalize(),
                min: self.min_trade_usdt,
            });
        }
        if let Some(max) = self.max_market_order_qty.filter(|m| size > *m) {
            return Err(SizeRefusal::AboveMaxSize {
                symbol: symbol(),
                size,
                max,
            });
        }
        Ok(size)
    }

    /// `price` on the tick, rounded in `toward` direction.
    pub fn round_price(&self, price: Decimal, toward: Toward) -> Decimal {
        let tick = self.tick();
        let steps = price / tick;
        let steps = match toward {
            Toward::Up => steps.ceil(),
            Toward::Down => steps.floor(),
            Toward::Nearest => {
                steps.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
            }
        };
        (steps * tick).round_dp(self.price_place).normalize()
    }

    /// A stop-loss on the tick, rounded toward the entry: up for a long (stop below the
    /// entry), down for a short, so the loss never exceeds the one asked for.
    pub fn round_stop(&self, stop: Decimal, long: bool) -> Decimal {
        self.round_price(stop, if long { Toward::Up } else { Toward::Down })
    }

    /// A take-profit on the tick, rounded toward the entry (down for a long, up for a short):
    /// never a target further than asked.
    pub fn round_take_profit(&self, tp: Decimal, long: bool) -> Decimal {
        self.round_price(tp, if long { Toward::Down } else { Toward::Up })
    }
}

/// Direction of a rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Toward {
    /// To the next tick up.
    Up,
    /// To the next tick down.
    Down,
    /// To the nearest tick (half away from zero).
    Nearest,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;
    use serde_json::json;

    /// exchanges.md §10's BTCUSDT row, with the newer `maxMarketOrderQty`.
    pub(crate) fn btc() -> ContractSpec {
        ContractSpec::from_json(
            &json!({"symbol":"BTCUSDT","baseCoin":"BTC","quoteCoin":"USDT",
            "makerFeeRate":"0.0002","takerFeeRate":"0.0006","supportMarginCoins":["USDT"],
            "minTradeNum":"0.0001","priceEndStep":"1","volumePlace":"4","pricePlace":"1",
            "sizeMultiplier":"0.0001","symbolType":"perpetual","minTradeUSDT":"5",
            "symbolStatus":"normal","fundInterval":"8","minLever":"1","maxLever":"125",
            "maxMarketOrderQty":"220"}),
        )
        .unwrap()
    }

    #[test]
    fn reads_the_contract_row() {
        let c = btc();
        assert_eq!(c.tick(), dec!(0.1));
        assert_eq!((c.volume_place, c.size_multiplier), (4, dec!(0.0001)));
        assert_eq!(c.max_market_order_qty, Some(dec!(220)));
        let e = ContractSpec::from_json(&json!({"symbol":"X","pricePlace":"a"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "contract X: field pricePlace is missing or not a number"
        );
    }

    #[test]
    fn size_is_rounded_down_then_checked() {
        let c = btc();
        // 25 USDT at 64210.1 = 0.000389346… → 0.0003 (down, never above the budget).
        assert_eq!(
            c.size_for_notional(dec!(25), dec!(64210.1)).unwrap(),
            dec!(0.0003)
        );
        // 100 USDT at 64210.1 → 0.0015; 0.0015 × 64210.1 = 96.3 ≥ 5.
        assert_eq!(
            c.size_for_notional(dec!(100), dec!(64210.1)).unwrap(),
            dec!(0.0015)
        );
        let e = c.size_for_notional(dec!(5), dec!(64210.1)).unwrap_err();
        assert!(
            matches!(e, SizeRefusal::BelowMinSize { size, .. } if size.is_zero()),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "BTCUSDT: size 0 is below the minimum 0.0001 (from 5 USDT at 64210.1)"
        );
        // A size of the minimum quantity can still be under 5 USDT at a low price.
        let e = c.size_for_notional(dec!(4.9), dec!(20000)).unwrap_err();
        assert!(
            matches!(
                e,
                SizeRefusal::BelowMinSize { .. } | SizeRefusal::BelowMinNotional { .. }
            ),
            "{e}"
        );
        let e = c.check_size(dec!(0.0002), dec!(20000)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "BTCUSDT: order value 4 USDT is below the minimum 5 USDT"
        );
        let e = c.check_size(dec!(300), dec!(1)).unwrap_err();
        assert!(matches!(e, SizeRefusal::AboveMaxSize { .. }), "{e}");
        let mut halted = btc();
        halted.status = "maintain".into();
        assert!(matches!(
            halted.size_for_notional(dec!(100), dec!(100)),
            Err(SizeRefusal::NotTradable { .. })
        ));
        assert!(matches!(
            c.size_for_notional(dec!(100), dec!(0)),
            Err(SizeRefusal::BadInput { .. })
        ));
    }

    #[test]
    fn a_coarse_size_step_and_few_decimals() {
        let mut c = btc();
        c.size_multiplier = dec!(0.01);
        c.volume_place = 2;
        c.min_trade_num = dec!(0.01);
        assert_eq!(c.round_size_down(dec!(1.23999)), dec!(1.23));
        c.size_multiplier = dec!(5);
        c.volume_place = 0;
        assert_eq!(c.round_size_down(dec!(14.9)), dec!(10));
    }

    #[test]
    fn stops_round_toward_the_entry_and_prices_to_the_tick() {
        let mut c = btc();
        assert_eq!(
            c.round_stop(dec!(62500.04), true),
            dec!(62500.1),
            "long: up"
        );
        assert_eq!(
            c.round_stop(dec!(62500.06), false),
            dec!(62500),
            "short: down"
        );
        assert_eq!(
            c.round_stop(dec!(62500.1), true),
            dec!(62500.1),
            "on the tick stays"
        );
        assert_eq!(c.round_take_profit(dec!(66000.09), true), dec!(66000));
        assert_eq!(c.round_take_profit(dec!(66000.01), false), dec!(66000.1));
        // Demo SBTCSUSDT: priceEndStep 5 → tick 0.5.
        c.price_end_step = dec!(5);
        assert_eq!(c.tick(), dec!(0.5));
        assert_eq!(c.round_stop(dec!(62500.2), true), dec!(62500.5));
        assert_eq!(
            c.round_price(dec!(62500.74), Toward::Nearest),
            dec!(62500.5)
        );
        assert_eq!(c.round_price(dec!(62500.75), Toward::Nearest), dec!(62501));
    }
}
