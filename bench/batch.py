"""Cohort batch speed: images/s in-process and on a local Ray with 1 and 2 workers.

    python bench/batch.py [--n 320] [--methods gradcam,ig,smoothgrad] [--batch-size 8] [--seed 0]

Scores ``--n`` patches of the histo model's test patients (prediction, the random-map
reference, and each method's map with its deletion/insertion AUC), as ``python -m
core.batch`` does, three times: ``--engine local`` (one scorer in this process, 1
TensorFlow thread) and Ray Data with 1 and with 2 actors (1 CPU and 1 TensorFlow thread
each). Targets: 2 workers ≥ 1.7 × 1 worker, and Ray with 1 worker at most 15% slower than
local. Each rate is given end to end (the workers' start-up, model load and tracing
included; Ray's own start-up is timed apart) and once the workers are up (from the first
batch's start inside a worker to the last batch's end, as the scorer stamps them). The engines run
interleaved ``--repeats`` times and the median run of each is shown. The hours for the
whole IDC set on N machines like this one are an estimate from the measured per-image
cost, assuming linear scaling.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent

IDC_PATCHES = 277_524  # the public IDC data set


def timed(results) -> dict:
    """Consume an engine's batches, timing each arrival.

    ``steady`` is the rate once the workers are up: images over the time from the first
    batch's start inside a worker to the last batch's end there (the scorer stamps both),
    so it leaves out process start, model load and tracing (``startup``: the time to that
    first start) but keeps every gap between batches, the driver's and Ray's own work
    included. With 2 workers the window opens at the first worker's first batch, so a
    worker that starts later lowers that rate.
    """
    start = time.perf_counter()
    wall0 = time.time()
    arrivals: list[tuple[float, int, float]] = []
    first_start, last_end = float("inf"), 0.0
    for batch in results:
        per_image = dict(zip(batch["image_id"].tolist(), batch["case_seconds"].tolist()))
        arrivals.append((time.perf_counter() - start, len(per_image), sum(per_image.values())))
        if len(batch["batch_started"]):
            first_start = min(first_start, float(batch["batch_started"].min()))
            last_end = max(last_end, float(batch["batch_finished"].max()))
    total = arrivals[-1][0] if arrivals else 0.0
    images = sum(n for _, n, _ in arrivals)
    busy = sum(b for _, _, b in arrivals)
    window = last_end - first_start  # from the first batch's start in a worker to the last one's end
    return {
        "images": images,
        "seconds": total,
        "startup": max(0.0, first_start - wall0) if arrivals else 0.0,
        "busy": busy / images if images else 0.0,  # seconds per image inside the scorer
        "rate": images / total if total else 0.0,
        "steady": images / window if window > 0 else None,
    }


def median_run(runs: list[dict]) -> dict:
    """The run with the median end-to-end rate (its own steady rate kept with it)."""
    return sorted(runs, key=lambda r: r["rate"])[(len(runs) - 1) // 2]


def fmt(r: dict) -> str:
    steady = f"{r['steady']:6.2f}" if r["steady"] else "     –"
    return (
        f"{r['rate']:6.2f} img/s end to end ({r['seconds']:5.1f} s)   "
        f"{steady} img/s after start-up ({r['startup']:4.1f} s)   {r['busy']:.3f} s/img in the scorer"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=320, help="patches of the test patients")
    ap.add_argument("--methods", default="gradcam,ig,smoothgrad")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=1, help="interleaved runs of each engine (the median is shown)")
    ap.add_argument(
        "--data",
        default=str(
            Path(os.environ.get("BREASTXAI_DATA", ROOT.parent / "shared" / "data")) / "histo" / "IDC_regular_ps50_idx5"
        ),
    )
    args = ap.parse_args(argv)

    from core.config import configure

    configure(tf_threads=1)  # the local engine gets what one Ray worker gets: one thread
    from core.batch.cohort import list_cohort
    from core.batch.engine import ray_session, run_local, run_ray
    from core.batch.worker import CaseScorer
    from core.explain.case import resolve_methods
    from core.model.card import read_json, weights_path

    card = read_json(weights_path("histo").with_suffix(".json"))
    test = set(card.get("split", {}).get("patients", {}).get("test", []))
    rows = list_cohort("histo", args.data, seed=args.seed, keep=lambda p: p in test, limit=args.n)
    methods = resolve_methods(args.methods, aliases=True)
    kwargs = {"modality": "histo", "methods": methods, "seed": args.seed}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import ray

    print(f"machine      {platform.processor() or platform.machine()}, {cores} usable CPU cores, Ray {ray.__version__}")
    load = os.getloadavg()[0]
    print(
        f"load         {load:.1f} on {cores} cores at the start" + (" (other work shares the CPU)" if load > 1 else "")
    )
    print(
        f"cohort       {len(rows)} patches of {len({r['patient_id'] for r in rows})} test patients; "
        f"prediction + {', '.join(methods)}; batch {args.batch_size}"
    )

    # Not timed: the first scorer in this process pays TensorFlow's import and first traces.
    CaseScorer(**kwargs)
    runs: dict[str, list[dict]] = {"local": [], "ray1": [], "ray2": []}
    start = time.perf_counter()
    with ray_session(num_cpus=cores):
        print(f"ray.init     {time.perf_counter() - start:.1f} s (once per cluster; not in the rates)")
        # Interleaved, so that a change in the machine's other load hits all three alike.
        for _ in range(args.repeats):
            runs["local"].append(timed(run_local(rows, kwargs, args.batch_size)))
            runs["ray1"].append(timed(run_ray(rows, kwargs, args.batch_size, workers=1)))
            runs["ray2"].append(timed(run_ray(rows, kwargs, args.batch_size, workers=2)))
    local, ray1, ray2 = (median_run(runs[k]) for k in ("local", "ray1", "ray2"))
    print(
        f"\nmedian of {args.repeats} interleaved run(s); start-up = worker process, model load, tracing; "
        "s/img in the scorer = the images' own time (reading, prediction, maps, curves)"
    )
    print(f"local        {fmt(local)}")
    print(f"ray 1 worker {fmt(ray1)}")
    print(f"ray 2 workers{fmt(ray2)}")
    if args.repeats > 1:
        for key, name in (("local", "local"), ("ray1", "ray 1 worker"), ("ray2", "ray 2 workers")):
            print(f"  {name:<13} end-to-end rates of each run: " + ", ".join(f"{r['rate']:.2f}" for r in runs[key]))

    print()
    for key, name in (("rate", "end to end"), ("steady", "after start-up")):
        if not (local[key] and ray1[key] and ray2[key]):
            continue
        scaling = ray2[key] / (2 * ray1[key])
        overhead = (local[key] - ray1[key]) / local[key]
        print(
            f"{name:<15}scaling {ray2[key] / ray1[key]:.2f}× = efficiency {scaling:4.0%} "
            "(2-worker rate / 2 × 1-worker rate; target ≥ 1.7×, i.e. ≥ 85%)"
            f"   Ray overhead {overhead:+5.0%} vs local (target ≤ 15%)"
        )

    best = ray2["steady"] or ray2["rate"]  # a long job amortises the start-up
    per_core = local["steady"] or local["rate"]  # images/s on one TensorFlow thread
    print(f"\nESTIMATE for the full IDC set ({IDC_PATCHES:,} patches), from the rates measured here,")
    print(
        f"assuming linear scaling across machines, each like this one ({best:.2f} img/s with 2 workers), "
        "data readable on every node, start-up ignored:"
    )
    for machines in (1, 10, 100):
        print(
            f"  {machines:>3} machine{'s' if machines > 1 else ' '}  ≈ {IDC_PATCHES / (best * machines) / 3600:7.1f} h"
        )
    print(
        f"  per core: {1 / per_core:.2f} s per patch → {IDC_PATCHES / per_core / 3600:,.0f} core-hours in all "
        f"(e.g. {IDC_PATCHES / per_core / 3600 / 1600:.2f} h on 100 machines of 16 cores)"
    )
    if load > 1:
        print(
            f"  note: the load was {load:.1f} on {cores} cores: the rates are low and noisy; rerun on an idle machine."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
