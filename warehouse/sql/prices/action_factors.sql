-- Cumulative adjustment per corporate action: for a bar dated d, the factor to apply is the
-- product of the factors of every action with ex_date > d, i.e. cum_log of the first such action.
-- Split factor = 1 / ratio; dividend factor = 1 - dividend / close of the previous bar.
CREATE OR REPLACE TEMP TABLE action_factors AS
-- Run while the window being rebuilt is out of core.prices_daily and in temp table window_bars.
WITH bars AS (
    SELECT symbol, date, close FROM core.prices_daily
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions)
    UNION ALL
    SELECT symbol, date, close FROM window_bars
    WHERE symbol IN (SELECT symbol FROM core.corporate_actions)
), factors AS (
    SELECT a.symbol, a.ex_date,
           CASE WHEN a.action = 'split' THEN 1.0 / a.value
                WHEN b.close > a.value THEN 1.0 - a.value / b.close
                ELSE 1.0 END AS factor
    FROM core.corporate_actions a
    ASOF LEFT JOIN bars b ON a.symbol = b.symbol AND a.ex_date > b.date
)
SELECT symbol, ex_date,
       sum(ln(factor)) OVER (PARTITION BY symbol ORDER BY ex_date DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_log
FROM factors;
