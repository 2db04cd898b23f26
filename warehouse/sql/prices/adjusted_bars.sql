-- Bars of window_bars with adj_close derived from action_factors; provenance kept as it is.
SELECT w.symbol, w.date, w.open, w.high, w.low, w.close,
       w.close * exp(coalesce(f.cum_log, 0.0)) AS adj_close,
       w.volume, w.market_cap, w.source, w.fetched_at, w.run_id
FROM window_bars w
ASOF LEFT JOIN action_factors f ON w.symbol = f.symbol AND w.date < f.ex_date
