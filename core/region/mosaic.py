"""Rebuild a patient's slide from its patch folder and score a region map against the labels.

Every patch of the IDC data set is named ``<patient>_idx5_x<X>_y<Y>_class<C>.png`` where
(X, Y) is its top-left corner on the whole slide, in slide pixels at 40×; the patches sit
on a 50-px grid (X ≡ Y ≡ 1 mod 50 in the published data). Pasting them at those offsets
gives back the slide's tissue. Folders that hold only a sample of a patient's patches
give a mosaic with holes; holes are kept apart from background (``valid`` is False there)
so the analysis reports them as *no data* and pictures show them hatched.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.histo import Patch, SlideGrid, find_patches, slide_grid, slide_grids
from core.errors import DataError
from core.modality import INPUT_SIZE
from core.region.tiles import RegionResult


@dataclass(frozen=True)
class Mosaic:
    """One patient's slide rebuilt from patches.

    ``image`` is (H, W, 3) uint8, white where there is no patch; ``valid`` marks the pixels
    that come from a patch. ``positions`` are the patches' top-left corners (y, x) in
    mosaic pixels; slide pixel = mosaic pixel + ``origin`` (x0, y0).
    """

    patient: str
    image: np.ndarray
    valid: np.ndarray
    origin: tuple[int, int]
    patches: tuple[Patch, ...]
    positions: np.ndarray  # (N, 2) int32, (y, x)
    sizes: np.ndarray  # (N, 2) int32, (height, width) of each patch as stored
    labels: np.ndarray  # (N,) int8

    @property
    def grid(self) -> SlideGrid:
        return slide_grid(self.patient, [(p.x, p.y) for p in self.patches])

    @property
    def complete(self) -> bool:
        """Whether the folder holds the whole slide, told from its dense patch grid."""
        return self.grid.complete

    @property
    def on_grid(self) -> bool:
        """True when every patch starts on the 50-px grid through the first one."""
        return bool(np.all(self.positions % INPUT_SIZE == 0))

    @property
    def grid_cells(self) -> int:
        """Cells of the 50-px grid spanned by the mosaic (present or not)."""
        h, w = self.valid.shape
        return -(-h // INPUT_SIZE) * -(-w // INPUT_SIZE)


def _read_rgb(path: str) -> np.ndarray:
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), np.uint8)
    except Exception:
        raise DataError(f"The patch '{os.path.basename(path)}' cannot be read as an image.") from None


def build_mosaic(folder: str | os.PathLike) -> Mosaic:
    """Paste every patch of one patient's folder at its (x, y) on an empty slide.

    Raises:
        DataError: the folder is missing, holds no patches, or holds several patients.
    """
    folder = Path(folder)
    patches = find_patches(folder)
    patients = sorted({p.patient for p in patches})
    if len(patients) != 1:
        raise DataError(
            f"'{folder.name}' holds patches of {len(patients)} patients; point at one patient's folder "
            "(<patient>/<0|1>/*.png)."
        )
    # the same patch can appear once per class folder only if the data set is damaged
    seen: dict[tuple[int, int], Patch] = {}
    for p in patches:
        if (p.x, p.y) in seen:
            raise DataError(f"Two patches of patient {p.patient} claim the slide position x={p.x}, y={p.y}.")
        seen[(p.x, p.y)] = p
    x0 = min(p.x for p in patches)
    y0 = min(p.y for p in patches)
    width = max(p.x for p in patches) - x0 + INPUT_SIZE
    height = max(p.y for p in patches) - y0 + INPUT_SIZE
    pixels = [_read_rgb(p.path) for p in patches]  # serial: a thread pool was slower (see load_patches)
    image = np.full((height, width, 3), 255, np.uint8)
    valid = np.zeros((height, width), bool)
    positions = np.zeros((len(patches), 2), np.int32)
    sizes = np.zeros((len(patches), 2), np.int32)
    for i, (p, px) in enumerate(zip(patches, pixels)):
        y, x = p.y - y0, p.x - x0
        h, w = min(px.shape[0], INPUT_SIZE), min(px.shape[1], INPUT_SIZE)
        image[y : y + h, x : x + w] = px[:h, :w]
        valid[y : y + h, x : x + w] = True
        positions[i] = (y, x)
        sizes[i] = (h, w)
    return Mosaic(
        patient=patients[0],
        image=image,
        valid=valid,
        origin=(x0, y0),
        patches=tuple(patches),
        positions=positions,
        sizes=sizes,
        labels=np.array([p.label for p in patches], np.int8),
    )


def patient_folders(root: str | os.PathLike) -> list[Path]:
    """The patient folders of a data-set root, complete slides first, then by id."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"The histopathology folder '{root}' does not exist.")
    folders = [p for p in root.iterdir() if p.is_dir() and p.name.isdigit()]
    complete = complete_folders(root)
    return sorted(folders, key=lambda p: (p.name not in complete, int(p.name)))


