-- Returns for every bar in [$start, $end], each symbol's first bar after the window (its
-- previous bar may just have been filled in by a backfill), and every bar of a symbol with an
-- ex-date in the window or a re-adjusted history (its earlier adj_close was just re-based).
WITH targets AS (
    SELECT symbol, date FROM core.prices_daily WHERE date BETWEEN $start AND $end
    UNION ALL
    SELECT symbol, min(date) FROM core.prices_daily WHERE date > $end GROUP BY symbol
    UNION ALL
    SELECT symbol, date FROM core.prices_daily
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions
                     WHERE ex_date BETWEEN $start AND $end)
    UNION ALL  -- every bar of a symbol whose history was re-adjusted (an action changed)
    SELECT symbol, date FROM core.prices_daily
    WHERE symbol IN (
        SELECT c.symbol
        FROM (SELECT symbol, max(date) AS date, arg_max(adj_close, date) AS adj_close
              FROM core.prices_daily WHERE date < $start GROUP BY symbol) c
        JOIN marts.returns_daily r ON r.symbol = c.symbol AND r.date = c.date
        WHERE abs(r.adj_close - c.adj_close) > 1e-9 * abs(c.adj_close))
), bars AS (
    SELECT symbol, date, adj_close, fetched_at, run_id,
           lag(adj_close) OVER (PARTITION BY symbol ORDER BY date) AS prev
    FROM core.prices_daily
    WHERE symbol IN (SELECT DISTINCT symbol FROM targets)
)
SELECT b.symbol, b.date, b.adj_close,
       b.adj_close / b.prev - 1.0 AS ret,
       ln(b.adj_close / b.prev) AS log_ret,
       b.run_id, b.fetched_at
FROM bars b SEMI JOIN targets t ON b.symbol = t.symbol AND b.date = t.date
