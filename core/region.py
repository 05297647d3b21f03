"""Region analysis: tile an H&E image, score every tissue tile, and map IDC probability.

    python -m core.region --image FILE [--stride 50] [--out DIR] [--json]
    python -m core.region --mosaic PATIENT_DIR [--stride 50] [--out DIR] [--json]

Both take ``--threshold`` (default 0.5) and ``--weights`` (default weights/histo.keras).
``seconds`` is the analysis itself (tiling, background test, inference, map) once the
model is loaded and compiled. ``--out DIR`` writes probability.npy (the map), heatmap.png,
overlay.png, tiles.csv (every tile's position, status and probability), result.json and,
for a mosaic, comparison.png (slide, truth, prediction and overlay side by side).

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

``--mosaic`` rebuilds a patient's slide from its patch folder (see :mod:`core.mosaic`),
analyses it at stride 50 on the patches' own grid, and scores the map against the patch
labels (patch-level AUC). It also says whether the patient is in the test part of the
model's patient split (unseen) and whether the folder holds the whole slide.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import BreastXAIError, ImageError
from .modality import INPUT_SIZE

TILE = INPUT_SIZE
BRIGHT = 0.85  # mean RGB above this ...
PALE = 0.15  # ... and saturation below this: glass / empty slide
DARK = 0.05  # mean RGB below this: black scanner padding
BACKGROUND_SHARE = 0.90  # a tile with at least this share of background pixels is skipped
THRESHOLD = 0.5
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


def tile_origins(length: int, stride: int, tile: int = TILE) -> np.ndarray:
    """Tile start offsets along one axis: every ``stride`` px, plus one flush with the end."""
    if stride < 1:
        raise ValueError("stride must be at least 1 pixel")
    if length <= tile:
        return np.zeros(1, np.int32)
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return np.asarray(starts, np.int32)


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
    # int32 holds any count here: images are limited to 40 M pixels (core.decode).
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
        classifier: a histopathology ``core.predict.Classifier``.
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
    status = np.where(valid_px == 0, NO_DATA, np.where(bg_share >= BACKGROUND_SHARE, BACKGROUND, TISSUE)).astype(np.int8)
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


# ---------------------------------------------------------------------------------------
# pictures (plain RGB arrays; the page and the CLI both use them)

# A perceptually ordered blue → yellow → red ramp for probabilities.
_RAMP = np.array(
    [[0.0, 49, 54, 149], [0.25, 116, 173, 209], [0.5, 255, 255, 191], [0.75, 244, 109, 67], [1.0, 165, 0, 38]],
    np.float32,
)
NO_DATA_RGB = np.array([0.55, 0.55, 0.60], np.float32)  # grey with a hatch: holes in a mosaic
BACKGROUND_RGB = np.array([1.0, 1.0, 1.0], np.float32)


def colourise(values: np.ndarray) -> np.ndarray:
    """Probabilities in [0, 1] → (…, 3) float RGB along the ramp (NaN → white)."""
    v = np.nan_to_num(np.clip(values, 0, 1), nan=0.0)
    rgb = np.stack([np.interp(v, _RAMP[:, 0], _RAMP[:, c]) for c in (1, 2, 3)], axis=-1) / 255.0
    rgb[~np.isfinite(values)] = 1.0
    return rgb.astype(np.float32)


def hatch_no_data(valid: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Paint no-data pixels grey with diagonal stripes so they never read as background."""
    yy, xx = np.indices(valid.shape)
    stripes = ((yy + xx) // 6) % 2 == 0
    hole = ~valid
    rgb[hole] = NO_DATA_RGB
    rgb[hole & stripes] = NO_DATA_RGB * 0.8
    return rgb


def heatmap_rgb(result: RegionResult) -> np.ndarray:
    """The probability map alone: ramp on tissue, white on background, hatched grey for no data."""
    return hatch_no_data(result.valid, colourise(result.probability))


def overlay_rgb(image: np.ndarray, result: RegionResult, opacity: float = 0.45, threshold: float | None = None) -> np.ndarray:
    """The image with the probability map blended on top.

    With ``threshold`` only pixels at or above it are coloured (the rest show the image).
    """
    base = as_float_rgb(image)
    prob = result.probability
    show = np.isfinite(prob)
    if threshold is not None:
        show &= np.nan_to_num(prob, nan=-1.0) >= threshold
    out = base.copy()
    out[show] = (1 - opacity) * base[show] + opacity * colourise(prob[show])
    return hatch_no_data(result.valid, out)


def to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


def downscale(rgb: np.ndarray, max_side: int) -> np.ndarray:
    """Area-average an (H, W, 3) picture so its longer side is at most ``max_side``."""
    from PIL import Image

    h, w = rgb.shape[:2]
    if max(h, w) <= max_side:
        return rgb
    f = max_side / max(h, w)
    im = Image.fromarray(to_uint8(rgb)).resize((max(1, round(w * f)), max(1, round(h * f))), Image.Resampling.BOX)
    return np.asarray(im, np.float32) / 255.0


def side_by_side(panels: list[tuple[str, np.ndarray]], max_side: int = 900, gap: int = 12) -> np.ndarray:
    """Titled panels in one row, as one uint8 picture."""
    from PIL import Image, ImageDraw

    small = [(t, to_uint8(downscale(p, max_side))) for t, p in panels]
    head = 24
    H = max(p.shape[0] for _, p in small) + head
    W = sum(p.shape[1] for _, p in small) + gap * (len(small) + 1)
    canvas = Image.new("RGB", (W, H + gap), "white")
    draw = ImageDraw.Draw(canvas)
    x = gap
    for title, p in small:
        canvas.paste(Image.fromarray(p), (x, head))
        draw.text((x, 5), title, fill=(20, 20, 20))
        x += p.shape[1] + gap
    return np.asarray(canvas)


# ---------------------------------------------------------------------------------------
# CLI


def _save_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(rgb if rgb.dtype == np.uint8 else to_uint8(rgb)).save(path)


def write_outputs(out: Path, image: np.ndarray, result: RegionResult, record: dict, extra: list[tuple[str, np.ndarray]] = ()) -> None:
    """probability.npy, heatmap.png, overlay.png, tiles.csv, result.json (+ comparison.png for mosaics)."""
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "probability.npy", result.probability)
    _save_png(out / "heatmap.png", heatmap_rgb(result))
    _save_png(out / "overlay.png", overlay_rgb(image, result))
    with open(out / "tiles.csv", "w") as fh:
        fh.write("y,x,status,p_idc\n")
        for (y, x), s, p in zip(result.positions, result.status, result.p_positive):
            fh.write(f"{y},{x},{STATUS_NAMES[int(s)]},{'' if np.isnan(p) else f'{p:.5f}'}\n")
    if extra:
        _save_png(out / "comparison.png", side_by_side(list(extra)))
    with open(out / "result.json", "w") as fh:
        json.dump(record, fh, indent=1)
        fh.write("\n")


