"""FilesSource: the documented layout, and errors that name file, row and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.sources import files as files_module
from pipelines.sources.base import ACTION_COLUMNS, BAR_COLUMNS, Instrument, PriceBatch
from pipelines.sources.files import FilesSource
from tests.pipelines.sources.live_payloads import block_network

GOOD = """date,open,high,low,close,volume,dividend,split
2020-08-27,508.57,509.94,495.33,500.04,38888096,,
2020-08-28,504.05,505.77,498.31,499.23,46907479,,
2020-08-31,127.58,131.00,126.00,129.04,225702700,,4
2020-09-01,132.76,134.80,130.53,134.18,151948100,0.205,
"""
HEADER = "date,open,high,low,close,volume\n"
ROW = "2024-01-0{d},10,11,9,10.5,100\n"
WINDOW = (date(2020, 1, 1), date(2024, 12, 31))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


def fetch(
    folder: Path, *symbols: str, start: date = WINDOW[0], end: date = WINDOW[1]
) -> PriceBatch:
    instruments = [Instrument(s, s, "equity") for s in symbols]
    return FilesSource(directory=str(folder)).fetch(instruments, start, end)


def test_reads_the_documented_csv_layout(tmp_path: Path) -> None:
    (tmp_path / "AAPL.csv").write_text(GOOD)
    (tmp_path / "MSFT.csv").write_text(HEADER + ROW.format(d=2))

    batch = fetch(tmp_path, "MSFT", "AAPL", start=date(2020, 8, 28), end=date(2024, 1, 1))

    assert batch.failures == []
    assert list(batch.prices.columns) == list(BAR_COLUMNS)
    assert list(batch.actions.columns) == list(ACTION_COLUMNS)
    assert batch.prices["symbol"].tolist() == ["AAPL", "AAPL", "AAPL"]  # MSFT's row is later
    assert batch.prices["date"].tolist() == [
        pd.Timestamp("2020-08-28"),
        pd.Timestamp("2020-08-31"),
        pd.Timestamp("2020-09-01"),
    ]
    assert batch.prices["close"].tolist() == [499.23, 129.04, 134.18]
    assert batch.prices["volume"].tolist() == [46907479.0, 225702700.0, 151948100.0]
    assert batch.actions[["date", "action", "value"]].values.tolist() == [
        [pd.Timestamp("2020-08-31"), "split", 4.0],
        [pd.Timestamp("2020-09-01"), "dividend", 0.205],
    ]


def test_reads_parquet_with_a_date_column_and_empty_ohl(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "Date": [date(2024, 1, 3), date(2024, 1, 2)],
            "Open": [None, 10.0],
            "High": [None, 11.0],
            "Low": [None, 9.0],
            "Close": [10.5, 10.0],
            "Volume": [100, 200],
        }
    )
    frame.to_parquet(tmp_path / "BTC.parquet")

    batch = fetch(tmp_path, "BTC")

    assert batch.failures == []
    assert batch.prices["date"].tolist() == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]
    assert batch.prices["close"].tolist() == [10.0, 10.5]
    assert batch.prices["open"].isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("rows", "row", "column", "words"),
    [
        (ROW.format(d=2) + "2024-01-03,10,11,9,abc,100\n", 2, "close", "'abc' is not a number"),
        (
            ROW.format(d=2) + ROW.format(d=3) + "2024-01-04,10,11,-9,10,100\n",
            3,
            "low",
            "must be > 0",
        ),
        ("2024-01-02,10,8,9,10,100\n", 1, "high", "below low"),
        (ROW.format(d=2) + ROW.format(d=3) + ROW.format(d=2), 3, "date", "earlier data row"),
        (ROW.format(d=2) + "02/01/2024,10,11,9,10,100\n", 2, "date", "not an ISO date"),
        (ROW.format(d=2) + "2024-01-03,10,11,9,,100\n", 2, "close", "is empty"),
        (ROW.format(d=2) + "2024-01-03,10,11,9,10,-5\n", 2, "volume", "must be >= 0"),
    ],
    ids=["number", "negative", "high<low", "duplicate", "date", "empty-close", "volume"],
)
def test_a_bad_value_names_file_row_and_column(
    tmp_path: Path, rows: str, row: int, column: str, words: str
) -> None:
    (tmp_path / "BAD.csv").write_text(HEADER + rows)

    (failure,) = fetch(tmp_path, "BAD").failures

    assert failure.reason.startswith(f"BAD.csv: data row {row}, column '{column}': ")
    assert words in failure.reason


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "BAD.csv").write_text("date,open,high,low,close\n2024-01-02,1,1,1,1\n")

    (failure,) = fetch(tmp_path, "BAD").failures

    assert failure.reason == "BAD.csv: missing required column(s) volume"


def test_the_earliest_bad_row_is_reported_with_a_count(tmp_path: Path) -> None:
    rows = "2024-01-02,10,11,9,x,100\n2024-01-01,10,11,9,10,-1\n"
    (tmp_path / "BAD.csv").write_text(HEADER + ROW.format(d=5) + rows)

    (failure,) = fetch(tmp_path, "BAD").failures

    assert failure.reason == (
        "BAD.csv: data row 2, column 'close': 'x' is not a number"
        " (1 more bad value(s) in this file)"
    )


def test_bad_parquet_row_is_named(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "date": ["2024-01-02", "2024-01-03"],
            "open": 1.0,
            "high": 1.0,
            "low": 1.0,
            "close": [1.0, -2.0],
            "volume": 5,
        }
    )
    frame.to_parquet(tmp_path / "BAD.parquet")

    (failure,) = fetch(tmp_path, "BAD").failures

    assert failure.reason == "BAD.parquet: data row 2, column 'close': -2.0 must be > 0"


def test_a_bad_or_missing_file_fails_that_symbol_only(tmp_path: Path) -> None:
    (tmp_path / "AAPL.csv").write_text(GOOD)
    (tmp_path / "BAD.csv").write_text(HEADER + "2024-01-02,10,11,9,abc,100\n")
    (tmp_path / "TWICE.csv").write_text(GOOD)
    (tmp_path / "TWICE.parquet").write_bytes(b"")

    batch = fetch(tmp_path, "BAD", "NONE", "AAPL", "TWICE")

    assert set(batch.prices["symbol"]) == {"AAPL"} and len(batch.prices) == 4
    reasons = {f.symbol: f.reason for f in batch.failures}
    assert reasons["NONE"] == f"no file NONE.csv or NONE.parquet in {tmp_path}"
    assert "BAD.csv: data row 1, column 'close'" in reasons["BAD"]
    assert "keep one" in reasons["TWICE"]
    assert all((f.source, f.start, f.end) == ("files", *WINDOW) for f in batch.failures)


def test_symbol_column_must_match_the_file(tmp_path: Path) -> None:
    (tmp_path / "AAPL.csv").write_text(
        "symbol," + HEADER + "AAPL," + ROW.format(d=2) + "MSFT," + ROW.format(d=3)
    )

    (failure,) = fetch(tmp_path, "AAPL").failures

    assert failure.reason == "AAPL.csv: data row 2, column 'symbol': 'MSFT' is not 'AAPL'"


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fetch(tmp_path / "nope", "AAPL")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    doc = files_module.__doc__ or ""
    example = doc.split("```")[1].strip() + "\n"
    (tmp_path / "AAPL.csv").write_text(example)

    batch = fetch(tmp_path, "AAPL")

    assert batch.failures == [] and batch.prices["close"].tolist() == [499.23, 129.04]
    assert batch.actions[["action", "value"]].values.tolist() == [["split", 4.0]]


@pytest.mark.parametrize(
    ("day", "row"),
    [
        ("2300-01-03", 2),  # past 2262: pandas' datetime64[ns] cannot hold it
        ("9999-12-31", 2),
        ("1899-12-31", 2),
        ("0201-01-03", 2),  # a typo for 2021
    ],
)
def test_an_absurd_csv_date_names_file_row_and_column(tmp_path: Path, day: str, row: int) -> None:
    (tmp_path / "BAD.csv").write_text(HEADER + ROW.format(d=2) + f"{day},10,11,9,10,100\n")
    (tmp_path / "GOOD.csv").write_text(HEADER + ROW.format(d=2))

    batch = fetch(tmp_path, "BAD", "GOOD")

    (failure,) = batch.failures
    assert failure.reason == (
        f"BAD.csv: data row {row}, column 'date': '{day}' is outside the supported dates "
        "1900-01-01..2199-12-31"
    )
    assert batch.prices["symbol"].tolist() == ["GOOD"]


def test_an_absurd_parquet_date_names_file_row_and_column(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "date": [date(2024, 1, 2), date(2262, 4, 12)],
            **{c: [10.0, 10.0] for c in ("open", "high", "low", "close")},
            "volume": [1, 1],
        }
    )
    frame.to_parquet(tmp_path / "BAD.parquet")

    (failure,) = fetch(tmp_path, "BAD").failures

    assert failure.reason.startswith("BAD.parquet: data row 2, column 'date': ")
    assert "2262" in failure.reason and "outside the supported dates" in failure.reason


def test_the_first_and_last_supported_days_load(tmp_path: Path) -> None:
    (tmp_path / "OLD.csv").write_text(
        HEADER + "1900-01-01,10,11,9,10,100\n2199-12-31,10,11,9,10,100\n"
    )

    batch = fetch(tmp_path, "OLD", start=date(1900, 1, 1), end=date(2199, 12, 31))

    assert batch.failures == []
    assert batch.prices["date"].tolist() == [pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31")]
