-- Every instrument the app can show, grouped by asset class.
SELECT symbol, name, asset_class, currency, calendar, sector, is_benchmark, source
FROM core.instruments
ORDER BY asset_class, symbol
