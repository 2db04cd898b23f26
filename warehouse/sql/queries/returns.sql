-- Daily total returns from adjusted closes (ret is NULL on a symbol's first bar).
SELECT symbol, date, adj_close, ret, log_ret
FROM marts.returns_daily
WHERE symbol IN (SELECT unnest($symbols)) AND date BETWEEN $start AND $end
ORDER BY symbol, date
