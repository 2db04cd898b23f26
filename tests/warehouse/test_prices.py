"""Price writers on an in-memory warehouse: idempotence, adjustment maths, returns."""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pytest

from warehouse.migrate import migrate
from warehouse.prices import (
    present_dates,
    refresh_core_actions,
    refresh_core_prices,
    refresh_returns,
    replace_raw,
)

NOW = datetime(2024, 1, 10, tzinfo=UTC)


def bars(symbol: str, closes: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": symbol,
            "date": pd.to_datetime(list(closes)),
            "open": list(closes.values()),
            "high": [c * 1.01 for c in closes.values()],
            "low": [c * 0.99 for c in closes.values()],
            "close": list(closes.values()),
            "volume": 1000.0,
            "market_cap": float("nan"),
        }
    )


def actions(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["symbol", "date", "action", "value"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    migrate(con)
    return con


def load(con, prices, acts, start, end, run_id="r1", symbols=None):
    symbols = symbols or sorted(set(prices["symbol"]))
    replace_raw(con, prices, acts, symbols=symbols, start=start, end=end, source="test",
                fetched_at=NOW, run_id=run_id)
    refresh_core_actions(con, start=start, end=end)
    write = refresh_core_prices(con, start=start, end=end)
    refresh_returns(con, start=start, end=end)
    return write


def core(con) -> pd.DataFrame:
    return con.execute(
        "SELECT symbol, date::VARCHAR AS d, close, adj_close FROM core.prices_daily ORDER BY 1, 2"
    ).df()


def test_split_and_dividend_adjust_earlier_closes(con):
    prices = bars("X", {"2024-01-02": 100.0, "2024-01-03": 104.0, "2024-01-04": 26.0,
                        "2024-01-05": 25.0, "2024-01-08": 25.5})
    acts = actions([("X", "2024-01-04", "split", 4.0), ("X", "2024-01-08", "dividend", 0.5)])
    load(con, prices, acts, date(2024, 1, 1), date(2024, 1, 9))
    got = core(con).set_index("d")["adj_close"]
    div = 1 - 0.5 / 25.0  # dividend factor uses the close before the ex-date
    assert got["2024-01-08"] == pytest.approx(25.5)
    assert got["2024-01-05"] == pytest.approx(25.0 * div)
    assert got["2024-01-04"] == pytest.approx(26.0 * div)
    assert got["2024-01-03"] == pytest.approx(104.0 / 4 * div)
    assert got["2024-01-02"] == pytest.approx(100.0 / 4 * div)
    ret = con.execute(
        "SELECT date::VARCHAR, ret FROM marts.returns_daily ORDER BY date"
    ).fetchall()
    assert ret[0] == ("2024-01-02", None)
    assert dict(ret)["2024-01-04"] == pytest.approx(26.0 / 26.0 - 1)  # split is not a loss
    assert dict(ret)["2024-01-08"] == pytest.approx(25.5 / (25.0 - 0.5) - 1)


def test_rerun_changes_nothing(con):
    prices = pd.concat([bars("A", {"2024-01-02": 10.0, "2024-01-03": 11.0}),
                        bars("B", {"2024-01-02": 5.0, "2024-01-03": 5.5})])
    acts = actions([("A", "2024-01-03", "dividend", 0.1)])
    load(con, prices, acts, date(2024, 1, 2), date(2024, 1, 3))
    first = core(con)
    load(con, prices, acts, date(2024, 1, 2), date(2024, 1, 3), run_id="r2")
    pd.testing.assert_frame_equal(first, core(con))
    assert con.execute("SELECT count(*) FROM raw.prices_daily").fetchone() == (4,)
    assert con.execute("SELECT count(*) FROM marts.returns_daily").fetchone() == (4,)


def test_later_action_readjusts_history_and_backfill_fixes_next_return(con):
    load(con, bars("A", {"2024-01-02": 10.0, "2024-01-04": 12.0}), actions([]),
         date(2024, 1, 2), date(2024, 1, 4))
    # A later partition brings a 2:1 split: the stored history is re-adjusted.
    load(con, bars("A", {"2024-01-05": 6.0}), actions([("A", "2024-01-05", "split", 2.0)]),
         date(2024, 1, 5), date(2024, 1, 5))
    assert core(con)["adj_close"].tolist() == pytest.approx([5.0, 6.0, 6.0])
    # A backfill of the missing 3rd: the 4th's return now measures against the 3rd.
    load(con, bars("A", {"2024-01-03": 11.0}), actions([]), date(2024, 1, 3), date(2024, 1, 3))
    ret = dict(con.execute("SELECT date::VARCHAR, ret FROM marts.returns_daily").fetchall())
    assert ret["2024-01-03"] == pytest.approx(11 / 10 - 1)
    assert ret["2024-01-04"] == pytest.approx(12 / 11 - 1)
    assert ret["2024-01-05"] == pytest.approx(0.0)


def test_failed_symbol_keeps_its_rows_and_bad_rows_are_rejected(con):
    load(con, pd.concat([bars("A", {"2024-01-02": 10.0}), bars("B", {"2024-01-02": 5.0})]),
         actions([]), date(2024, 1, 2), date(2024, 1, 2))
    # B failed on the re-run: only A is replaced; A's second bar has a zero close.
    again = bars("A", {"2024-01-02": 10.5, "2024-01-03": 0.0})
    write = load(con, again, actions([]), date(2024, 1, 2), date(2024, 1, 3), symbols=["A"])
    assert write.rejected == 1
    assert core(con)[["symbol", "close"]].values.tolist() == [["A", 10.5], ["B", 5.0]]
    found = present_dates(con, ["A", "B"], date(2024, 1, 1), date(2024, 1, 5))
    assert sorted(found["symbol"]) == ["A", "B"]


def test_failure_inside_a_writer_leaves_previous_rows(con):
    load(con, bars("A", {"2024-01-02": 10.0}), actions([]), date(2024, 1, 2), date(2024, 1, 2))
    broken = bars("A", {"2024-01-02": 11.0}).astype({"close": object})
    broken.loc[0, "close"] = "eleven"  # fails inside the transaction, after the DELETE
    with pytest.raises(duckdb.ConversionException):
        load(con, broken, actions([]), date(2024, 1, 2), date(2024, 1, 2))
    assert core(con)["close"].tolist() == [10.0]
    assert con.execute("SELECT close FROM raw.prices_daily").fetchall() == [(10.0,)]


def test_split_and_dividend_on_the_same_day_both_count(con):
    prices = bars("X", {"2024-01-02": 100.0, "2024-01-03": 26.0})
    acts = actions([("X", "2024-01-03", "split", 4.0), ("X", "2024-01-03", "dividend", 0.5)])
    load(con, prices, acts, date(2024, 1, 2), date(2024, 1, 3))
    got = core(con).set_index("d")["adj_close"]
    # The dividend is paid on post-split shares: compare it with the close restated to them.
    assert got["2024-01-02"] == pytest.approx(100.0 / 4 * (1 - 0.5 / (100.0 / 4)))
    ret = dict(con.execute("SELECT date::VARCHAR, ret FROM marts.returns_daily").fetchall())
    assert ret["2024-01-03"] == pytest.approx(26.0 / (25.0 - 0.5) - 1)


def test_bar_that_leaves_core_takes_its_return_along(con):
    load(con, bars("A", {"2024-01-02": 10.0, "2024-01-03": 11.0}), actions([]),
         date(2024, 1, 2), date(2024, 1, 3))
    load(con, bars("A", {"2024-01-02": 10.0, "2024-01-03": 0.0}), actions([]),
         date(2024, 1, 2), date(2024, 1, 3))  # the refetched 3rd is rejected
    assert con.execute("SELECT date::VARCHAR FROM marts.returns_daily").fetchall() == [
        ("2024-01-02",)]


def test_mart_adj_close_follows_a_later_readjustment(con):
    load(con, bars("A", {"2024-01-02": 10.0, "2024-01-03": 12.0}), actions([]),
         date(2024, 1, 2), date(2024, 1, 3))
    load(con, bars("A", {"2024-01-04": 6.0}), actions([("A", "2024-01-04", "split", 2.0)]),
         date(2024, 1, 4), date(2024, 1, 4))
    mart = con.execute(
        "SELECT date::VARCHAR, adj_close FROM marts.returns_daily ORDER BY date").fetchall()
    assert [a for _, a in mart] == pytest.approx([5.0, 6.0, 6.0])
    assert mart == [tuple(r) for r in core(con)[["d", "adj_close"]].values.tolist()]


@pytest.mark.parametrize("returned", [
    ["2024-01-08", "2024-01-09"],                # the front of the history is gone
    ["2024-01-02", "2024-01-03"],                # the end is gone (a truncated file)
])
def test_a_shortened_fetch_keeps_stored_bars_and_their_actions(con, returned):
    closes = {"2024-01-02": 100.0, "2024-01-03": 102.0, "2024-01-04": 26.0,
              "2024-01-05": 25.0, "2024-01-08": 25.5, "2024-01-09": 26.0}
    acts = actions([("X", "2024-01-04", "split", 4.0)])
    window = date(2024, 1, 1), date(2024, 1, 10)
    load(con, bars("X", closes), acts, *window)
    before = core(con)
    short = bars("X", {d: closes[d] for d in returned})
    write = replace_raw(con, short, actions([]), symbols=["X"], start=window[0],
                        end=window[1], source="test", fetched_at=NOW, run_id="r2")
    assert write.kept == {"X": 4}
    refresh_core_actions(con, start=window[0], end=window[1])
    refresh_core_prices(con, start=window[0], end=window[1])
    pd.testing.assert_frame_equal(before, core(con))  # same bars, same split, same adj_close
    write = replace_raw(con, short, actions([]), symbols=["X"], start=window[0],
                        end=window[1], source="test", fetched_at=NOW, run_id="r3",
                        replace=True)
    assert write.kept == {}
    assert con.execute("SELECT count(*) FROM raw.prices_daily").fetchone() == (2,)
