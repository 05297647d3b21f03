"""Region analysis: tile an H&E image, score every tissue tile, and map IDC probability.

The image (any size from about 100 px to 5,000 px a side) is cut into 50×50 tiles at the
chosen stride; a last row/column of tiles is added flush with the bottom/right edge so every
pixel is covered. Background tiles are skipped (rule below), the others are scored in
batches by one compiled forward pass, and each pixel of the probability map is the mean
IDC probability of the tissue tiles that cover it (NaN where none does).

Background rule: a pixel is *background* when it is bright and colourless — mean of R, G, B
above 0.85 and saturation ``(max − min) / max`` below 0.15 — or nearly black (mean below
0.05, scanner padding). A tile is background when at least 90% of its pixels are. On the
complete slides of the IDC data set (whose patches were cut from tissue, fat included) this
skips about 0.2% of the labelled patches, none of them IDC-positive.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.errors import ImageError
from core.imaging.grid import tile_origins
from core.modality import DECISION_THRESHOLD, INPUT_SIZE

TILE = INPUT_SIZE
BRIGHT = 0.85  # mean RGB above this ...
PALE = 0.15  # ... and saturation below this: glass / empty slide
DARK = 0.05  # mean RGB below this: black scanner padding
BACKGROUND_SHARE = 0.90  # a tile with at least this share of background pixels is skipped
THRESHOLD = DECISION_THRESHOLD
BATCH = 128  # the fastest of the batch sizes that bench/region.py compares, on 2 cores
CHUNK = 4096  # tiles gathered into memory at once (about 120 MB)
MAX_TILES = 400_000  # e.g. a 5,000 px square at stride 8

NO_DATA, BACKGROUND, TISSUE = -1, 0, 1
STATUS_NAMES = {NO_DATA: "no data", BACKGROUND: "background", TISSUE: "tissue"}


@dataclass(frozen=True)
class Tile:
    y: int
    x: int
    p_positive: float


@dataclass(frozen=True)
class RegionResult:
    """Everything one region analysis produces.

    ``positions`` are the tiles' top-left corners (y, x) in image pixels; ``status`` is
    TISSUE, BACKGROUND or NO_DATA per tile; ``p_positive`` is NaN for tiles not scored.
    ``probability`` has the image's height and width: NaN where no tissue tile covers a
    pixel or where the image holds no data (``valid`` False, holes in a mosaic).
    """

    height: int
    width: int
    stride: int
    positions: np.ndarray  # (N, 2) int32, (y, x)
    status: np.ndarray  # (N,) int8
    p_positive: np.ndarray  # (N,) float32
    probability: np.ndarray  # (H, W) float32
    valid: np.ndarray  # (H, W) bool
    threshold: float
    seconds: float
    timings: dict = field(default_factory=dict)

    @property
    def tiles(self) -> int:
        return int(len(self.status))

    @property
    def tissue_tiles(self) -> int:
        return int((self.status == TISSUE).sum())

    @property
    def background_tiles(self) -> int:
        return int((self.status == BACKGROUND).sum())

    @property
    def no_data_tiles(self) -> int:
        return int((self.status == NO_DATA).sum())

    @property
    def flagged_tiles(self) -> int:
        return int((self.p_positive[self.status == TISSUE] >= self.threshold).sum())

    @property
    def flagged_fraction(self) -> float:
        """Share of the tissue area (pixels covered by tissue tiles) whose probability ≥ threshold."""
        tissue = np.isfinite(self.probability)
        n = int(tissue.sum())
        return float((self.probability[tissue] >= self.threshold).sum() / n) if n else 0.0

    def top_tiles(self, k: int = 10) -> list[Tile]:
        """The ``k`` most suspicious tissue tiles, highest IDC probability first."""
        idx = np.flatnonzero(self.status == TISSUE)
        idx = idx[np.argsort(-self.p_positive[idx], kind="stable")][:k]
        return [Tile(int(self.positions[i, 0]), int(self.positions[i, 1]), float(self.p_positive[i])) for i in idx]

    def tile_at(self, y: int, x: int) -> int | None:
        """Index of the tile whose top-left corner is nearest to pixel (y, x) among those covering it."""
        py, px = self.positions[:, 0], self.positions[:, 1]
        cover = (py <= y) & (y < py + TILE) & (px <= x) & (x < px + TILE)
        idx = np.flatnonzero(cover)
        if not len(idx):
            return None
        centre = (py[idx] + TILE / 2 - y) ** 2 + (px[idx] + TILE / 2 - x) ** 2
        return int(idx[np.argmin(centre)])

    def summary(self, top: int = 10) -> dict:
        return {
            "height": self.height,
            "width": self.width,
            "stride": self.stride,
            "tiles": self.tiles,
            "tissue_tiles": self.tissue_tiles,
            "background_tiles": self.background_tiles,
            "no_data_tiles": self.no_data_tiles,
            "flagged_tiles": self.flagged_tiles,
            "flagged_fraction": round(self.flagged_fraction, 4),
            "threshold": self.threshold,
            "seconds": round(self.seconds, 3),
            "top_tiles": [{"y": t.y, "x": t.x, "p_idc": round(t.p_positive, 4)} for t in self.top_tiles(top)],
        }


# ---------------------------------------------------------------------------------------
# tiling


def tiles_csv(result: RegionResult, flagged_only: bool = False) -> str:
    """Every tile (or only the flagged ones) as CSV: position, status and IDC probability."""
    lines = ["y,x,status,p_idc"]
    for (y, x), s, p in zip(result.positions, result.status, result.p_positive):
        if flagged_only and not (int(s) == TISSUE and p >= result.threshold):
            continue
        lines.append(f"{y},{x},{STATUS_NAMES[int(s)]},{'' if np.isnan(p) else f'{p:.5f}'}")
    return "\n".join(lines) + "\n"


def as_float_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32 in [0, 1] from uint8 or float RGB (grey is repeated to RGB)."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ImageError(f"A region must be an RGB image; this one has shape {image.shape}.")
    if image.shape[2] == 4:
        image = image[..., :3]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    if image.dtype == np.uint8:
        return image.astype(np.float32) / 255.0
    return np.clip(image.astype(np.float32), 0.0, 1.0)


def background_pixels(image: np.ndarray) -> np.ndarray:
    """(H, W) bool: bright and colourless (glass) or nearly black (padding).

    Colourless means a saturation ``(max − min) / max`` under ``PALE``, tested as
    ``max − min < PALE · max`` on channel planes: no division and no reduction over the
    short colour axis, which NumPy does slowly.
    """
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    mean = (r + g + b) / 3.0
    return ((mean > BRIGHT) & (mx - mn < PALE * np.maximum(mx, 1e-6))) | (mean < DARK)


def _window_sums(mask: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Sum of ``mask`` over every TILE×TILE window at (ys × xs), via a summed-area table."""
    # int32 holds any count here: images are limited to 40 M pixels (core.imaging.decode).
    sat = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), np.int32)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int32), axis=1, out=sat[1:, 1:])
    y0, x0 = ys[:, None], xs[None, :]
    return (sat[y0 + TILE, x0 + TILE] - sat[y0, x0 + TILE] - sat[y0 + TILE, x0] + sat[y0, x0]).ravel()


