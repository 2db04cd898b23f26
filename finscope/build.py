"""``finscope build``: materialise every asset once, in-process, recorded in the instance.

Every build tags its run with its pid and host. A build killed with ``kill -9`` (or dying on a
full disk) leaves its run STARTED and its ``warehouse_writer`` slot claimed, which would block
every later run; so each build first marks such runs failed and frees their slots
(:func:`repair_stale_runs`). While a step waits for the slot, the build says which run holds it,
and SIGINT/SIGTERM still stop it (:class:`BuildWatch`).
"""

from __future__ import annotations

import os
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from types import FrameType, TracebackType
from typing import Any

import click
import dagster as dg
import duckdb

from models import clock
from pipelines.definitions import PRICE_JOB, build_definitions, monthly_partitions
from pipelines.resources import POOL
from pipelines.settings import Settings
from warehouse.paths import DataHome

PID_TAG, HOST_TAG = "finscope/pid", "finscope/host"
"""Run tags naming the process that executes a ``finscope build`` run."""
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
"""Dagster's documented run tags for one run over a partition range (a single-run backfill)."""
IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
NOT_YET_STARTED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]
WAIT_MESSAGE_EVERY_S = 30.0
CATCH_UP_LOCK_WAIT_S = 60.0

Echo = Callable[[str], Any]


@dataclass(frozen=True)
class CheckFailure:
    """A failing asset check: what it checks, what it found, and the first few offenders."""

    name: str
    result: str
    found: list[str] = field(default_factory=list)
    checks: str = ""

    def line(self) -> str:
        """``check prices_daily:ohlc_consistent failed: 3 inconsistent OHLC bars: AAPL ...``."""
        found = f": {', '.join(self.found)}" if self.found else ""
        return f"check {self.name} failed: {self.result}{found}"


@dataclass(frozen=True)
class BuildResult:
    success: bool
    run_id: str
    first_partition: str
    last_partition: str
    failed_checks: list[str]
    passed_checks: int = 0
    check_failures: list[CheckFailure] = field(default_factory=list)


class BuildInterrupted(Exception):
    """SIGINT or SIGTERM stopped the build; its run is marked failed and its slots are free."""

    def __init__(self, signum: int, run_id: str) -> None:
        self.signum, self.run_id = signum, run_id
        super().__init__(f"stopped by {signal.Signals(signum).name}: run {run_id} marked failed "
                         f"and its {POOL} slot released")


def build(
    settings: Settings,
    home: DataHome,
    *,
    start: date | None = None,
    end: date | None = None,
    refresh: bool = False,
    replace: bool = False,
    resources: dict[str, object] | None = None,
    instance: dg.DagsterInstance | None = None,
    echo: Echo = click.echo,
) -> BuildResult:
    """Run the price job over the months holding ``start..end`` (default: all) as one run.

    Only missing sessions are fetched unless ``refresh``; stored bars a fetch did not return
    are kept unless ``replace``. The run is recorded in the Dagster
    instance (``DAGSTER_HOME``) so the UI shows its materialisations, checks and logs.

    Raises:
        ValueError: ``start`` or ``end`` is outside the history.
        BuildInterrupted: SIGINT or SIGTERM arrived during the run.
    """
    defs = build_definitions(settings, home, resources)
    keys = monthly_partitions(settings).get_partition_keys(current_time=clock.now())
    if not keys:
        raise ValueError("no complete day since history.start: nothing to build")
    first = start.replace(day=1).isoformat() if start else keys[0]
    # Default: up to the month holding yesterday (on the 1st the current month has no day yet).
    last = (end or clock.yesterday()).replace(day=1).isoformat()
    for name, key in (("start", first), ("end", last)):
        if key not in keys:
            raise ValueError(f"--{name}: month {key[:7]} is outside the history "
                             f"{keys[0][:7]}..{keys[-1][:7]}")
    instance = instance or dg.DagsterInstance.get()
    repair_stale_runs(instance, echo)
    run_id = str(uuid.uuid4())
    job = defs.resolve_job_def(PRICE_JOB)
    with BuildWatch(instance, run_id, echo) as watch:
        try:
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags={RANGE_START_TAG: first, RANGE_END_TAG: last, **owner_tags()},
                run_config={
                    "ops": {"fetched_prices": {"config": {"refresh": refresh}},
                            "raw_prices": {"config": {"replace": replace}}},
                    # INFO: each asset's one-line summary and every failure; the UI has details
                    "loggers": {"console": {"config": {"log_level": "INFO"}}},
                },
                raise_on_error=False,
            )
        except KeyboardInterrupt:  # a signal before or after Dagster's own handling
            watch.signum = watch.signum or signal.SIGINT
    if watch.signum is not None:
        raise BuildInterrupted(watch.signum, run_id)
    graph = defs.resolve_asset_graph()
    evaluations = result.get_asset_check_evaluations()
    failures = [_check_failure(e, graph.get_check_spec(e.asset_check_key).description or "")
                for e in evaluations if not e.passed]
    return BuildResult(result.success, result.run_id, first, last, [f.name for f in failures],
                       passed_checks=len(evaluations) - len(failures), check_failures=failures)


