-- Splits and dividends of the listed symbols on a date window.
SELECT symbol, ex_date, action, value, source
FROM core.corporate_actions
WHERE symbol IN (SELECT unnest($symbols)) AND ex_date BETWEEN $start AND $end
ORDER BY symbol, ex_date, action
