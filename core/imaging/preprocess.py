"""Image → model input: the channel convention of each modality and the 50×50 resize.

``to_model_input`` applies the modality's channel convention (see :mod:`core.modality`) and
resizes to 50×50 with linear interpolation, as in the paper.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.imaging.decode import read_image
from core.modality import INPUT_SIZE, Modality, get_modality


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def to_gray(pixels: np.ndarray) -> np.ndarray:
    if pixels.shape[2] == 1:
        return pixels
    weights = np.array([0.299, 0.587, 0.114], np.float32)
    return (pixels[..., :3] @ weights)[..., None].astype(np.float32)


def resize_linear(pixels: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize (H, W, C) float pixels to (size, size, C) with linear interpolation.

    Pillow's bilinear filter widens its support when shrinking, so a large image is
    averaged rather than aliased.
    """
    return resize_to(pixels, size, size)


def resize_to(pixels: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize (H, W, C) float pixels to (height, width, C) with the same linear filter."""
    if pixels.shape[0] == height and pixels.shape[1] == width:
        return pixels.astype(np.float32)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[..., c], np.float32), mode="F").resize(
                (width, height), Image.Resampling.BILINEAR
            )
        )
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(channels, axis=-1), 0.0, 1.0).astype(np.float32)


def pad_to_square(pixels: np.ndarray, size: int = INPUT_SIZE, fill: float = 1.0) -> np.ndarray:
    """Pad a patch smaller than size×size at its bottom/right with ``fill``.

    The IDC data set's slide-edge patches are cut short where the slide ends. Padding with
    white (the slide background) keeps the 40× scale of every other patch; stretching them
    to 50×50 would show the model tissue at a magnification it never sees elsewhere.
    """
    h, w, c = pixels.shape
    out = np.full((size, size, c), fill, np.float32)
    out[: min(h, size), : min(w, size)] = pixels[:size, :size]
    return out


# An H&E image with a side longer than this is not one patch: the model reads 50×50 px at
# the data set's scale, so a larger image is analysed tile by tile (Region) or a patch is
# picked from it, never shrunk into one input.
PATCH_MAX_SIDE = 64


def is_patch_sized(height: int, width: int) -> bool:
    """Whether an H&E image is small enough to be read as one patch (see PATCH_MAX_SIDE)."""
    return max(height, width) <= PATCH_MAX_SIDE


def centre_square(pixels: np.ndarray, fill: float) -> np.ndarray:
    """Pad (H, W, C) pixels to a square around their centre with ``fill``; a square comes back as is.

    Resizing a non-square image straight to 50×50 would distort its aspect ratio.
    """
    h, w, c = pixels.shape
    if h == w:
        return pixels
    side = max(h, w)
    out = np.full((side, side, c), fill, np.float32)
    y0, x0 = (side - h) // 2, (side - w) // 2
    out[y0 : y0 + h, x0 : x0 + w] = pixels
    return out


def to_model_input(pixels: np.ndarray, modality: Modality | str) -> np.ndarray:
    """(H, W, C) pixels in [0, 1] → (50, 50, C_modality) float32 model input.

    Never distorts the aspect ratio: a non-square image is padded to a square first (white,
    the slide background, for H&E; black for mammograms).
    """
    m = get_modality(modality) if isinstance(modality, str) else modality
    if m.channels == 3:
        rgb = to_rgb(pixels)
        h, w = rgb.shape[:2]
        if h <= INPUT_SIZE and w <= INPUT_SIZE and (h < INPUT_SIZE or w < INPUT_SIZE):
            return pad_to_square(rgb)
        return resize_linear(centre_square(rgb, 1.0))
    # Grey values as decoded, not stretched per crop: how dense a mass is against the tissue
    # around it is part of what tells malignant from benign (docs/experiments.md, M8).
    gray = np.clip(to_gray(pixels), 0.0, 1.0).astype(np.float32)
    return resize_linear(centre_square(gray, 0.0))


def map_to_image(heatmap: np.ndarray, height: int, width: int, channels: int = 3) -> np.ndarray:
    """A (50, 50) map of a model input laid back on the (height, width) image it came from.

    The inverse of :func:`to_model_input`'s geometry: a short H&E patch's map is cut where
    it was padded; otherwise the map is stretched to the padded square at the image's
    resolution (linear interpolation) and the padding cut off.
    """
    hm = np.asarray(heatmap, np.float32)
    if channels == 3 and height <= INPUT_SIZE and width <= INPUT_SIZE and (height < INPUT_SIZE or width < INPUT_SIZE):
        return hm[:height, :width]
    side = max(height, width)
    big = resize_to(hm[..., None], side, side)[..., 0] if hm.min() >= 0 else _resize_signed(hm, side)
    y0, x0 = (side - height) // 2, (side - width) // 2
    return big[y0 : y0 + height, x0 : x0 + width]


def _resize_signed(hm: np.ndarray, side: int) -> np.ndarray:
    """resize_to clips to [0, 1]; a signed map is resized by its two halves."""
    pos = resize_to(np.clip(hm, 0, None)[..., None] / max(float(hm.max()), 1e-12), side, side)[..., 0]
    neg = resize_to(np.clip(-hm, 0, None)[..., None] / max(float(-hm.min()), 1e-12), side, side)[..., 0]
    return pos * max(float(hm.max()), 0.0) - neg * max(float(-hm.min()), 0.0)


def load_model_input(path: str, modality: Modality | str) -> np.ndarray:
    """Read a file from disk straight to a (50, 50, C) model input."""
    return to_model_input(read_image(path).pixels, modality)