def _format(record: dict) -> str:
    lines = []
    if "patient" in record:
        lines.append(
            f"patient {record['patient']}: slide {'complete' if record['complete'] else 'sampled (holes)'}, "
            f"{record['patches']} patches, model split part: {record['model_part'] or 'not in its data'}"
        )
    lines += [
        f"image            {record['width']}×{record['height']} px, stride {record['stride']}",
        f"tiles            {record['tiles']}",
        f"tissue tiles     {record['tissue_tiles']}  (background {record['background_tiles']}, no data {record['no_data_tiles']})",
        f"seconds          {record['seconds']:.2f}",
        f"flagged fraction {record['flagged_fraction']:.1%} of the tissue area (p ≥ {record['threshold']})",
    ]
    if "auc" in record:
        auc = "n/a (one class only)" if record["auc"] is None else f"{record['auc']:.4f}"
        lines.append(f"patch-level AUC  {auc}  on {record['scored_patches']} scored patches ({record['scored_positive']} IDC)")
        if record.get("note"):
            lines.append(f"note             {record['note']}")
    top = ", ".join(f"({t['x']},{t['y']}) {t['p_idc']:.2f}" for t in record["top_tiles"][:5])
    lines.append(f"most suspicious  {top or '–'}  [tile x,y and IDC probability]")
    return "\n".join(lines)


def _load_classifier(weights: str | None):
    from .predict import Classifier

    return Classifier.load("histo", weights)


def run_image(path: str, stride: int, weights: str | None, out: str | None, threshold: float = THRESHOLD) -> dict:
    from .decode import decode_image

    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError:
        raise ImageError(f"The image '{path}' cannot be read (missing or not a file).") from None
    t0 = time.perf_counter()
    decoded = decode_image(data, file.name)
    classifier = _load_classifier(weights)
    scorer = scorer_for(classifier)
    scorer.warm_up()
    t1 = time.perf_counter()
    result = analyse_region(decoded.pixels, classifier, stride, threshold=threshold, scorer=scorer)
    record = {"image": file.name, **result.summary(), "decode_seconds": round(t1 - t0, 3)}
    if out:
        write_outputs(Path(out), decoded.pixels, result, record)
    return record


def run_mosaic(folder: str, stride: int, weights: str | None, out: str | None, threshold: float = THRESHOLD) -> dict:
    from .mosaic import build_mosaic, evaluate_mosaic, mosaic_panels

    mosaic = build_mosaic(folder)
    classifier = _load_classifier(weights)
    scorer = scorer_for(classifier)
    scorer.warm_up()
    result = analyse_region(mosaic.image, classifier, stride, valid=mosaic.valid, threshold=threshold, scorer=scorer)
    score = evaluate_mosaic(mosaic, result, classifier.card)
    record = {**score.to_dict(), **result.summary()}
    if out:
        write_outputs(Path(out), mosaic.image, result, record, mosaic_panels(mosaic, result))
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.region", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--image", help="an H&E region image (PNG, JPEG or TIFF), about 100 to 5,000 px a side")
    src.add_argument("--mosaic", help="one patient's folder in the data-set layout (<patient>/<0|1>/*.png)")
    ap.add_argument("--stride", type=int, default=TILE, help="pixels between tiles, 1–50 (default 50)")
    ap.add_argument("--threshold", type=float, default=THRESHOLD, help="IDC probability at or above which tissue is flagged (default 0.5)")
    ap.add_argument("--weights", default=None, help="weights file (default: weights/histo.keras)")
    ap.add_argument("--out", default=None, help="folder for the maps, pictures, tiles.csv and result.json")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    if not 1 <= args.stride <= TILE:
        print(f"error: --stride must be between 1 and {TILE} pixels.", file=sys.stderr)
        return 2
    if not 0.0 < args.threshold < 1.0:
        print("error: --threshold must be between 0 and 1.", file=sys.stderr)
        return 2
    try:
        if args.image:
            record = run_image(args.image, args.stride, args.weights, args.out, args.threshold)
        else:
            record = run_mosaic(args.mosaic, args.stride, args.weights, args.out, args.threshold)
    except BreastXAIError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, MemoryError) as exc:
        print(f"error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(record) if args.json else _format(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
