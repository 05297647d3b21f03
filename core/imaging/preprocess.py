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


def stretch_contrast(gray: np.ndarray, low: float = 0.5, high: float = 99.5) -> np.ndarray:
    """Map the [low, high] percentiles of a grey image to [0, 1]."""
    lo, hi = np.percentile(gray, [low, high])
    if hi - lo < 1e-6:
        return np.zeros_like(gray, dtype=np.float32)
    return np.clip((gray - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def resize_linear(pixels: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """Resize (H, W, C) float pixels to (size, size, C) with linear interpolation.

    Pillow's bilinear filter widens its support when shrinking, so a large image is
    averaged rather than aliased.
    """
    if pixels.shape[0] == size and pixels.shape[1] == size:
        return pixels.astype(np.float32)
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(pixels[..., c], np.float32), mode="F").resize(
                (size, size), Image.Resampling.BILINEAR
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


def to_model_input(pixels: np.ndarray, modality: Modality | str) -> np.ndarray:
    """(H, W, C) pixels in [0, 1] → (50, 50, C_modality) float32 model input."""
    m = get_modality(modality) if isinstance(modality, str) else modality
    if m.channels == 3:
        rgb = to_rgb(pixels)
        h, w = rgb.shape[:2]
        if h <= INPUT_SIZE and w <= INPUT_SIZE and (h < INPUT_SIZE or w < INPUT_SIZE):
            return pad_to_square(rgb)
        return resize_linear(rgb)
    return resize_linear(stretch_contrast(to_gray(pixels)))


def load_model_input(path: str, modality: Modality | str) -> np.ndarray:
    """Read a file from disk straight to a (50, 50, C) model input."""
    return to_model_input(read_image(path).pixels, modality)