def _check_failure(evaluation: dg.AssetCheckEvaluation, checks: str) -> CheckFailure:
    """The failure with the symbols and dates of its ``found`` metadata (first few offenders)."""
    found = evaluation.metadata.get("found")
    rows = found.value if isinstance(found, dg.JsonMetadataValue) else None
    named = [" ".join(str(row[k]) for k in ("symbol", "date") if row.get(k) is not None)
             for row in rows or [] if isinstance(row, dict)]
    count = evaluation.metadata.get("violations")
    shown = [n for n in named if n]
    if shown and isinstance(count, dg.IntMetadataValue) and (count.value or 0) > len(shown):
        shown.append(f"... ({count.value} in all)")
    name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
    return CheckFailure(name, evaluation.description or "failed", shown, checks)


def owner_tags() -> dict[str, str]:
    """This process's pid and host, as run tags."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


def _process_gone(pid: int) -> bool:
    """True when no process ``pid`` runs here (a zombie, killed but not yet reaped, is gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def stale_owner(run: dg.DagsterRun) -> str | None:
    """``"finscope pid N on HOST"`` when ``run`` belongs to a finscope process that is gone.

    Runs without finscope's tags (launched by the daemon or the UI) are left to Dagster's run
    monitoring (see dagster.yaml): their process cannot be told from here.
    """
    pid, host = run.tags.get(PID_TAG, ""), run.tags.get(HOST_TAG)
    if not pid.isdigit() or host != socket.gethostname() or int(pid) == os.getpid():
        return None
    return f"finscope pid {pid} on {host}" if _process_gone(int(pid)) else None


def _claimed_slots(instance: dg.DagsterInstance, run_id: str) -> int:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return 0
    infos = storage.get_concurrency_infos(list(storage.get_concurrency_keys()))
    return sum(slot.run_id == run_id for info in infos.values() for slot in info.claimed_slots)


def repair(instance: dg.DagsterInstance, run: dg.DagsterRun, owner: str, echo: Echo) -> None:
    """Mark ``run`` failed and free its concurrency slots, saying so in one line."""
    slots = _claimed_slots(instance, run.run_id)
    instance.report_run_failed(run, message=f"The process of this run ({owner}) is gone; "
                                            "marked failed by finscope.")
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    echo(f"finscope: run {run.run_id} ({run.status.value}) was left by {owner}, which is gone: "
         f"marked it failed, freed {slots} {POOL} slot{'s' * (slots != 1)}")


def repair_stale_runs(instance: dg.DagsterInstance, echo: Echo = click.echo) -> list[str]:
    """Fail the unfinished runs of finscope processes that are gone; free their slots.

    Returns:
        The ids of the runs repaired (one line printed for each).
    """
    repaired = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=IN_PROGRESS + NOT_YET_STARTED)):
        owner = stale_owner(run)
        if owner:
            repair(instance, run, owner, echo)
            repaired.append(run.run_id)
    return repaired


class _Interrupted(KeyboardInterrupt):
    """Raised in the main thread to end a wait for a slot (Dagster treats it as an interrupt)."""


