"""Loading the settings file: finding it, reading it and naming every bad value.

The file is ``finscope.toml`` at the project root by default, or the path in ``FINSCOPE_CONFIG``.
Missing files, directories, non-UTF-8 text and invalid TOML stop with the path; invalid values stop
with the file, the key and the value (``describe_error``), never a secret's value. Folders in the
file are resolved against the file's own folder.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from pipelines.settings.base import SECRET, SettingsError
from pipelines.settings.model import Settings

CONFIG_ENV = "FINSCOPE_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "finscope.toml"


def config_path() -> Path:
    """The settings file in use: ``FINSCOPE_CONFIG`` or the project's ``finscope.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings file; folders in it are resolved against its own folder.

    Raises:
        SettingsError: the file is missing, a directory, not UTF-8 or not TOML, or a value is
            invalid; the message names the file, the key (``universe.equities[3].symbol``) and
            the value (never a secret's).
    """
    named = path is None and bool(os.environ.get(CONFIG_ENV))
    path = path or config_path()
    data = _read(path, f" (named by {CONFIG_ENV})" if named else "")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_error(e, model=Settings) for e in exc.errors())
        raise SettingsError(f"{path}: {problems}") from None
    settings = _with_folders(settings, path)
    settings._path = path
    return settings


def _read(path: Path, origin: str) -> dict[str, Any]:
    if path.is_dir():
        raise SettingsError(f"{path}: is a directory, not a settings file{origin}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(
            f"{path}: settings file not found{origin} (set {CONFIG_ENV} to a settings file)"
        ) from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file{origin}: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the settings file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _with_folders(settings: Settings, path: Path) -> Settings:
    """Folders made absolute against the file's folder; the files source's folder must exist."""

    def resolve(folder: str) -> Path:
        return (path.parent / Path(folder).expanduser()).resolve()

    prices = settings.prices
    files_dir = resolve(prices.files.directory)
    users = prices.sources.in_use("files")
    if users and not files_dir.is_dir():
        what = "is not a folder" if files_dir.exists() else "does not exist"
        raise SettingsError(
            f"{path}: prices.files.directory = {prices.files.directory!r}: {files_dir} {what} "
            f"(the files source is in use for {', '.join(users)})"
        )
    files = prices.files.model_copy(update={"directory": str(files_dir)})
    portfolios = settings.portfolios.model_copy(
        update={"directory": str(resolve(settings.portfolios.directory))}
    )
    return settings.model_copy(
        update={"prices": prices.model_copy(update={"files": files}), "portfolios": portfolios}
    )


def describe_error(error: Any, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One pydantic error as ``key.path[3].field = 'value': message``.

    Args:
        error: one item of ``ValidationError.errors()``.
        prefix: key of the validated object inside the file (``prices.yahoo``), if not the root.
        model: the model validated; names the known keys when a key is unknown.
    """
    loc = list(error["loc"])
    message = error["msg"]
    secret_key = (error.get("ctx") or {}).get("key") if error["type"] == SECRET else None
    if secret_key and loc[-1:] != [secret_key]:
        loc.append(secret_key)
    elif error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    elif error["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1]) if model else []
        message = f"unknown key (known: {', '.join(known)})" if known else "unknown key"
    parts = [prefix, *loc] if prefix else loc
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    value = error.get("input")
    hidden = error["type"] == SECRET or isinstance(value, dict) or len(repr(value)) > 80
    shown = "" if hidden else f" = {value!r}"
    return f"{key or '(top level)'}{shown}: {message}"


def _known_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The keys of the section at ``loc`` (list indexes skipped) inside ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = fields[part].annotation
        while not isinstance(current, type) and get_args(current):  # list[X], X | None
            current = next(a for a in get_args(current) if a is not type(None))
    return sorted(getattr(current, "model_fields", {}))
