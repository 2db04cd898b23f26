"""Settings: the shipped file is valid; every bad value is named with its file, key and value."""

from __future__ import annotations

import importlib
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from models import clock
from pipelines.resources import price_sources
from pipelines.settings import (
    CoinGeckoSettings,
    FilesSettings,
    SampleSettings,
    SettingsError,
    YahooSettings,
    load_settings,
)
from tests.pipelines.conftest import write_settings

ROOT = Path(__file__).resolve().parents[2]
START = 'start = "2020-01-02"'


def load(folder: Path, extra: str = "", old: str = "", new: str = ""):
    """Settings from the small test file plus ``extra``, with ``old`` replaced by ``new`` once."""
    path = write_settings(folder, date(2020, 1, 2), extra)
    if old:
        assert old in path.read_text()
        path.write_text(path.read_text().replace(old, new, 1))
    return load_settings(path)


def refused(folder: Path, extra: str = "", old: str = "", new: str = "") -> str:
    with pytest.raises(SettingsError) as raised:
        load(folder, extra, old, new)
    message = str(raised.value)
    assert message.startswith(f"{folder / 'finscope.toml'}: ")  # the file comes first
    return message


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
    assert {settings.source_for(i) for i in instruments} == {"sample"}  # offline by default
    assert settings.history.start == date(2016, 1, 4)
    assert Path(settings.portfolios.directory) == ROOT / "portfolios"


def test_every_class_defaults_to_the_offline_sample_source(tmp_path):
    settings = load(tmp_path)
    assert {settings.source_for(i) for i in settings.instruments()} == {"sample"}
    resources = price_sources(settings)
    assert [r.source_name for r in resources.values()] == ["sample", "sample"]
    assert resources["equity_prices"].history_start == "2020-01-02"


Y = "\n[prices.yahoo]\n"
CG = "\n[prices.coingecko]\n"
SRC = "\n[prices.sources]\n"

