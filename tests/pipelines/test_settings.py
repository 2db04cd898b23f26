"""Settings: the shipped file is valid; every bad value is named with its key and value."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from models import clock
from pipelines.resources import price_sources
from pipelines.settings import SettingsError, load_settings
from tests.pipelines.conftest import write_settings

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_settings_meet_the_universe_contract():
    settings = load_settings(ROOT / "finscope.toml")
    instruments = settings.instruments()
    equities = [i for i in instruments if i.asset_class in {"equity", "etf"}]
    crypto = [i for i in instruments if i.asset_class == "crypto"]
    assert len(equities) >= 20 and len(crypto) >= 5
    assert [i.symbol for i in instruments if i.is_benchmark] == ["SPY"]
    assert {i.calendar for i in crypto} == {"24/7"}
    assert all(i.coingecko_id for i in crypto)
    assert settings.sources.equity == "sample" and settings.sources.crypto == "sample"


@pytest.mark.parametrize(
    "old, new, named",
    [
        ('symbol = "AAPL"', 'symbol = "aapl!"', "universe.equities[1].symbol = 'aapl!'"),
        ('benchmark = "SPY"', 'benchmark = "QQQ"', "benchmark 'QQQ' is not in the universe"),
        ('coingecko_id = "bitcoin"', 'coingecko_id = "Bit Coin"',
         "universe.crypto[0].coingecko_id = 'Bit Coin'"),
        ('kind = "etf"', 'kind = "bond"', "universe.equities[0].kind = 'bond'"),
        ('symbol = "MSFT"', 'symbol = "AAPL"', "symbol 'AAPL' is listed twice"),
    ],
)
def test_bad_universe_values_name_key_and_value(tmp_path, old, new, named):
    path = write_settings(tmp_path, date(2020, 1, 2))
    path.write_text(path.read_text().replace(old, new, 1))
    with pytest.raises(SettingsError) as raised:
        load_settings(path)
    assert named in str(raised.value)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    "extra, named",
    [
        ('\n[sources]\nequity = "bloomberg"\n', "sources.equity = 'bloomberg'"),
        ('\n[sources]\ncrypto = "yahoo"\n', "sources.crypto = 'yahoo'"),
        ("\n[colour]\nx = 1\n", "colour"),
    ],
)
def test_bad_sections_are_named(tmp_path, extra, named):
    with pytest.raises(SettingsError) as raised:
        load_settings(write_settings(tmp_path, date(2020, 1, 2), extra))
    assert named in str(raised.value)


def test_history_start_must_be_past(tmp_path):
    future = clock.today() + timedelta(days=3)
    with pytest.raises(SettingsError, match=f"history.start = '{future}'"):
        load_settings(write_settings(tmp_path, future))


def test_missing_and_garbled_files(tmp_path):
    with pytest.raises(SettingsError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[history\nstart = 1")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad)


def test_source_sections_are_validated_by_their_resource(tmp_path):
    settings = load_settings(write_settings(tmp_path, date(2020, 1, 2), "\n[sample]\nseed = -4\n"))
    with pytest.raises(SettingsError, match=r"\[sample\] section: sample.seed = -4: Input"):
        price_sources(settings)
    ok = load_settings(write_settings(tmp_path, date(2020, 1, 2),
                                      '\n[sources]\nequity = "yahoo"\ncrypto = "coingecko"\n'))
    resources = price_sources(ok)
    assert [r.source_name for r in resources.values()] == ["yahoo", "coingecko"]


def test_unknown_calendar_and_unknown_source_keys_are_named(tmp_path):
    path = write_settings(tmp_path, date(2020, 1, 2))
    path.write_text(path.read_text().replace('sector = "Technology" }',
                                             'sector = "Technology", calendar = "XFOO" }', 1))
    with pytest.raises(SettingsError, match=r"universe\.equities\[1\]\.calendar = 'XFOO'"):
        load_settings(path)
    typo = load_settings(write_settings(tmp_path, date(2020, 1, 2),
                                        '\n[sources]\nequity = "yahoo"\n[yahoo]\nbatchsize = 5\n'))
    with pytest.raises(SettingsError, match=r"\[yahoo\] section: unknown key 'batchsize'"):
        price_sources(typo)


def test_coingecko_key_comes_from_the_environment_unresolved(tmp_path, monkeypatch):
    settings = load_settings(write_settings(tmp_path, date(2020, 1, 2),
                                            '\n[sources]\ncrypto = "coingecko"\n'))
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    assert price_sources(settings)["crypto_prices"].api_key is None
    monkeypatch.setenv("COINGECKO_API_KEY", "SECRET123")
    source = price_sources(settings)["crypto_prices"]
    assert isinstance(source.api_key, dg.EnvVar) and "SECRET123" not in repr(source)
