-- Headline counts for the overview.
SELECT (SELECT count(*) FROM core.instruments) AS instruments,
       count(*) AS bars,
       count(DISTINCT symbol) AS symbols,
       min(date) AS first_date,
       max(date) AS last_date
FROM core.prices_daily
