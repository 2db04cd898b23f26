"""Dagster runs of this data directory: who owns them, repair of dead ones, the build watcher.

A ``finscope build`` runs its job in its own process and tags the run with its pid and host
(:func:`owner_tags`). A build killed with ``kill -9`` (or dying on a full disk) leaves its run
STARTED and its ``warehouse_writer`` slot claimed, and nothing in Dagster would ever release
them: every later run would wait for that slot for ever. So each build first marks the runs of
finscope processes that are gone failed and frees their slots (:func:`repair_stale_runs`).
While a step of a build waits for the slot, :class:`BuildWatch` says which run holds it
(repairing the holder when it is a dead build), and SIGINT/SIGTERM still stop the build
(:class:`BuildInterrupted`), leaving no run in progress and no slot claimed.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from types import FrameType, TracebackType
from typing import Any

import click
import dagster as dg

from pipelines.resources import POOL
from pipelines.run_owner import (
    HOST_TAG,
    PID_TAG,
    STARTED_TAG,
    owner_tags,
    process_gone,
)

__all__ = ["HOST_TAG", "PID_TAG", "BuildInterrupted", "BuildWatch", "owner_tags",
           "repair_stale_runs", "stale_owner"]

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]
NOT_YET_STARTED = [dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.QUEUED]
WAIT_MESSAGE_EVERY_S = 30.0

Echo = Callable[[str], Any]


def stale_owner(run: dg.DagsterRun) -> str | None:
    """``"finscope pid N on HOST"`` when ``run`` belongs to a finscope process that is gone.

    Every run that touches the warehouse is tagged by its own process (``pipelines.run_owner``),
    builds and daemon-launched runs alike; a run with no such tags never reached the warehouse,
    and Dagster's run monitoring (start and run timeouts, see dagster.yaml) deals with it.
    """
    pid, host = run.tags.get(PID_TAG, ""), run.tags.get(HOST_TAG)
    if not pid.isdigit() or host != socket.gethostname() or int(pid) == os.getpid():
        return None
    gone = process_gone(int(pid), run.tags.get(STARTED_TAG))
    return f"finscope pid {pid} on {host}" if gone else None


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


class BuildInterrupted(Exception):
    """SIGINT or SIGTERM stopped the build; its run is marked failed and its slots are free."""

    def __init__(self, signum: int, run_id: str) -> None:
        self.signum, self.run_id = signum, run_id
        super().__init__(f"stopped by {signal.Signals(signum).name}: run {run_id} marked failed "
                         f"and its {POOL} slot released")
