-- First and last bar date, over all symbols or over those listed ($all = true ignores the list).
SELECT min(date), max(date), count(DISTINCT symbol)
FROM core.prices_daily
WHERE $all OR symbol IN (SELECT unnest($symbols))
