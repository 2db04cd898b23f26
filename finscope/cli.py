"""The ``finscope`` command: build, serve, up (build + dashboard + Dagster) and bench."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from finscope import home as data_home
from models import clock
from pipelines.resources import price_sources
from pipelines.settings import Settings, SettingsError, load_settings
from warehouse.paths import DataHome

if TYPE_CHECKING:
    from finscope.build import BuildResult


def _settings() -> Settings:
    """The settings, validated (including each source's section) before anything is written."""
    try:
        settings = load_settings()
        price_sources(settings)
    except SettingsError as exc:
        raise click.ClickException(f"bad settings: {exc}") from None
    return settings


@click.group()
def main() -> None:
    """FinScope: market data pipelines, a DuckDB warehouse and dashboards."""


@main.command()
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First partition (ISO date).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last partition (ISO date).")
@click.option("--refresh", is_flag=True, help="Refetch every symbol, not only missing days.")
@click.option("--replace", is_flag=True,
              help="Let fetches replace stored history: stored bars a source no longer returns "
                   "are deleted (without it they are kept and named).")
def build(start, end, refresh: bool, replace: bool) -> None:
    """Materialise every asset once (default: all history to yesterday) and exit."""
    settings = _settings()
    home = data_home.prepare(DataHome.from_env())
    result = _build(settings, home, start=start.date() if start else None,
                    end=end.date() if end else None, refresh=refresh, replace=replace)
    if not result.success:
        raise click.ClickException(f"run {result.run_id} failed (see the log above)")


def _build(settings: Settings, home: DataHome, **options: Any) -> BuildResult:
    """Run the build with a header, each failing check and a summary line.

    Raises:
        click.ClickException: bad options.
        SystemExit: 128 + the signal number when SIGINT/SIGTERM stopped the build.
    """
    from finscope.build import BuildInterrupted
    from finscope.build import build as run_build

    click.echo(f"finscope: building into {home.root} (equity prices from "
               f"{settings.sources.equity}, crypto from {settings.sources.crypto})")
    try:
        result = run_build(settings, home, **options)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    except BuildInterrupted as exc:
        click.echo(f"finscope: {exc}", err=True)
        sys.exit(128 + exc.signum)
    for failure in result.check_failures:
        click.echo(f"finscope: {failure.line()}")
        if failure.checks:
            click.echo(f"    (the check: {failure.checks})")
    failed = f", {len(result.failed_checks)} failed" if result.failed_checks else ""
    click.echo(f"finscope: {result.passed_checks} checks passed{failed}")
    if result.success:
        click.echo(f"finscope: built months {result.first_partition[:7]}.."
                   f"{result.last_partition[:7]} in run {result.run_id}")
    return result


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the dashboard over the current snapshot with gunicorn."""
    from finscope.processes import exec_foreground, gunicorn_command

    data_home.prepare(DataHome.from_env())
    exec_foreground(gunicorn_command(host, port, workers))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8050, show_default=True, type=int, help="Dashboard port.")
@click.option("--dagster-port", default=3000, show_default=True, type=int)
@click.option("--skip-build", is_flag=True, help="Serve the last snapshot without building.")
def up(host: str, port: int, dagster_port: int, skip_build: bool) -> None:
    """Build or refresh the warehouse, then serve the dashboard and Dagster until Ctrl-C."""
    from finscope.processes import Supervisor
    from warehouse.snapshot import current

    settings = _settings()
    home = data_home.prepare(DataHome.from_env())
    if not skip_build:
        from finscope.build import WarehouseLocked, catch_up_start

        # A first run builds all history; later ones catch up from the last stored bars.
        try:
            start = catch_up_start(home, settings)
        except WarehouseLocked as exc:
            if current(home.snapshots) is None:
                raise click.ClickException(str(exc)) from None
            click.echo(f"finscope: {exc}; serving the last snapshot without building", err=True)
            skip_build = True
    if not skip_build:
        result = _build(settings, home, start=start)
        if not result.success:
            click.echo(f"finscope: build run {result.run_id} failed", err=True)
            if current(home.snapshots) is None:
                raise click.ClickException("no snapshot to serve; fix the error above")
            click.echo("finscope: serving the last good snapshot", err=True)
    with Supervisor(home) as supervisor:
        supervisor.start_dashboard(host, port)
        supervisor.start_dagster(host, dagster_port)
        supervisor.wait_ready(f"http://{host}:{port}/", f"http://{host}:{dagster_port}/")
        click.echo(f"finscope: dashboard http://{host}:{port}  Dagster http://{host}:{dagster_port}"
                   "  (Ctrl-C stops them all)")
        supervisor.wait()


@main.command()
@click.argument("name", type=click.Choice(["ingest", "incremental", "dashboard", "all"]))
@click.option("--symbols", default=500, show_default=True)
@click.option("--years", default=10, show_default=True)
def bench(name: str, symbols: int, years: int) -> None:
    """Run a named benchmark; the last line printed is one JSON object of its figures."""
    from finscope import bench as benchmarks

    benchmarks.run(name, symbols=symbols, years=years, today=clock.today())


if __name__ == "__main__":
    main()
