"""Score and explain a whole cohort; write Parquet that a rerun resumes.

    python -m core.batch --modality histo --data DIR --out DIR [--methods gradcam,ig,smoothgrad]
        [--engine ray|local] [--address ADDR] [--workers N] [--limit N] [--seed 0] [--batch-size 8]

Every labelled image under --data (found as ``python -m core.evaluate`` finds them) is
predicted and, for each method, explained and scored: deletion and insertion AUC beside a
seeded random map's, as in the dashboard. ``--methods none`` only predicts. Results go to
``--out`` as Parquet parts (``part-00000.parquet``, …), one row per image and method; a
rerun into the same folder skips what is already there, so an interrupted job resumes
where it stopped. An image that cannot be read gets a row with its error and the job
goes on.

``--engine ray`` (the default) runs on Ray Data, one actor per worker, each loading the
model once: a local Ray on this machine's cores, or the cluster at ``--address``
(``ray://host:10001``, ``host:6379`` or ``auto``), to which the repository's code and
weights are shipped. ``--engine local`` runs the same scorer in this process. With
``--limit`` only the first N images of a seeded order are taken (the same ones for the same
``--seed``); the seed also seeds every random method and the random reference map.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from core.batch.cohort import list_cohort, pending
from core.batch.store import ResultStore, read_results, summarise
from core.config import configure
from core.errors import BreastXAIError, command

DEFAULT_METHODS = "gradcam,ig,smoothgrad"


def parse_methods(text: str) -> tuple[str, ...]:
    """The ``--methods`` value as registry keys; ``none`` (or empty) means predictions only."""
    from core.explain.case import resolve_methods

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or names == ["none"]:
        return ()
    try:
        return resolve_methods(names, aliases=True)
    except ValueError as exc:
        raise BreastXAIError(f"{exc}, or 'none' for predictions only.") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m core.batch", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True, help="data-set folder in its published layout")
    ap.add_argument("--out", required=True, help="folder for the Parquet parts (created; reused to resume)")
    ap.add_argument(
        "--methods",
        default=DEFAULT_METHODS,
        help=f"comma-separated, names as in python -m core.explain ('shap' = both SHAP explainers); "
        f"'none' = predictions only (default: {DEFAULT_METHODS})",
    )
    ap.add_argument("--engine", choices=["ray", "local"], default="ray")
    ap.add_argument("--address", default=None, help="Ray cluster to join (default: start a local Ray)")
    ap.add_argument("--workers", type=int, default=None, help="Ray actors (default: CPUs / --cpus-per-worker)")
    ap.add_argument(
        "--cpus-per-worker",
        type=int,
        default=None,
        help="CPUs, and TensorFlow threads, per Ray worker (default 1); with --engine local, "
        "TensorFlow's threads (default: TensorFlow's choice)",
    )
    ap.add_argument("--limit", type=int, default=None, help="only the first N images of the seeded order")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=8, help="images per batch handed to a worker")
    ap.add_argument("--weights", default=None, help="weights file (default: weights/<modality>.keras)")
    ap.add_argument("--mammo-source", default="auto", choices=["auto", "roi", "films", "cbis", "cbis_films"])
    ap.add_argument("--part-rows", type=int, default=512, help="rows per Parquet part (written sooner after 30 s)")
    ap.add_argument(
        "--ship-code",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send the repository to the Ray workers as their working_dir (default: only with --address)",
    )
    ap.add_argument(
        "--maps",
        action="store_true",
        help="also keep every map (float16, beside each part as part-NNNNN.maps.npz), e.g. for the methods' agreement",
    )
    ap.add_argument("--verbose", action="store_true", help="show Ray's and the workers' own output")
    args = ap.parse_args(argv)
    for name in ("workers", "cpus_per_worker", "limit", "batch_size", "part_rows"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "limit" else 1):
            ap.error(f"--{name.replace('_', '-')} must be at least {0 if name == 'limit' else 1}")
    return args


class Progress:
    """Images done, with rate and ETA: a tqdm bar when tqdm is installed, else a line every 10 s."""

    def __init__(self, total: int, desc: str) -> None:
        self.total, self.done, self.start, self.last = total, 0, time.perf_counter(), 0.0
        try:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="img", file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
        except ImportError:
            self.bar = None
            print(f"{desc}: 0/{total}", file=sys.stderr, flush=True)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter() - self.start
        if now - self.last >= 10 or self.done >= self.total:
            self.last = now
            rate = self.done / now if now else 0.0
            eta = (self.total - self.done) / rate if rate else float("nan")
            print(f"  {self.done}/{self.total} images, {rate:.2f} img/s, ETA {eta:.0f} s", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _ray_failure(exc: Exception) -> BreastXAIError:
    """A Ray error as one line: the last line of its message names the cause."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return BreastXAIError(f"the Ray job failed: {lines[-1] if lines else exc.__class__.__name__}")


