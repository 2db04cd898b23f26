#!/usr/bin/env python3
"""Set-up entry point that needs nothing but python3.

    python3 dev.py up       install, build the warehouse from the sample source, serve everything
    python3 dev.py test     install, run the test suite (extra arguments go to pytest)
    python3 dev.py <cmd>    install, run `finscope <cmd>` (build, serve, bench ...)

It creates .venv, installs the pinned uv into it, and syncs the locked dependencies (uv.lock).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
UV_VERSION = "0.13.8"


def ensure_environment() -> None:
    if not (BIN / "python").exists():
        print("dev.py: creating .venv", flush=True)
        try:
            venv.EnvBuilder(with_pip=True).create(VENV)
        except subprocess.CalledProcessError:
            sys.exit("dev.py: python3 cannot create a virtualenv with pip here; on Debian/Ubuntu "
                     "install it with: apt-get install python3-venv")
    if not (BIN / "uv").exists():
        print(f"dev.py: installing uv {UV_VERSION}", flush=True)
        subprocess.run([BIN / "python", "-m", "ensurepip", "--upgrade"], check=True,
                       stdout=subprocess.DEVNULL)  # a venv made by uv itself has no pip
        subprocess.run(
            [BIN / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
             f"uv=={UV_VERSION}"],
            check=True,
        )
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV)}
    subprocess.run([BIN / "uv", "sync", "--frozen", "--quiet"], cwd=ROOT, env=env, check=True)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "test":
        program = [str(BIN / "pytest"), *rest]
    else:
        program = [str(BIN / "finscope"), command, *rest]
    os.chdir(ROOT)
    os.execv(program[0], program)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