def complete_folders(root: str | os.PathLike) -> set[str]:
    """Patient ids under ``root`` whose folders hold their whole slide (dense patch grid)."""
    return {pid for pid, g in slide_grids(find_patches(root)).items() if g.complete}


# ---------------------------------------------------------------------------------------
# truth vs prediction


def label_map(mosaic: Mosaic) -> np.ndarray:
    """(H, W) float32: each patch's label over its pixels, NaN where there is no patch."""
    out = np.full(mosaic.valid.shape, np.nan, np.float32)
    for (y, x), (h, w), label in zip(mosaic.positions, mosaic.sizes, mosaic.labels):
        out[y : y + h, x : x + w] = float(label)
    return out


def patch_probabilities(mosaic: Mosaic, result: RegionResult) -> np.ndarray:
    """Each patch's score from the map: the mean probability over its pixels (NaN if none scored).

    At stride 50 on the patches' grid this is exactly the probability of the tile that
    coincides with the patch.
    """
    prob = result.probability
    out = np.full(len(mosaic.patches), np.nan, np.float32)
    for i, ((y, x), (h, w)) in enumerate(zip(mosaic.positions, mosaic.sizes)):
        block = prob[y : y + h, x : x + w]
        finite = block[np.isfinite(block)]
        if finite.size:
            out[i] = float(finite.mean())
    return out


def model_part(card: dict, patient: str) -> str | None:
    """Which part of the model's patient split holds ``patient``.

    ``"train"``, ``"val"`` or ``"test"``; ``"none"`` when the card lists the split and the
    patient is in none of its parts; None when the card does not list patients.
    """
    parts = (card or {}).get("split", {}).get("patients")
    if not parts:
        return None
    for part in ("train", "val", "test"):
        if patient in set(map(str, parts.get(part, []))):
            return part
    return "none"


@dataclass(frozen=True)
class MosaicScore:
    patient: str
    complete: bool
    model_part: str | None
    unseen: bool  # the model neither trained nor validated on this patient
    held_out: bool  # the split forced this patient into its test part
    patches: int
    grid_cells: int
    scored_patches: int
    scored_positive: int
    background_patches: int  # labelled patches the background rule skipped
    background_positive: int
    auc: float | None  # patch-level ROC AUC over the scored patches; None with one class only
    accuracy: float | None  # at the result's threshold
    reportable: bool  # complete slide of an unseen patient
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate_mosaic(mosaic: Mosaic, result: RegionResult, card: dict | None) -> MosaicScore:
    """Patch-level AUC of the region map against the patch labels."""
    from sklearn.metrics import roc_auc_score

    p = patch_probabilities(mosaic, result)
    scored = np.isfinite(p)
    y = mosaic.labels.astype(int)
    ys, ps = y[scored], p[scored]
    auc = float(roc_auc_score(ys, ps)) if len(set(ys.tolist())) == 2 else None
    acc = float(((ps >= result.threshold) == (ys == 1)).mean()) if len(ys) else None
    part = model_part(card or {}, mosaic.patient)
    unseen = part in ("test", "none")
    held = mosaic.patient in set(map(str, (card or {}).get("split", {}).get("held_out", [])))
    notes = []
    if part is None:
        notes.append("the model card does not list its split's patients, so whether this patient is unseen is unknown")
    elif not unseen:
        notes.append(
            f"the model used this patient for {'training' if part == 'train' else 'validation'}: the AUC is optimistic"
        )
    if not mosaic.complete:
        notes.append("the folder holds a sample of the slide's patches: the AUC covers only the patches present")
    return MosaicScore(
        patient=mosaic.patient,
        complete=mosaic.complete,
        model_part=part,
        unseen=unseen,
        held_out=held,
        patches=len(y),
        grid_cells=mosaic.grid_cells,
        scored_patches=int(scored.sum()),
        scored_positive=int(ys.sum()),
        background_patches=int((~scored).sum()),
        background_positive=int(y[~scored].sum()),
        auc=None if auc is None else round(auc, 4),
        accuracy=None if acc is None else round(acc, 4),
        reportable=bool(mosaic.complete and unseen),
        note="; ".join(notes),
    )


__all__ = [
    "complete_folders",
    "Mosaic",
    "MosaicScore",
    "build_mosaic",
    "evaluate_mosaic",
    "label_map",
    "model_part",
    "patch_probabilities",
    "patient_folders",
]
