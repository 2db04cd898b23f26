"""The app's data access: a result cache bounded in bytes and per-process reader limits."""

from __future__ import annotations

from datetime import date

import pytest

from dashboards import data
from dashboards.app import MEMORY_ENV, THREADS_ENV, reader_limits
from warehouse.reader import ReaderLimits

SYMBOLS = ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "SPY", "BTC-USD", "ETH-USD"]


def test_the_cache_never_holds_more_bytes_than_its_bound(snapshot_dir):
    data.configure(snapshot_dir)  # the default bound: everything below fits
    first = data.price_history(["AAPL"], date(2023, 1, 1), date(2024, 12, 31))
    size = data.result_size(first)
    assert data.cache_bytes() == size
    assert data.price_history(["AAPL"], date(2023, 1, 1), date(2024, 12, 31)) is first  # a hit
    data.configure(snapshot_dir, cache_bytes=3 * size)
    for symbol in SYMBOLS:  # eight frames of about the same size: only three fit
        frame = data.price_history([symbol], date(2023, 1, 1), date(2024, 12, 31))
        assert not frame.empty
        assert data.cache_bytes() <= 3 * size
    assert data.cache_bytes() > size  # and it is used, not bypassed


def test_a_result_larger_than_the_whole_cache_is_served_not_cached(snapshot_dir):
    data.configure(snapshot_dir, cache_bytes=10_000)
    frame = data.price_history(SYMBOLS, date(2023, 1, 1), date(2024, 12, 31))
    assert len(frame) > 1_000 and data.cache_bytes() == 0


def test_reader_limits_come_from_the_environment(monkeypatch):
    assert reader_limits() == ReaderLimits()
    monkeypatch.setenv(MEMORY_ENV, "512MB")
    monkeypatch.setenv(THREADS_ENV, "1")
    assert reader_limits() == ReaderLimits("512MB", 1)
    monkeypatch.setenv(MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match=f"{MEMORY_ENV}='lots'"):
        reader_limits()
    monkeypatch.setenv(MEMORY_ENV, "1GB")
    monkeypatch.setenv(THREADS_ENV, "0")
    with pytest.raises(ValueError, match=f"{THREADS_ENV}='0'"):
        reader_limits()