def _pad_to_tile(image: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images smaller than one tile are padded with white (as slide-edge patches are)."""
    h, w = valid.shape
    if h >= TILE and w >= TILE:
        return image, valid
    H, W = max(h, TILE), max(w, TILE)
    padded = np.ones((H, W, 3), np.float32)
    padded[:h, :w] = image
    pvalid = np.zeros((H, W), bool)
    pvalid[:h, :w] = valid
    return padded, pvalid


# ---------------------------------------------------------------------------------------
# scoring


class TileScorer:
    """Batched IDC probabilities for 50×50 tiles through XLA-compiled forward passes.

    Batches have fixed sizes — ``batch_size`` and an eighth of it for the remainder, padded
    with white tiles — so each compiled program is built once per scorer and reused, and a
    short last batch wastes little work. ``Classifier.predict`` gives the same numbers.
    """

    def __init__(self, classifier, batch_size: int = BATCH, jit_compile: bool = True):
        import tensorflow as tf

        self.classifier = classifier
        self.batch_size = int(batch_size)
        self.small_batch = max(1, self.batch_size // 8)
        model = classifier.model
        self._forward = {
            n: tf.function(
                lambda x: model(x, training=False)[:, 1],
                input_signature=[tf.TensorSpec((n, TILE, TILE, 3), tf.float32)],
                jit_compile=jit_compile,
            )
            for n in {self.batch_size, self.small_batch}
        }

    def warm_up(self) -> None:
        for n, forward in self._forward.items():
            forward(np.ones((n, TILE, TILE, 3), np.float32))

    def __call__(self, tiles: np.ndarray) -> np.ndarray:
        n = len(tiles)
        out = np.empty(n, np.float32)
        i = 0
        while i < n:
            bs = self.batch_size if n - i >= self.batch_size else self.small_batch
            chunk = np.asarray(tiles[i : i + bs], np.float32)
            m = len(chunk)
            if m < bs:
                chunk = np.concatenate([chunk, np.ones((bs - m, TILE, TILE, 3), np.float32)])
            out[i : i + m] = self._forward[bs](chunk).numpy()[:m]
            i += m
        return out


_SCORERS: dict[int, TileScorer] = {}


def scorer_for(classifier) -> TileScorer:
    """One compiled scorer per loaded classifier (compiling costs about a second)."""
    key = id(classifier)
    scorer = _SCORERS.get(key)
    if scorer is None or scorer.classifier is not classifier:
        scorer = _SCORERS[key] = TileScorer(classifier)
    return scorer


# ---------------------------------------------------------------------------------------
# analysis


def analyse_region(
    image: np.ndarray,
    classifier,
    stride: int = TILE,
    valid: np.ndarray | None = None,
    threshold: float = THRESHOLD,
    scorer: Callable[[np.ndarray], np.ndarray] | None = None,
) -> RegionResult:
    """Tile ``image``, skip background, score tissue tiles and build the probability map.

    Args:
        image: (H, W, 3) RGB, uint8 or float in [0, 1].
        classifier: a histopathology ``core.model.classifier.Classifier``.
        stride: pixels between tile origins (1–50; below 50 the tiles overlap).
        valid: (H, W) bool, False where the image holds no data (holes in a mosaic);
            tiles without any valid pixel are NO_DATA, never background.
        threshold: probability at or above which a tile counts as flagged.
        scorer: tiles → IDC probabilities; default a compiled :class:`TileScorer`.
    """
    if not 1 <= stride <= TILE:
        raise ValueError(f"stride must be between 1 and {TILE} pixels, not {stride}")
    t0 = time.perf_counter()
    h, w = np.shape(image)[:2]
    ys, xs = tile_origins(max(h, TILE), stride), tile_origins(max(w, TILE), stride)
    if len(ys) * len(xs) > MAX_TILES:  # checked before any pixel work
        raise ImageError(
            f"At stride {stride} this {w}×{h} image makes {len(ys) * len(xs):,} tiles, over the limit of "
            f"{MAX_TILES:,}. Use a larger stride or a smaller region."
        )
    pixels = as_float_rgb(image)
    valid = np.ones((h, w), bool) if valid is None else np.asarray(valid, bool)
    if valid.shape != (h, w):
        raise ValueError("valid mask must have the image's height and width")
    pixels, pvalid = _pad_to_tile(pixels, valid)
    H, W = pvalid.shape
    positions = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2).astype(np.int32)

    bg_share = _window_sums(background_pixels(pixels), ys, xs) / float(TILE * TILE)
    valid_px = _window_sums(pvalid, ys, xs)
    status = np.where(valid_px == 0, NO_DATA, np.where(bg_share >= BACKGROUND_SHARE, BACKGROUND, TISSUE)).astype(
        np.int8
    )
    t1 = time.perf_counter()

    tissue = np.flatnonzero(status == TISSUE)
    windows = np.lib.stride_tricks.sliding_window_view(pixels, (TILE, TILE), axis=(0, 1))  # (H', W', 3, 50, 50)
    p = np.full(len(status), np.nan, np.float32)
    score = scorer or scorer_for(classifier)
    for i in range(0, len(tissue), CHUNK):  # gather tiles a chunk at a time: bounded memory
        part = tissue[i : i + CHUNK]
        tiles = np.ascontiguousarray(windows[positions[part, 0], positions[part, 1]].transpose(0, 2, 3, 1))
        p[part] = score(tiles)
    t2 = time.perf_counter()

    total = np.zeros((H, W), np.float32)
    count = np.zeros((H, W), np.float32)
    for i in tissue:
        y, x = positions[i]
        total[y : y + TILE, x : x + TILE] += p[i]
        count[y : y + TILE, x : x + TILE] += 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(count > 0, total / count, np.nan).astype(np.float32)
    prob[~pvalid] = np.nan
    t3 = time.perf_counter()
    return RegionResult(
        height=h,
        width=w,
        stride=int(stride),
        positions=positions,
        status=status,
        p_positive=p,
        probability=prob[:h, :w],
        valid=valid,
        threshold=float(threshold),
        seconds=t3 - t0,
        timings={"tiling": t1 - t0, "inference": t2 - t1, "map": t3 - t2},
    )


def tile_image(image: np.ndarray, y: int, x: int) -> np.ndarray:
    """The 50×50 model input at tile origin (y, x), padded with white past the image edge."""
    pixels = as_float_rgb(image)
    out = np.ones((TILE, TILE, 3), np.float32)
    crop = pixels[y : y + TILE, x : x + TILE]
    out[: crop.shape[0], : crop.shape[1]] = crop
    return out
