//! The JSON of an order detail, a fill and a position, field for field as Bitget answers
//! them (bitget-live.md §6, exchanges.md §7).

use crate::state::{Order, Position, Side};
use serde_json::{Value, json};

/// `GET /api/v2/mix/order/detail`.
pub(crate) fn detail(o: &Order) -> Value {
    json!({"symbol":o.symbol,"size":o.size.to_string(),"orderId":o.order_id,"clientOid":o.client_oid,
        "baseVolume":o.size.to_string(),"priceAvg":o.price.to_string(),"fee":(-o.fee).to_string(),
        "price":"0","state":"filled","side":o.side.as_str(),"force":"gtc",
        "totalProfits":o.profit.to_string(),"posSide":"net","marginCoin":"USDT",
        "presetStopSurplusPrice":"",
        "presetStopLossPrice":o.preset_sl.map(|d| d.to_string()).unwrap_or_default(),
        "quoteVolume":(o.size * o.price).to_string(),"orderType":"market","leverage":"3",
        "marginMode":"isolated","reduceOnly":if o.reduce_only {"YES"} else {"NO"},
        "enterPointSource":"api","tradeSide":"","posMode":"one_way_mode",
        "orderSource":o.source.as_str(),"cancelReason":"","cTime":o.time_ms.to_string(),
        "uTime":o.time_ms.to_string()})
}

/// One fill of `fills` / `fill-history` (`marginCoin` only on the latter).
pub(crate) fn fill(o: &Order, with_margin_coin: bool) -> Value {
    let mut v = json!({"tradeId":o.trade_id,"symbol":o.symbol,"orderId":o.order_id,
        "price":o.price.to_string(),"baseVolume":o.size.to_string(),"feeDetail":[{"deduction":"no",
        "feeCoin":"USDT","totalDeductionFee":"0","totalFee":(-o.fee).to_string()}],
        "side":o.side.as_str(),"quoteVolume":(o.size * o.price).to_string(),
        "profit":o.profit.to_string(),"enterPointSource":"API",
        "tradeSide":if o.side == Side::Buy {"buy_single"} else {"sell_single"},
        "posMode":"one_way_mode","tradeScope":"taker","cTime":o.time_ms.to_string()});
    if with_margin_coin {
        v["marginCoin"] = json!("USDT");
    }
    v
}

/// One row of `all-position`.
pub(crate) fn position(p: &Position, now_ms: i64) -> Value {
    json!({"marginCoin":"USDT","symbol":p.symbol,"holdSide":if p.long {"long"} else {"short"},
        "openDelegateSize":"0","marginSize":"21.4","available":p.size.to_string(),"locked":"0",
        "total":p.size.to_string(),"leverage":"3","achievedProfits":"0",
        "openPriceAvg":p.entry.to_string(),"marginMode":"isolated","posMode":"one_way_mode",
        "unrealizedPL":"0","liquidationPrice":"43250.7","keepMarginRate":"0.004",
        "markPrice":p.entry.to_string(),"marginRatio":"0.0127","breakEvenPrice":p.entry.to_string(),
        "totalFee":"","deductedFee":"0","takeProfit":"","takeProfitId":"",
        "stopLoss":p.stop_loss.map(|d| d.to_string()).unwrap_or_default(),
        "stopLossId":if p.stop_loss.is_some() {p.stop_loss_id.clone()} else {String::new()},
        "assetMode":"single","autoMargin":"off","cTime":now_ms.to_string(),"uTime":now_ms.to_string()})
}
