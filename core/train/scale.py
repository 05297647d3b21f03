"""Write the tissue-scale reference of the histopathology model into its card.

    python -m core.train.scale --data DIR [--weights FILE] [--n 2000]

The reference is the training patients' patches' median fine detail at a ladder of zooms
(see :mod:`core.imaging.scale`); the Region page uses it to warn when an upload's tissue
looks larger or smaller than the model's scale. The weights are not touched.
"""

from __future__ import annotations

import argparse

import numpy as np

from core.config import configure
from core.data.labelled import load_labelled
from core.errors import command
from core.imaging.scale import MODEL_UM_PER_PX, ZOOMS, fit_scale_reference
from core.model.card import card_path, read_json, weights_path, write_json

SOURCE = (
    "40× whole-slide scans (about 0.25 µm/px) downsampled 16:1 to an apparent 2.5× before tiling "
    "(Janowczyk & Madabhushi 2016; Cruz-Roa et al. 2014)"
)


def scale_record(patches: np.ndarray, n: int = 2000, seed: int = 42) -> dict:
    """The card's ``tissue_scale`` entry from up to ``n`` of the training patches."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(patches), size=min(n, len(patches)), replace=False)
    ref = fit_scale_reference(patches[np.sort(pick)], ZOOMS)
    return {
        "um_per_px": MODEL_UM_PER_PX,
        "source": SOURCE,
        "zooms": list(ref.zooms),
        "detail": list(ref.detail),
        "n_patches": int(len(pick)),
    }


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(prog="python -m core.train.scale", description=__doc__)
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--n", type=int, default=2000, help="training patches to sample")
    args = ap.parse_args(argv)
    weights_file = args.weights or weights_path("histo")
    card = read_json(card_path(weights_file))
    train = set(card.get("split", {}).get("patients", {}).get("train", []))
    data = load_labelled("histo", args.data, keep=lambda p: p in train)
    card["tissue_scale"] = record = scale_record(data.x, args.n)
    write_json(card_path(weights_file), card)
    curve = ", ".join(f"{z:g}×: {d:.3f}" for z, d in zip(record["zooms"], record["detail"]))
    print(
        f"histo tissue scale {record['um_per_px']} µm/px; fine detail by zoom ({record['n_patches']} patches): {curve}"
    )
    print(f"wrote the tissue-scale reference into {card_path(weights_file)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
