"""The command line the post-training tools share: which shipped model, and the data it came from."""

from __future__ import annotations

import argparse

from core.model.card import weights_path
from core.model.classifier import Classifier


def shipped_model(prog: str, description: str | None, argv: list[str] | None) -> tuple[argparse.Namespace, Classifier]:
    """Parse ``--modality --data [--weights]`` and load that model (its SHA-256 checked)."""
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", default=None)
    args = ap.parse_args(argv)
    args.weights = args.weights or weights_path(args.modality)
    return args, Classifier.load(args.modality, args.weights)