# (case, extra text, (old, new) replacement, what the message must contain)
DEFECTS = [
    ("start is a TOML integer", "", (START, "start = 2016"),
     "prices.history.start = 2016: expected an ISO date YYYY-MM-DD"),
    ("start is a TOML datetime", "", (START, "start = 2016-01-04T10:00:00"),
     "prices.history.start = datetime.datetime(2016, 1, 4, 10, 0): expected an ISO date"),
    ("start is not a calendar day", "", (START, 'start = "2016-02-30"'),
     "prices.history.start = '2016-02-30': not a calendar date"),
    ("start before 1990", "", (START, 'start = "1989-12-29"'),
     "prices.history.start = '1989-12-29': history start must be on or after 1990-01-01"),
    ("pause_s negative", Y + "pause_s = -5\n", None,
     "prices.yahoo.pause_s = -5: Input should be greater than or equal to 0"),
    ("pause_s huge", Y + "pause_s = 1e308\n", None,
     "prices.yahoo.pause_s = 1e+308: Input should be less than or equal to 300"),
    ("pause_s not finite", Y + "pause_s = inf\n", None,
     "prices.yahoo.pause_s = inf: Input should be a finite number"),
    ("batch_size zero", Y + "batch_size = 0\n", None,
     "prices.yahoo.batch_size = 0: Input should be greater than or equal to 1"),
    ("batch_size as text", Y + 'batch_size = "20"\n', None,
     "prices.yahoo.batch_size = '20': Input should be a valid integer"),
    ("timeout zero", Y + "timeout_s = 0\n", None,
     "prices.yahoo.timeout_s = 0: Input should be greater than 0"),
    ("backoff above its ceiling", Y + "backoff_base_s = 30\nbackoff_max_s = 10\n", None,
     "prices.yahoo: backoff_base_s = 30.0 is above backoff_max_s = 10.0"),
    ("unknown key in an unused source", Y + "batchsize = 5\n", None,
     "prices.yahoo.batchsize = 5: unknown key (known: backoff_base_s, backoff_max_s, batch_size"),
    ("unused source section validated", CG + "min_interval_s = -1\n", None,
     "prices.coingecko.min_interval_s = -1: Input should be greater than or equal to 0"),
    ("unused sample section validated", SRC + 'equity = "yahoo"\n[prices.sample]\nseed = -4\n',
     None, "prices.sample.seed = -4: Input should be greater than or equal to 0"),
    ("unknown plan", CG + 'plan = "enterprise"\n', None,
     "prices.coingecko.plan = 'enterprise': Input should be 'demo' or 'pro'"),
    ("unknown equity source", SRC + 'equity = "bloomberg"\n', None,
     "prices.sources.equity = 'bloomberg': Input should be 'sample', 'yahoo' or 'files'"),
    ("crypto cannot come from yahoo", SRC + 'crypto = "yahoo"\n', None,
     "prices.sources.crypto = 'yahoo': Input should be 'sample', 'coingecko' or 'files'"),
    ("unknown asset class", SRC + 'bond = "sample"\n', None,
     "prices.sources.bond = 'sample': unknown key (known: crypto, equity, etf)"),
    ("etf apart from equity", SRC + 'equity = "yahoo"\netf = "files"\n', None,
     "prices.sources: etf = 'files' differs from equity = 'yahoo'"),
    ("unknown section", "\n[colour]\nx = 1\n", None, "colour: unknown key (known: forecasts,"),
    ("section of the old layout", '\n[sources]\nequity = "yahoo"\n', None,
     "these sections moved under [prices]: [sources] is now [prices.sources]"),
    ("symbol pattern", "", ('symbol = "AAPL"', 'symbol = "aapl!"'),
     "universe.equities[1].symbol = 'aapl!': String should match pattern"),
    ("benchmark outside the universe", "", ('benchmark = "SPY"', 'benchmark = "QQQ"'),
     "universe.benchmark = 'QQQ': benchmark 'QQQ' is not in the universe"),
    ("coingecko id pattern", "", ('coingecko_id = "bitcoin"', 'coingecko_id = "Bit Coin"'),
     "universe.crypto[0].coingecko_id = 'Bit Coin'"),
    ("unknown kind", "", ('kind = "etf"', 'kind = "bond"'), "universe.equities[0].kind = 'bond'"),
    ("duplicate symbol", "", ('symbol = "MSFT"', 'symbol = "AAPL"'),
     "universe: symbol 'AAPL' is listed twice (universe.equities[1] and universe.equities[2])"),
    ("duplicate across classes", "", ('symbol = "BTC-USD"', 'symbol = "SPY"'),
     "symbol 'SPY' is listed twice (universe.equities[0] and universe.crypto[0])"),
    ("unknown calendar", "",
     ('sector = "Technology" }', 'sector = "Technology", calendar = "XFOO" }'),
     "universe.equities[1].calendar = 'XFOO': unknown exchange calendar"),
    ("news enabled with nothing to read", "\n[news]\nenabled = true\n", None,
     "news: enabled = true needs at least one of feeds or symbol_feeds"),
    ("news feed not http", '\n[news]\nfeeds = ["ftp://example.com/rss"]\n', None,
     "news.feeds[0] = 'ftp://example.com/rss': expected an http:// or https:// URL"),
    ("news template without {symbol}",
     '\n[news]\nsymbol_feeds = ["https://example.com/rss?s=SPY"]\n', None,
     "news.symbol_feeds[0] = 'https://example.com/rss?s=SPY': expected a URL containing {symbol}"),
    ("unknown chain", '\n[onchain]\nchains = ["solana"]\n', None,
     "onchain.chains[0] = 'solana': Input should be 'ethereum' or 'bitcoin'"),
    ("chain twice", '\n[onchain]\nchains = ["bitcoin", "bitcoin"]\n', None,
     "onchain.chains = ['bitcoin', 'bitcoin']: chain 'bitcoin' is listed twice"),
    ("forecast horizon zero", "\n[forecasts]\nhorizon_days = 0\n", None,
     "forecasts.horizon_days = 0: Input should be greater than or equal to 1"),
    ("forecast horizon absurd", "\n[forecasts]\nhorizon_days = 100000\n", None,
     "forecasts.horizon_days = 100000: Input should be less than or equal to 365"),
    ("unknown forecast model", '\n[forecasts]\nmodels = ["arima"]\n', None,
     "forecasts.models[0] = 'arima': Input should be 'naive', 'drift' or 'prophet'"),
    ("no forecast model", "\n[forecasts]\nmodels = []\n", None,
     "forecasts.models = []: List should have at least 1 item after validation, not 0"),
    ("empty portfolios folder", '\n[portfolios]\ndirectory = ""\n', None,
     "portfolios.directory = '': String should have at least 1 character"),
]


@pytest.mark.parametrize(
    "extra, change, named", [case[1:] for case in DEFECTS], ids=[case[0] for case in DEFECTS]
)
def test_each_defect_names_its_key_and_value(tmp_path, extra, change, named):
    old, new = change or ("", "")
    assert named in refused(tmp_path, extra, old, new)


def test_history_start_is_checked_against_the_utc_clock(tmp_path):
    today = clock.today()  # frozen by tests/conftest.py
    message = refused(tmp_path, "", START, f'start = "{today}"')
    assert f"prices.history.start = '{today}': history start must be in the past" in message
    assert f"(today is {today} UTC)" in message
    yesterday = today - timedelta(days=1)
    assert load(tmp_path, "", START, f"start = {yesterday}").history.start == yesterday  # TOML date


SECRETS = [
    ("coingecko key", CG + 'api_key = "CG-SECRET123"\n',
     "prices.coingecko.api_key: api_key is a secret and never goes in the settings file: "
     "set COINGECKO_API_KEY in the environment"),
    ("rpc url", '\n[onchain]\nrpc_url = "https://mainnet.example/v3/SECRET123"\n',
     "onchain.rpc_url: rpc_url is a secret and never goes in the settings file: put the URL in "
     "an environment variable and name it in rpc_url_env"),
    ("rpc url given as its variable", '\n[onchain]\nrpc_url_env = "https://x/SECRET123"\n',
     "onchain.rpc_url_env: rpc_url_env must be the NAME of an environment variable"),
    ("credentials in a feed", '\n[news]\nfeeds = ["https://me:SECRET123@example.com/rss"]\n',
     "news.feeds[0]: credentials never go in the settings file"),
]


