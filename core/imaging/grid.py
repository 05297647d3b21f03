"""Where square tiles start along an axis: one rule for region tiling and for occlusion."""

from __future__ import annotations

import numpy as np

from core.modality import INPUT_SIZE


def tile_origins(length: int, stride: int, tile: int = INPUT_SIZE) -> np.ndarray:
    """Tile start offsets along one axis: every ``stride`` px, plus one flush with the end."""
    if stride < 1:
        raise ValueError("stride must be at least 1 pixel")
    if length <= tile:
        return np.zeros(1, np.int32)
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return np.asarray(starts, np.int32)
