"""A one-step job in the ``warehouse_writer`` pool, run like ``finscope build`` runs its job.

``python pool_job.py hold`` runs a step that claims the writer slot, prints ``holding <run id>``
and sleeps; ``python pool_job.py wait`` runs the same step under ``BuildWatch`` (so it waits for
the slot, says who holds it and honours SIGTERM) and exits 128 + the signal when stopped.
The instance is ``DAGSTER_HOME``'s (FinScope's dagster.yaml, pool limit 1).
"""

from __future__ import annotations

import sys
import time
import uuid

import dagster as dg

from finscope.runs import BuildWatch, owner_tags
from pipelines.resources import POOL


@dg.op(pool=POOL)
def write(context) -> None:  # no hint: `from __future__` would make it a string Dagster rejects
    print(f"holding {context.run_id}", flush=True)
    time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 60.0)


@dg.job
def pool_job() -> None:
    write()


def main(mode: str) -> int:
    instance = dg.DagsterInstance.get()
    run_id = str(uuid.uuid4())
    print(f"run {run_id}", flush=True)
    if mode == "hold":
        result = pool_job.execute_in_process(instance=instance, run_id=run_id, tags=owner_tags())
        return 0 if result.success else 1
    with BuildWatch(instance, run_id, lambda line: print(line, flush=True),
                    message_every_s=1.0) as watch:
        try:
            success = pool_job.execute_in_process(instance=instance, run_id=run_id,
                                                  tags=owner_tags(), raise_on_error=False).success
        except KeyboardInterrupt:
            success = False
    if watch.signum is not None:
        print(f"stopped by signal {watch.signum}", flush=True)
        return 128 + watch.signum
    return 0 if success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
