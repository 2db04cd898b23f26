-- Symbols whose stored bars before the window (from $start) carry an adjustment that no longer
-- matches the actions: the factor stored on each symbol's last bar before $start
-- (adj_close / close) against the factor action_factors now gives that bar. Any change to the
-- actions on or after $start (added, removed, corrected), or to the close a dividend divides
-- by, changes that factor. Run while the window's old bars are out of core.prices_daily.
WITH last_before AS (
    SELECT symbol, max(date) AS date, arg_max(close, date) AS close,
           arg_max(adj_close, date) AS adj_close
    FROM core.prices_daily
    WHERE date < $start
    GROUP BY symbol
)
SELECT l.symbol
FROM last_before l
ASOF LEFT JOIN action_factors f ON l.symbol = f.symbol AND l.date < f.ex_date
WHERE abs(l.adj_close / l.close - exp(coalesce(f.cum_log, 0.0)))
      > 1e-9 * exp(coalesce(f.cum_log, 0.0))
ORDER BY l.symbol
