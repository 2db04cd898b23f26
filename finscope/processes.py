"""Start, watch and stop the dashboard and Dagster processes of ``finscope up`` / ``serve``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn

from warehouse.paths import PROJECT_ROOT, DataHome

BIN = Path(sys.executable).parent


def gunicorn_command(host: str, port: int, workers: int = 2) -> list[str]:
    """gunicorn serving ``dashboards.wsgi:server`` (threads share each worker's snapshot cache)."""
    return [
        str(BIN / "gunicorn"), "dashboards.wsgi:server",
        "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", "4",
        "--worker-class", "gthread", "--timeout", "60", "--graceful-timeout", "10",
        "--access-logfile", "-",
        "--no-control-socket",  # gunicorn 27 would write one under ~/.gunicorn
        "--chdir", str(PROJECT_ROOT),
    ]


def dagster_commands(host: str, port: int) -> dict[str, list[str]]:
    """The Dagster webserver and daemon over ``pipelines.definitions`` (what ``dagster dev`` runs).

    Started as separate processes, the supported way to run Dagster outside development.
    """
    location = ["-m", "pipelines.definitions"]
    return {
        "dagster-webserver": [str(BIN / "dagster-webserver"), *location, "-h", host,
                              "-p", str(port)],
        "dagster-daemon": [str(BIN / "dagster-daemon"), "run", *location],
    }


def _default_signals() -> None:
    """In the child: SIGINT/SIGTERM back to their defaults (a background shell ignores SIGINT)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def exec_foreground(command: list[str]) -> NoReturn:
    """Become ``command`` (gunicorn handles its own signals; nothing is left behind)."""
    _default_signals()  # dispositions inherited as "ignored" would survive the exec
    os.chdir(PROJECT_ROOT)
    os.execv(command[0], command)


class Supervisor:
    """Child processes, each in its own process group, stopped together on exit or signal."""

    def __init__(self, home: DataHome) -> None:
        self.home = home
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Supervisor:
        # Explicitly: a shell that starts us in the background leaves SIGINT ignored.
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._raise_interrupt)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            self.stop()
        finally:
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)
        return kind is KeyboardInterrupt  # Ctrl-C is the normal way to stop

    def start_dashboard(self, host: str, port: int) -> None:
        self._start("dashboard", gunicorn_command(host, port))

    def start_dagster(self, host: str, port: int) -> None:
        """The Dagster webserver (UI) and daemon (schedules, sensors, run monitoring)."""
        for name, command in dagster_commands(host, port).items():
            self._start(name, command)

    def wait_ready(self, *urls: str, timeout_s: float = 180.0) -> None:
        """Block until every URL answers, or raise naming the one that did not."""
        deadline = time.monotonic() + timeout_s
        for url in urls:
            while True:
                self._check_alive()
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        message = f"{url} did not answer within {timeout_s:.0f}s"
                        raise RuntimeError(message) from None
                    time.sleep(0.5)

    def wait(self) -> None:
        """Until a child exits (an error) or Ctrl-C."""
        while True:
            self._check_alive()
            time.sleep(1)

    def stop(self, grace_s: float = 20.0) -> None:
        """SIGINT each child's process group (what Ctrl-C in a terminal does), then escalate."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
            running = [p for p in self.children.values() if p.poll() is None]
            for process in running:
                os.killpg(process.pid, signum)
            deadline = time.monotonic() + grace_s / 2
            for process in running:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for name, process in self.children.items():
            if process.returncode is None:
                print(f"finscope: {name} (pid {process.pid}) did not stop", file=sys.stderr)

    def _start(self, name: str, command: list[str]) -> None:
        log = open(self.home.logs / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.children[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            cwd=PROJECT_ROOT, env=os.environ.copy(), preexec_fn=_default_signals,
        )
        print(f"finscope: started {name} (log: {self.home.logs / f'{name}.log'})")

    def _check_alive(self) -> None:
        for name, process in self.children.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"{name} exited with code {process.returncode}; see {self.home.logs}/{name}.log"
                )

    @staticmethod
    def _raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt
