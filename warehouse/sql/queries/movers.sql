-- Each symbol's latest daily return, ranked within its asset class: the $n biggest gains
-- (ret > 0) and the $n biggest losses (ret < 0). A stale symbol keeps its own latest date.
WITH latest AS (
    SELECT symbol,
           max(date) AS date,
           arg_max(adj_close, date) AS adj_close,
           arg_max(ret, date) AS ret
    FROM marts.returns_daily
    GROUP BY symbol
), ranked AS (
    SELECT coalesce(i.asset_class, 'unknown') AS asset_class, l.symbol,
           coalesce(i.name, l.symbol) AS name, l.date, l.adj_close, l.ret,
           row_number() OVER (PARTITION BY i.asset_class ORDER BY l.ret DESC, l.symbol) AS up,
           row_number() OVER (PARTITION BY i.asset_class ORDER BY l.ret ASC, l.symbol) AS down
    FROM latest l
    LEFT JOIN core.instruments i USING (symbol)
    WHERE l.ret IS NOT NULL
)
SELECT asset_class, 'gainer' AS side, up AS rank, symbol, name, date, adj_close, ret
FROM ranked WHERE ret > 0 AND up <= $n
UNION ALL
SELECT asset_class, 'loser' AS side, down AS rank, symbol, name, date, adj_close, ret
FROM ranked WHERE ret < 0 AND down <= $n
ORDER BY asset_class, side, rank
