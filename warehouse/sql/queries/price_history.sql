-- Daily bars (as traded, plus the split- and dividend-adjusted close) with provenance.
SELECT symbol, date, open, high, low, close, adj_close, volume, source,
       timezone('UTC', fetched_at) AS fetched_at
FROM core.prices_daily
WHERE symbol IN (SELECT unnest($symbols)) AND date BETWEEN $start AND $end
ORDER BY symbol, date
