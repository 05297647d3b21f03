"""Run :class:`~core.batch.worker.CaseScorer` over cohort rows: in-process or on Ray Data.

Both engines take the same rows and scorer settings and yield the scorer's output batches
as they finish, so the caller (the command line, the benchmark) writes and counts them the
same way:

* :func:`run_local` — one scorer in this process, over consecutive batches;
* :func:`run_ray` — ``ray.data.from_items(rows).map_batches(CaseScorer, ...)`` on a pool
  of actors, each of which loads the model once and uses ``cpus_per_worker`` TensorFlow
  threads, so the workers never oversubscribe the cores. Results stream back to the driver.

:func:`ray_session` starts a local Ray (``address=None``) or joins a cluster. Ray is told
not to report usage statistics and to start no dashboard; it is imported only here.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence

import numpy as np

from core.batch.worker import ROOT, CaseScorer
from core.errors import BreastXAIError

# Shipped to cluster workers with the code: the repository less what they never read.
SHIP_EXCLUDES = [".git", ".venv", "artifacts", "docs", "tests", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache"]


def batches(rows: Sequence[dict], batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """Rows as column batches of at most ``batch_size`` rows (the format Ray Data hands over)."""
    for i in range(0, len(rows), batch_size):
        chunk = rows[i : i + batch_size]
        yield {k: np.asarray([r[k] for r in chunk]) for k in chunk[0]}


def run_local(rows: Sequence[dict], scorer_kwargs: dict, batch_size: int = 8) -> Iterator[dict[str, np.ndarray]]:
    """Score ``rows`` in this process with one :class:`CaseScorer` built from ``scorer_kwargs``."""
    if not rows:
        return
    scorer = CaseScorer(**scorer_kwargs)
    for batch in batches(rows, batch_size):
        yield scorer(batch)


def cluster_cpus() -> int:
    """The CPUs of the Ray cluster this process is connected to."""
    import ray

    return int(ray.cluster_resources().get("CPU", 1))


@contextlib.contextmanager
def ray_session(
    address: str | None = None,
    num_cpus: int | None = None,
    ship_code: bool | None = None,
    quiet: bool = True,
) -> Iterator[None]:
    """Connected to Ray for the ``with`` block; shut down afterwards if this call started it.

    Args:
        address: None for a new local Ray with ``num_cpus`` (default: this machine's CPU
            count); otherwise a cluster's address (``ray://host:10001``, ``host:6379``
            or ``auto``).
        num_cpus: CPUs of a local Ray (ignored with ``address``).
        ship_code: send this repository (code and ``weights/``) to the workers as their
            Ray ``working_dir``; by default only when joining a cluster.
        quiet: keep the workers' output off this terminal and Ray's own logging to warnings.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    import ray.data

    if ray.is_initialized():  # the caller (a test, a notebook) already holds a session
        yield
        return
    if ship_code is None:
        ship_code = address is not None
    # A local Ray's workers inherit this process's environment; a cluster's are told.
    runtime_env: dict = {}
    if address is not None:
        runtime_env["env_vars"] = {"TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    if ship_code:
        runtime_env.update(working_dir=str(ROOT), excludes=SHIP_EXCLUDES)
    kwargs: dict = {
        "runtime_env": runtime_env or None,
        "log_to_driver": not quiet,
        "logging_level": logging.ERROR if quiet else logging.INFO,
    }
    if quiet:
        # The driver's C++ core logs notes such as "constructor arguments in the object
        # store and max_restarts > 0" for every Ray Data actor pool; they are not errors.
        os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")
    if address is None:
        kwargs.update(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False)
    else:
        kwargs.update(address=address)
    ray_logger = logging.getLogger("ray")
    level = ray_logger.level
    if quiet:  # Ray's start-up notices (token authentication, deprecations) are not the user's business
        ray_logger.setLevel(logging.ERROR)
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, TimeoutError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray"
        raise BreastXAIError(f"Cannot start or join {where}: {exc}") from None
    finally:
        ray_logger.setLevel(logging.WARNING if quiet else level)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # the command line draws its own
        ctx.print_on_execution_start = False
        if quiet:  # e.g. "progress bars disabled", which is what is wanted
            logging.getLogger("ray.data").setLevel(logging.ERROR)
        yield
    finally:
        ray.shutdown()


def run_ray(
    rows: Sequence[dict],
    scorer_kwargs: dict,
    batch_size: int = 8,
    workers: int | None = None,
    cpus_per_worker: int = 1,
) -> Iterator[dict[str, np.ndarray]]:
    """Score ``rows`` on a pool of ``workers`` Ray actors (call inside :func:`ray_session`).

    Each actor is a :class:`CaseScorer` with ``tf_threads=cpus_per_worker`` and reserves
    that many CPUs. ``workers`` defaults to the cluster's CPUs / ``cpus_per_worker``.
    Batches are yielded as they finish, in no fixed order.
    """
    if not rows:
        return
    import ray.data

    if workers is None:
        workers = max(1, cluster_cpus() // cpus_per_worker)
    workers = max(1, min(workers, -(-len(rows) // batch_size)))  # no idle actor loading a model
    kwargs = {**scorer_kwargs, "tf_threads": cpus_per_worker}
    ds = ray.data.from_items(list(rows), override_num_blocks=-(-len(rows) // batch_size)).map_batches(
        CaseScorer,
        fn_constructor_kwargs=kwargs,
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
    )
    yield from ds.iter_batches(batch_size=None, batch_format="numpy")


__all__ = ["SHIP_EXCLUDES", "batches", "cluster_cpus", "ray_session", "run_local", "run_ray"]
