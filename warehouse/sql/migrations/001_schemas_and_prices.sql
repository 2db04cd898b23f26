-- Schemas: raw (as fetched), core (clean, typed, keyed), marts (what the app reads), meta.
-- Keys are logical: (symbol, date) is kept unique by delete-window-then-insert writers and
-- verified by the unique-keys asset checks (an ART index would halve bulk-load speed).
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS meta;

CREATE TABLE IF NOT EXISTS core.instruments (
    symbol        VARCHAR PRIMARY KEY,
    name          VARCHAR NOT NULL,
    asset_class   VARCHAR NOT NULL,          -- equity | etf | index | crypto | fx
    currency      VARCHAR NOT NULL,
    calendar      VARCHAR NOT NULL,          -- exchange calendar code (XNYS) or 24/7
    sector        VARCHAR,
    yahoo_id      VARCHAR,
    coingecko_id  VARCHAR,
    is_benchmark  BOOLEAN NOT NULL DEFAULT false,
    source        VARCHAR NOT NULL,          -- the price source configured for this symbol
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Bars exactly as the source delivered them (as-traded, unadjusted), with provenance.
CREATE TABLE IF NOT EXISTS raw.prices_daily (
    symbol      VARCHAR NOT NULL,
    date        DATE NOT NULL,
    open        DOUBLE,
    high        DOUBLE,
    low         DOUBLE,
    close       DOUBLE,
    volume      DOUBLE,
    market_cap  DOUBLE,
    source      VARCHAR NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS raw.corporate_actions (
    symbol      VARCHAR NOT NULL,
    date        DATE NOT NULL,
    action      VARCHAR NOT NULL,            -- split | dividend
    value       DOUBLE NOT NULL,
    source      VARCHAR NOT NULL,
    fetched_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL
);

-- Clean daily bars; key (symbol, date). adj_close is derived by FinScope from close and
-- core.corporate_actions (split and dividend factors of every later ex-date).
CREATE TABLE IF NOT EXISTS core.prices_daily (
    symbol       VARCHAR NOT NULL,
    date         DATE NOT NULL,
    open         DOUBLE,
    high         DOUBLE,
    low          DOUBLE,
    close        DOUBLE NOT NULL,
    adj_close    DOUBLE NOT NULL,
    volume       DOUBLE NOT NULL,
    market_cap   DOUBLE,
    source       VARCHAR NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR NOT NULL
);

-- Splits (value = new shares per old) and cash dividends (value = cash per share as traded).
CREATE TABLE IF NOT EXISTS core.corporate_actions (
    symbol       VARCHAR NOT NULL,
    ex_date      DATE NOT NULL,
    action       VARCHAR NOT NULL,
    value        DOUBLE NOT NULL,
    source       VARCHAR NOT NULL,
    ingested_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR NOT NULL
);

-- Daily total returns from adjusted closes; key (symbol, date).
CREATE TABLE IF NOT EXISTS marts.returns_daily (
    symbol      VARCHAR NOT NULL,
    date        DATE NOT NULL,
    adj_close   DOUBLE NOT NULL,
    ret         DOUBLE,                      -- simple return vs the previous bar; NULL on the first
    log_ret     DOUBLE,
    run_id      VARCHAR NOT NULL
);

-- One row per (run, asset, symbol, window): what was fetched or why it failed.
CREATE TABLE IF NOT EXISTS meta.ingest_log (
    run_id      VARCHAR NOT NULL,
    asset       VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    symbol      VARCHAR NOT NULL,
    start_date  DATE NOT NULL,
    end_date    DATE NOT NULL,
    status      VARCHAR NOT NULL,            -- ok | failed
    rows        BIGINT NOT NULL,
    message     VARCHAR,
    logged_at   TIMESTAMPTZ NOT NULL
);

-- The serving snapshot: which version, when, from which run. Also copied into each snapshot.
CREATE TABLE IF NOT EXISTS meta.snapshot (
    version     VARCHAR NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    run_id      VARCHAR NOT NULL,
    tables      VARCHAR NOT NULL             -- JSON: table -> row count
);
