"""The FinScope Dash app: ``create_app()`` wires pages, static assets and the snapshot reader.

Nothing here opens a database: ``create_app`` only points ``dashboards.data`` at the snapshot
directory, and the first request opens the current snapshot read-only.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboards import data
from dashboards.components.shell import footer, navbar
from warehouse.paths import PROJECT_ROOT, DataHome
from warehouse.reader import ReaderLimits

PAGES_FOLDER = Path(__file__).resolve().parent / "pages"
ASSETS_FOLDER = PROJECT_ROOT / "assets"
MAX_REQUEST_BYTES = 1024 * 1024
"""Largest request body the server reads (Flask ``MAX_CONTENT_LENGTH``); bigger ones get 413
before their body is read. Dash callback bodies are a few kilobytes."""


def _layout() -> html.Div:
    """The shell around every page; a function, so the snapshot badge is fresh per page load."""
    return html.Div([
        navbar(),
        dbc.Container(dash.page_container, fluid="xl", className="fs-main"),
        footer(),
    ])


MEMORY_ENV, THREADS_ENV = "FINSCOPE_READER_MEMORY", "FINSCOPE_READER_THREADS"
"""DuckDB ``memory_limit`` and ``threads`` of each app process's snapshot reader."""


def reader_limits() -> ReaderLimits:
    """The reader limits from the environment (read when the app is created), else defaults.

    Raises:
        ValueError: a limit is malformed (the message names the variable).
    """
    default = ReaderLimits()
    memory = os.environ.get(MEMORY_ENV, default.memory_limit).strip()
    threads = os.environ.get(THREADS_ENV, str(default.threads)).strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", memory, re.IGNORECASE):
        raise ValueError(f"{MEMORY_ENV}={memory!r}: expected a size such as 512MB or 2GB")
    if not threads.isdigit() or not 1 <= int(threads) <= 64:
        raise ValueError(f"{THREADS_ENV}={threads!r}: expected a whole number 1..64")
    return ReaderLimits(memory_limit=memory, threads=int(threads))


def create_app(snapshot_dir: Path | None = None, limits: ReaderLimits | None = None) -> dash.Dash:
    """Build the app over the snapshots in ``snapshot_dir``.

    Args:
        snapshot_dir: where ``warehouse.snapshot.publish`` writes; defaults to
            ``DataHome.from_env().snapshots``.
        limits: DuckDB memory and thread limits of this process's snapshot reader (default:
            ``FINSCOPE_READER_MEMORY`` / ``FINSCOPE_READER_THREADS``, else 1GB and 2).

    Returns:
        The Dash app; ``app.server`` is the WSGI application, which answers 413 to any request
        body over ``MAX_REQUEST_BYTES``.
    """
    data.configure(snapshot_dir or DataHome.from_env().snapshots,
                   limits=limits or reader_limits())
    app = dash.Dash(
        "dashboards",  # the package: pages import as dashboards.pages.<name>
        use_pages=True,
        pages_folder=str(PAGES_FOLDER),
        assets_folder=str(ASSETS_FOLDER),
        title="FinScope",
        update_title="",
        serve_locally=True,
    )
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    app.layout = _layout
    return app