class BuildWatch:
    """While a run executes in this process: report waits for the writer slot; honour signals.

    Dagster's in-process executor only records SIGINT/SIGTERM while a step waits for a pool
    slot, and waits on. So signals also wake a watcher thread (``signal.set_wakeup_fd``); if the
    run is then waiting for a slot, the watcher interrupts the main thread, Dagster marks the
    run failed and the pending claim is dropped. In a step, Dagster's own interrupt applies.
    """

    def __init__(self, instance: dg.DagsterInstance, run_id: str, echo: Echo,
                 *, message_every_s: float = WAIT_MESSAGE_EVERY_S) -> None:
        self.instance, self.run_id, self.echo = instance, run_id, echo
        self.message_every_s = message_every_s
        self.signum: int | None = None
        self._stop = threading.Event()
        self._main = threading.main_thread() is threading.current_thread()
        self._reader, self._writer = socket.socketpair()
        self._restore: list[Callable[[], object]] = []
        self._thread = threading.Thread(target=self._watch, name="finscope-build-watch",
                                        daemon=True)

    def __enter__(self) -> BuildWatch:
        if self._main:
            self._writer.setblocking(False)
            previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
            self._restore.append(lambda: signal.set_wakeup_fd(previous_fd))
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                self._restore.append(partial(signal.signal, signum,
                                             signal.signal(signum, self._raise)))
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for undo in reversed(self._restore):
            undo()
        self._reader.close()
        self._writer.close()
        # Whatever happened: nothing of this run may keep a slot or stay "in progress".
        run = self.instance.get_run_by_id(self.run_id)
        if run is not None and run.status in IN_PROGRESS + NOT_YET_STARTED:
            self.instance.report_run_failed(run, message="finscope build stopped")
        if self.instance.event_log_storage.supports_global_concurrency_limits:
            self.instance.event_log_storage.free_concurrency_slots_for_run(self.run_id)

    def _raise(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGUSR1:
            self.signum = signum
        raise _Interrupted

    def _watch(self) -> None:
        last_message = 0.0
        kicked = False
        while not self._stop.is_set():
            ready, _, _ = select.select([self._reader], [], [], 1.0)
            if ready:
                for byte in self._reader.recv(64):
                    if byte in (signal.SIGINT, signal.SIGTERM) and self.signum is None:
                        self.signum = byte
                        self.echo(f"finscope: {signal.Signals(byte).name} received: stopping "
                                  f"run {self.run_id}")
            try:
                waiting, holders = self._waiting()
            except Exception:  # storage busy or closing: try again next second
                continue
            if waiting and self.signum is not None and not kicked:
                kicked = True  # Dagster only noted the signal: end the wait in the main thread
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGUSR1)
            elif waiting and time.monotonic() - last_message >= self.message_every_s:
                last_message = time.monotonic()
                self.echo(f"finscope: {', '.join(waiting)} waits for the {POOL} slot, held by "
                          f"{'; '.join(holders) or 'another run'} (Ctrl-C or SIGTERM stops "
                          f"this build)")

    def _waiting(self) -> tuple[list[str], list[str]]:
        """Our steps waiting for a writer slot, and who holds the slots (stale holders repaired)."""
        storage = self.instance.event_log_storage
        if not storage.supports_global_concurrency_limits:
            return [], []
        info = storage.get_concurrency_info(POOL)
        if any(slot.run_id == self.run_id for slot in info.claimed_slots):
            return [], []
        waiting = [p.step_key for p in info.pending_steps
                   if p.run_id == self.run_id and p.assigned_timestamp is None]
        return waiting, list(self._holders(info.claimed_slots)) if waiting else []

    def _holders(self, slots: list[Any]) -> Iterator[str]:
        for slot in slots:
            run = self.instance.get_run_by_id(slot.run_id)
            owner = stale_owner(run) if run else None
            if run and owner:
                repair(self.instance, run, owner, self.echo)
                continue
            who = (f"finscope pid {run.tags[PID_TAG]} on {run.tags.get(HOST_TAG)}"
                   if run and PID_TAG in run.tags else "launched by Dagster")
            status = run.status.value if run else "unknown"
            yield f"run {slot.run_id} (step {slot.step_key}, {status}, {who})"


def _warehouse_bars(home: DataHome, lock_wait_s: float, echo: Echo) -> dict[str, date] | None:
    """Each stored symbol's last bar; waits (bounded) while a Dagster step holds the file.

    Returns:
        None when the warehouse has no price table yet or stayed locked for ``lock_wait_s``.
    """
    deadline = time.monotonic() + lock_wait_s
    said = False
    while True:
        try:
            con = duckdb.connect(str(home.warehouse), read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                echo(f"finscope: the warehouse is still locked after {lock_wait_s:g}s; "
                     "catching up from the history start instead")
                return None
            if not said:
                said = True
                echo("finscope: the warehouse is locked by another process (a Dagster step?); "
                     f"waiting up to {lock_wait_s:g}s to read its last stored bars")
            time.sleep(0.5)
    try:
        rows = con.execute(
            "SELECT symbol, max(date) FROM core.prices_daily GROUP BY symbol"
        ).fetchall()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return {symbol: last for symbol, last in rows}


def catch_up_start(
    home: DataHome,
    settings: Settings,
    *,
    lock_wait_s: float = CATCH_UP_LOCK_WAIT_S,
    echo: Echo = click.echo,
) -> date | None:
    """The day a refresh must start from: the oldest last stored bar of the universe's symbols.

    Symbols no longer in the settings do not count. None (build from the history start) when
    there is no warehouse yet, a symbol of the universe has no bar yet, or the warehouse stayed
    locked for ``lock_wait_s``. Older gaps are left to backfills and the calendar-gap check.
    """
    if not home.warehouse.exists():
        return None
    last = _warehouse_bars(home, lock_wait_s, echo)
    if not last:
        return None
    ends = [last.get(instrument.symbol) for instrument in settings.instruments()]
    return None if not ends or None in ends else min(d for d in ends if d is not None)
