-- Cumulative adjustment per ex-date: for a bar dated d, the factor to apply is the product of
-- the factors of every ex-date after d, i.e. exp(cum_log) of the first ex-date after d.
-- Split factor = 1 / ratio. Dividend factor = 1 - dividend / previous close, where the previous
-- close is restated in post-split shares when a split falls on the same ex-date.
-- Run while the window being rebuilt is out of core.prices_daily and in view window_bars.
WITH bars AS (
    SELECT symbol, date, close FROM core.prices_daily
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions)
    UNION ALL
    SELECT symbol, date, close FROM window_bars
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions)
), days AS (
    SELECT symbol, ex_date,
           product(value) FILTER (WHERE action = 'split') AS split_ratio,
           sum(value) FILTER (WHERE action = 'dividend') AS dividend
    FROM core.corporate_actions
    GROUP BY symbol, ex_date
), factors AS (
    SELECT d.symbol, d.ex_date,
           ln(1.0 / coalesce(d.split_ratio, 1.0))
           + CASE WHEN d.dividend IS NULL OR b.close IS NULL THEN 0.0
                  WHEN b.close / coalesce(d.split_ratio, 1.0) > d.dividend
                  THEN ln(1.0 - d.dividend / (b.close / coalesce(d.split_ratio, 1.0)))
                  ELSE 0.0 END AS log_factor
    FROM days d
    ASOF LEFT JOIN bars b ON d.symbol = b.symbol AND d.ex_date > b.date
)
SELECT symbol, ex_date,
       sum(log_factor) OVER (PARTITION BY symbol ORDER BY ex_date DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_log
FROM factors
