-- Returns for every bar in [$start, $end], each symbol's first bar after the window (its
-- previous bar may just have been filled in by a backfill), and every bar of a symbol with an
-- ex-date in the window (its earlier adj_close was just re-based; the returns do not change).
WITH targets AS (
    SELECT symbol, date FROM core.prices_daily WHERE date BETWEEN $start AND $end
    UNION ALL
    SELECT symbol, min(date) FROM core.prices_daily WHERE date > $end GROUP BY symbol
    UNION ALL
    SELECT symbol, date FROM core.prices_daily
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions
                     WHERE ex_date BETWEEN $start AND $end)
), bars AS (
    SELECT symbol, date, adj_close,
           lag(adj_close) OVER (PARTITION BY symbol ORDER BY date) AS prev
    FROM core.prices_daily
    WHERE symbol IN (SELECT DISTINCT symbol FROM targets)
)
SELECT b.symbol, b.date, b.adj_close,
       b.adj_close / b.prev - 1.0 AS ret,
       ln(b.adj_close / b.prev) AS log_ret,
       $run_id AS run_id
FROM bars b SEMI JOIN targets t ON b.symbol = t.symbol AND b.date = t.date
