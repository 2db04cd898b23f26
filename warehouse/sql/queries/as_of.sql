-- Freshness per price source and asset class: the latest bar, the latest fetch (UTC), counts.
SELECT p.source,
       coalesce(i.asset_class, 'unknown') AS asset_class,
       max(p.date) AS latest_date,
       timezone('UTC', max(p.fetched_at)) AS latest_fetched_at,
       count(DISTINCT p.symbol) AS symbols,
       count(*) AS bars
FROM core.prices_daily p
LEFT JOIN core.instruments i USING (symbol)
GROUP BY ALL
ORDER BY p.source, asset_class
