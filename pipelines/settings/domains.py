"""The sections of the other domains: ``[news]``, ``[onchain]``, ``[portfolios]``, ``[forecasts]``.

Feed URLs are checked to be http(s) without credentials; the Ethereum RPC URL never goes in the
file, only the NAME of the environment variable that holds it.
"""

from __future__ import annotations

import re
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from pipelines.settings.base import SECRET, _Strict

ENV_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"


def _unique(values: list[str], what: str) -> list[str]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} {repeated[0]!r} is listed twice")
    return values


def _check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL without credentials, else ``ValueError``."""
    match = re.match(r"^https?://([^/?#\s]+)[^\s]*$", url)
    if not match:
        raise ValueError("expected an http:// or https:// URL")
    if "@" in match.group(1):  # user:password@host; the value is not repeated
        raise PydanticCustomError(SECRET, "credentials never go in the settings file (user@host)")
    return url


def _check_template(template: str) -> str:
    """A feed URL template with ``{symbol}`` and no other placeholder, else ``ValueError``."""
    if "{symbol}" not in template or template.replace("{symbol}", "").count("{"):
        raise ValueError("expected a URL containing {symbol} and no other {...}")
    _check_url(template.replace("{symbol}", "SPY"))
    return template


FeedUrl = Annotated[str, AfterValidator(_check_url)]
FeedTemplate = Annotated[str, AfterValidator(_check_template)]


class NewsSettings(_Strict):
    enabled: bool = Field(False, description="Whether the news assets fetch anything.")
    feeds: list[FeedUrl] = Field(
        default_factory=list, max_length=200, description="RSS/Atom feed URLs read every day."
    )
    symbol_feeds: list[FeedTemplate] = Field(
        default_factory=list, max_length=20,
        description="Per-symbol feed URL templates; {symbol} is replaced by each equity's ticker.",
    )
    max_items_per_feed: int = Field(100, ge=1, le=1000, description="Newest items kept per feed.")

    @field_validator("feeds", "symbol_feeds")
    @classmethod
    def _feeds_unique(cls, feeds: list[str]) -> list[str]:
        return _unique(feeds, "feed")

    @model_validator(mode="after")
    def _something_to_read(self) -> NewsSettings:
        if self.enabled and not (self.feeds or self.symbol_feeds):
            raise ValueError("enabled = true needs at least one of feeds or symbol_feeds")
        return self


class OnchainSettings(_Strict):
    SECRETS: ClassVar[dict[str, str]] = {
        "rpc_url": "put the URL in an environment variable and name it in rpc_url_env",
    }

    enabled: bool = Field(False, description="Whether the on-chain assets fetch anything.")
    chains: list[Literal["ethereum", "bitcoin"]] = Field(
        default=["ethereum", "bitcoin"], description="Chains to collect."
    )
    rpc_url_env: str = Field(
        "ETHEREUM_RPC_URL",
        description="NAME of the environment variable holding the Ethereum JSON-RPC URL.",
    )
    timeout_s: float = Field(30.0, gt=0, le=300, description="Per-request timeout in seconds.")

    @field_validator("chains")
    @classmethod
    def _chains_unique(cls, chains: list[str]) -> list[str]:
        return _unique(chains, "chain")

    @field_validator("rpc_url_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.match(ENV_NAME_PATTERN, value):
            raise PydanticCustomError(  # it may well be the URL itself, key included: not shown
                SECRET, "{key} must be the NAME of an environment variable (e.g. "
                "ETHEREUM_RPC_URL), not the URL", {"key": "rpc_url_env"},
            )
        return value


class PortfolioSettings(_Strict):
    directory: str = Field(
        "portfolios", min_length=1,
        description="Folder of the user's holdings and transactions files, relative to this file.",
    )


class ForecastSettings(_Strict):
    horizon_days: int = Field(30, ge=1, le=365, description="Days ahead each forecast covers.")
    models: list[Literal["naive", "drift", "prophet"]] = Field(
        default=["naive", "prophet"], min_length=1, description="Models to fit."
    )

    @field_validator("models")
    @classmethod
    def _models_unique(cls, models: list[str]) -> list[str]:
        return _unique(models, "model")
