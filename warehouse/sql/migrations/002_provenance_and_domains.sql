-- Provenance is carried, not restamped: core and mart rows keep the time and run of the fetch
-- that brought their raw rows (fetched_at, run_id), whatever run rebuilt them later.
ALTER TABLE core.prices_daily RENAME COLUMN ingested_at TO fetched_at;
ALTER TABLE core.corporate_actions RENAME COLUMN ingested_at TO fetched_at;
ALTER TABLE marts.returns_daily ADD COLUMN fetched_at TIMESTAMPTZ;
UPDATE marts.returns_daily r SET fetched_at = p.fetched_at, run_id = p.run_id
FROM core.prices_daily p WHERE p.symbol = r.symbol AND p.date = r.date;

-- One serving snapshot per domain: each row says which domain it published.
ALTER TABLE meta.snapshot ADD COLUMN domain VARCHAR DEFAULT 'prices';

-- Bars a failing blocking check named: the next plain build refetches them, so fixing the
-- source is enough. A row is deleted once a fetch of that symbol and day has landed.
CREATE TABLE IF NOT EXISTS meta.refetch (
    symbol        VARCHAR NOT NULL,
    date          DATE NOT NULL,
    reason        VARCHAR NOT NULL,          -- the check that named the bar
    requested_at  TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR NOT NULL           -- the run whose check failed
);