@pytest.mark.parametrize("extra, named", [c[1:] for c in SECRETS], ids=[c[0] for c in SECRETS])
def test_secrets_in_the_file_are_refused_without_repeating_them(tmp_path, extra, named):
    message = refused(tmp_path, extra)
    assert named in message
    assert "SECRET123" not in message


def test_files_folder_must_exist_when_in_use_and_is_relative_to_the_file(tmp_path):
    extra = SRC + 'equity = "files"\n[prices.files]\ndirectory = "mine/prices"\n'
    message = refused(tmp_path, extra)
    assert (f"prices.files.directory = 'mine/prices': {tmp_path / 'mine' / 'prices'} does not "
            "exist (the files source is in use for equity, etf)") in message
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "prices").write_text("not a folder")
    assert f"{tmp_path / 'mine' / 'prices'} is not a folder" in refused(tmp_path, extra)
    (tmp_path / "mine" / "prices").unlink()
    (tmp_path / "mine" / "prices").mkdir()
    settings = load(tmp_path, extra)
    assert settings.prices.files.directory == str(tmp_path / "mine" / "prices")
    assert price_sources(settings)["equity_prices"].directory == str(tmp_path / "mine" / "prices")
    unused = load(tmp_path, '\n[prices.files]\ndirectory = "nowhere"\n')  # not in use: fine
    assert unused.prices.files.directory == str(tmp_path / "nowhere")


def test_unreadable_files_name_the_path(tmp_path, monkeypatch):
    with pytest.raises(SettingsError, match=r"nope.toml: settings file not found"):
        load_settings(tmp_path / "nope.toml")
    garbled = tmp_path / "bad.toml"
    garbled.write_text("[prices.history\nstart = 1")
    with pytest.raises(SettingsError, match=r"bad.toml: not valid TOML"):
        load_settings(garbled)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[universe]\nbenchmark = "SPY"  # café\n'.encode("latin-1"))
    with pytest.raises(SettingsError) as raised:
        load_settings(latin1)
    assert str(raised.value) == (f"{latin1}: not UTF-8 text (byte 0xe9 at offset 35); save the "
                                 "settings file as UTF-8")
    monkeypatch.setenv("FINSCOPE_CONFIG", str(tmp_path))
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert str(raised.value) == (f"{tmp_path}: is a directory, not a settings file "
                                 "(named by FINSCOPE_CONFIG)")


def test_live_sources_get_the_validated_section_values(tmp_path):
    extra = (SRC + 'equity = "yahoo"\ncrypto = "coingecko"\n'
             + Y + "pause_s = 0.5\nbatch_size = 7\n" + CG + "timeout_s = 9\n")
    resources = price_sources(load(tmp_path, extra))
    yahoo, coingecko = resources["equity_prices"], resources["crypto_prices"]
    assert (yahoo.source_name, yahoo.pause_s, yahoo.batch_size) == ("yahoo", 0.5, 7)
    assert (coingecko.source_name, coingecko.timeout_s) == ("coingecko", 9.0)


@pytest.mark.parametrize("section, source", [
    (SampleSettings, "pipelines.sources.sample:SampleSource"),
    (YahooSettings, "pipelines.sources.yahoo:YahooSource"),
    (CoinGeckoSettings, "pipelines.sources.coingecko:CoinGeckoSource"),
    (FilesSettings, "pipelines.sources.files:FilesSource"),
])
def test_each_source_section_only_has_keys_its_source_takes(section, source):
    module, name = source.split(":")
    fields = set(getattr(importlib.import_module(module), name).model_fields)
    assert set(section.model_fields) <= fields


def test_coingecko_key_comes_from_the_environment_unresolved(tmp_path, monkeypatch):
    settings = load(tmp_path, SRC + 'crypto = "coingecko"\n')
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    assert price_sources(settings)["crypto_prices"].api_key is None
    monkeypatch.setenv("COINGECKO_API_KEY", "SECRET123")
    source = price_sources(settings)["crypto_prices"]
    assert isinstance(source.api_key, dg.EnvVar) and "SECRET123" not in repr(source)


def test_pro_plan_without_a_key_stops_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("COINGECKO_API_KEY", raising=False)
    settings = load(tmp_path, SRC + 'crypto = "coingecko"\n' + CG + 'plan = "pro"\n')
    with pytest.raises(SettingsError) as raised:
        price_sources(settings)
    assert str(raised.value) == (
        f"{tmp_path / 'finscope.toml'}: prices.coingecko.plan = 'pro': the pro plan needs an "
        "API key; set COINGECKO_API_KEY in the environment"
    )
