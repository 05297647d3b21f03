"""The command line's wall time from a fresh process, start-up and set-up included.

    python bench/cli.py [--runs 3] [--image PATCH]

Runs ``python -m core.explain --modality histo --image PATCH --json`` in a new process with
Grad-CAM only (as it runs by default, on the NumPy runtime, and with ``--runtime keras``) and
with every method, and ``python -c "import tensorflow"`` as the floor that any call on the
Keras runtime pays, each ``--runs`` times in turn (after one untimed run of each, which fills
the disk cache), and prints the median, lowest and highest wall seconds of each. The default
patch is one of the histopathology model's unseen test patients, from ``$BREASTXAI_DATA`` or
``../shared/data`` (found as ``bench/load.py`` finds it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from load import data_root

ROOT = Path(__file__).resolve().parent.parent
PATCH = "histo/IDC_regular_ps50_idx5/9124/1/9124_idx5_x1001_y1001_class1.png"


def commands(image: Path) -> dict[str, list[str]]:
    explain = [sys.executable, "-m", "core.explain", "--modality", "histo", "--image", str(image), "--json"]
    return {
        "import tensorflow": [sys.executable, "-c", "import tensorflow"],
        "core.explain, Grad-CAM only": [*explain, "--methods", "gradcam"],
        "  the same, --runtime keras": [*explain, "--methods", "gradcam", "--runtime", "keras"],
        "core.explain, all methods": explain,
    }


def wall_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--image", type=Path, help="a histopathology patch (default: a test patient's)")
    args = ap.parse_args(argv)
    image = (args.image or data_root(None) / PATCH).resolve()
    if not image.exists():
        raise SystemExit(f"error: {image} not found (give --image or set BREASTXAI_DATA)")
    runs = commands(image)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for command in runs.values():
        wall_seconds(command)  # untimed: fills the disk cache
    for _ in range(args.runs):
        for name, command in runs.items():
            times[name].append(wall_seconds(command))
    print(f"fresh processes, {args.runs} runs each, {os.cpu_count()} cores; wall seconds median (lowest–highest)")
    for name, t in times.items():
        print(f"{name:<30} {statistics.median(t):5.1f} s ({min(t):.1f}–{max(t):.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
