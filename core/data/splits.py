"""Train/validation/test splits: the paper's patch-level protocol and the patient-disjoint one.

* ``paper`` — random 80/20 split of images with ``random_state=42`` (stratified by label),
  as published. Patches of one patient land on both sides, so test scores are optimistic.
* ``patient`` — patients are shuffled with seed 42 and assigned to the test part until it
  holds 20% of the images; the validation part is carved out of the rest the same way.
  No patient is in two parts. ``hold_out`` patients are put in the test part first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

PROTOCOLS = ("patient", "paper")


@dataclass(frozen=True)
class Split:
    protocol: str
    seed: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    held_out: tuple[str, ...] = field(default_factory=tuple)

    def patients(self, groups: np.ndarray) -> dict[str, list[str]]:
        return {part: sorted(set(groups[getattr(self, part)].tolist())) for part in ("train", "val", "test")}


def _take_patients(order: list[str], sizes: dict[str, int], target: int, first: tuple[str, ...] = ()) -> set[str]:
    chosen: set[str] = set()
    total = 0
    for pid in list(first) + [p for p in order if p not in first]:
        if total >= target and pid not in first:
            break
        chosen.add(pid)
        total += sizes[pid]
    return chosen


def patient_split(
    groups: np.ndarray,
    seed: int = 42,
    test_fraction: float = 0.2,
    val_fraction: float = 0.15,
    hold_out: tuple[str, ...] = (),
) -> Split:
    groups = np.asarray(groups).astype(str)
    uniq, counts = np.unique(groups, return_counts=True)
    missing = [p for p in hold_out if p not in set(uniq.tolist())]
    if missing:
        raise ValueError(f"hold-out patients not in the data: {missing}")
    sizes = dict(zip(uniq.tolist(), counts.tolist()))
    rng = np.random.default_rng(seed)
    order = [str(p) for p in rng.permutation(uniq)]
    test_p = _take_patients(order, sizes, int(round(test_fraction * len(groups))), tuple(hold_out))
    rest = [p for p in order if p not in test_p]
    n_rest = sum(sizes[p] for p in rest)
    val_p = _take_patients(rest, sizes, int(round(val_fraction * n_rest)))
    part = np.array(["test" if g in test_p else "val" if g in val_p else "train" for g in groups])
    return Split(
        "patient",
        seed,
        np.flatnonzero(part == "train"),
        np.flatnonzero(part == "val"),
        np.flatnonzero(part == "test"),
        tuple(hold_out),
    )


def paper_split(labels: np.ndarray, seed: int = 42, test_fraction: float = 0.2, val_fraction: float = 0.15) -> Split:
    idx = np.arange(len(labels))
    labels = np.asarray(labels)
    train_val, test = train_test_split(idx, test_size=test_fraction, random_state=seed, stratify=labels)
    train, val = train_test_split(train_val, test_size=val_fraction, random_state=seed, stratify=labels[train_val])
    return Split("paper", seed, np.sort(train), np.sort(val), np.sort(test))


def make_split(
    protocol: str, labels: np.ndarray, groups: np.ndarray, seed: int = 42, hold_out: tuple[str, ...] = ()
) -> Split:
    if protocol == "patient":
        return patient_split(groups, seed, hold_out=hold_out)
    if protocol == "paper":
        if hold_out:
            raise ValueError("--hold-out applies to the patient split only")
        return paper_split(labels, seed)
    raise ValueError(f"unknown split protocol {protocol!r}; choose one of {PROTOCOLS}")