def run(args: argparse.Namespace) -> dict:
    from core.batch.worker import portable_weights
    from core.explain.metrics.faithfulness import STEPS
    from core.model.card import verify_weights, weights_path

    methods = parse_methods(args.methods)
    weights = Path(args.weights) if args.weights else weights_path(args.modality)
    card = verify_weights(weights)  # a missing or altered file fails here, before any worker starts
    sha = card.get("weights", {}).get("sha256", "")
    rows = list_cohort(args.modality, args.data, limit=args.limit, seed=args.seed, mammo_source=args.mammo_source)
    store = ResultStore(
        args.out,
        {"modality": args.modality, "weights_sha256": sha, "seed": args.seed, "steps": STEPS},
        part_rows=args.part_rows,
    )
    todo = pending(rows, store.done(), methods)
    what = ", ".join(methods) if methods else "predictions only"
    where = args.engine if args.engine == "local" else f"ray ({args.address or 'local'})"
    print(
        f"{args.modality}: {len(rows)} images in the cohort, {len(rows) - len(todo)} already in '{args.out}', "
        f"{len(todo)} to do; {what}; engine {where}",
        flush=True,
    )
    scorer_kwargs = {
        "modality": args.modality,
        "methods": methods,
        "weights": portable_weights(args.weights),
        "seed": args.seed,
        "steps": STEPS,
        "expect_sha256": sha,
        "maps": bool(getattr(args, "maps", False)),
    }
    start = time.perf_counter()
    images, interrupted = score_rows(todo, store, scorer_kwargs, args)
    seconds = time.perf_counter() - start
    return {
        "rows": len(rows),
        "skipped": len(rows) - len(todo),
        "images": images,
        "seconds": seconds,
        "rows_written": store.rows_written,
        "interrupted": interrupted,
    }


def score_rows(todo: list[dict], store: ResultStore, scorer_kwargs: dict, args: argparse.Namespace) -> tuple[int, bool]:
    """Score ``todo`` on the engine ``args`` name and add every batch to ``store``.

    ``args`` carries the engine settings of :func:`parse_args` (engine, address, workers,
    cpus_per_worker, batch_size, ship_code, verbose). Returns (images scored, interrupted).
    """
    from core.batch import engine

    images = 0
    interrupted = False
    progress = Progress(len(todo), "scoring") if todo else None
    try:
        with (
            engine.ray_session(args.address, ship_code=args.ship_code, quiet=not args.verbose)
            if args.engine == "ray" and todo
            else contextlib.nullcontext()
        ):
            results: Iterator[dict[str, np.ndarray]]
            if args.engine == "local":
                results = engine.run_local(todo, {**scorer_kwargs, "tf_threads": args.cpus_per_worker}, args.batch_size)
            else:
                results = engine.run_ray(todo, scorer_kwargs, args.batch_size, args.workers, args.cpus_per_worker or 1)
            try:
                for batch in results:
                    store.add(batch)
                    n = len(set(batch["image_id"].tolist()))
                    images += n
                    progress.update(n)
            except KeyboardInterrupt:
                interrupted = True
            except Exception as exc:
                if exc.__class__.__module__.startswith("ray") or "Ray" in exc.__class__.__name__:
                    raise _ray_failure(exc) from None
                raise
    finally:
        store.flush()
        if progress is not None:
            progress.close()
    return images, interrupted


def format_summary(out: str | os.PathLike) -> str:
    s = summarise(read_results(out))
    lines = [f"{s.images} images in '{out}', {s.errors} could not be scored"]
    if len(s.methods):
        lines.append(f"  {'method':<14}{'images':>7}{'deletion ↓':>12}{'random':>8}{'insertion ↑':>13}{'random':>8}")
        for r in s.methods.itertuples():
            lines.append(
                f"  {r.method:<14}{r.images:>7}{r.mean_deletion_auc:>12.3f}{r.mean_random_deletion_auc:>8.3f}"
                f"{r.mean_insertion_auc:>13.3f}{r.mean_random_insertion_auc:>8.3f}"
                + ("" if r.beats_random_deletion and r.beats_random_insertion else "   (not better than random)")
            )
    return "\n".join(lines)


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    args = parse_args(argv)
    result = run(args)
    rate = result["images"] / result["seconds"] if result["seconds"] > 0 else 0.0
    print(
        f"scored {result['images']} images in {result['seconds']:.1f} s ({rate:.2f} img/s), "
        f"{result['rows_written']} rows written to '{args.out}'",
        flush=True,
    )
    print(format_summary(args.out), flush=True)
    if result["interrupted"]:
        print("interrupted: run the same command again to resume", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
