"""The decoded-image type and the limits every decoder checks.

Kept apart from the decoders so that the PNG/JPEG/TIFF decoder and the DICOM decoder can
both use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.errors import ImageError

# Refuse images larger than this before decoding their pixels (decompression bombs). It
# covers every full-field digital mammogram (the largest detectors give about 28 Mpx).
MAX_PIXELS = 40_000_000
# The smallest side we analyse. Edge patches of the IDC data set can be smaller; the
# data-set reader pads those itself and passes a smaller ``min_side``.
MIN_SIDE = 16
SUPPORTED_FORMATS = ("PNG", "JPEG", "TIFF", "DICOM")
# File name endings to offer in an upload dialog. The decoder itself ignores the name.
RASTER_EXTENSIONS = ("png", "jpg", "jpeg", "tif", "tiff")  # H&E regions: no DICOM
UPLOAD_EXTENSIONS = (*RASTER_EXTENSIONS, "dcm", "dicom")
SUPPORTED_WORDS = "Upload a PNG, JPEG, TIFF or DICOM file."


@dataclass(frozen=True)
class DecodedImage:
    """Pixels as float32 (H, W, C) in [0, 1] with C = 1 (grey) or 3 (RGB)."""

    pixels: np.ndarray
    format: str
    bit_depth: int
    mode: str  # the file's colour layout: gray, rgb, rgba, palette, cmyk, ...
    metadata: dict = field(default_factory=dict)  # de-identified technical facts only

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[2])


def is_dicom(data: bytes) -> bool:
    return len(data) >= 132 and data[128:132] == b"DICM"


def check_pixel_count(width: int, height: int, what: str) -> None:
    """Refuse a header that announces too many (or no) pixels, before decoding."""
    if width <= 0 or height <= 0:
        raise ImageError(f"{what} declares an empty picture ({width}×{height}). Export the image again.")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{what} is {width}×{height} pixels, over the limit of {MAX_PIXELS:,} pixels. "
            "Crop the region of interest (or downsample the image) and upload that."
        )
