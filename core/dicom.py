"""DICOM decoding with pydicom, kept apart so pydicom loads only for DICOM files.

Only pixel data and technical tags are kept; no patient tag ever leaves this module.
"""

from __future__ import annotations

import io

import numpy as np

from .errors import ImageError

# Technical tags that are safe to show (no patient or institution identifiers).
SAFE_TAGS = (
    "Modality",
    "PhotometricInterpretation",
    "BitsStored",
    "Rows",
    "Columns",
    "ViewPosition",
    "ImageLaterality",
)


def decode_dicom(data: bytes, what: str = "The file"):
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    from .decode import MAX_PIXELS, DecodedImage

    try:
        ds = dcmread(io.BytesIO(data), force=True)
    except (InvalidDicomError, Exception):
        raise ImageError(f"{what} is not a readable DICOM file.") from None
    if "PixelData" not in ds:
        raise ImageError(f"{what} is a DICOM file without pixel data (no image inside).")
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows * cols > MAX_PIXELS:
        raise ImageError(
            f"{what} is {cols}×{rows} pixels, over the limit of {MAX_PIXELS:,}. "
            "Crop the region of interest and upload that."
        )
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ImageError(
            f"{what} holds {frames} frames; upload a single-frame DICOM image."
        )
    try:
        arr = ds.pixel_array
    except Exception as exc:  # missing decoder plug-ins, bad lengths, ...
        syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", str(syntax)) if syntax is not None else "unknown"
        if "decod" in str(exc).lower() or "plugin" in str(exc).lower() or "handler" in str(exc).lower():
            raise ImageError(
                f"{what} is compressed ({name}) and no decoder for that compression is "
                "installed. Export it uncompressed (Explicit VR Little Endian) and upload again."
            ) from None
        raise ImageError(f"{what} has damaged pixel data and cannot be decoded.") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).upper()
    bits = int(ds.get("BitsStored", 8) or 8)
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and photometric not in ("MONOCHROME1", "MONOCHROME2"):
        pixels = arr[..., :3].astype(np.float32)
        top = float(2**bits - 1)
        pixels = np.clip(pixels / top, 0, 1)
        mode = "rgb"
    elif arr.ndim == 2:
        pixels = _rescale_gray(arr.astype(np.float32), ds)
        if photometric == "MONOCHROME1":  # 0 = white: invert so that dense tissue is bright
            pixels = 1.0 - pixels
        pixels = pixels[..., None]
        mode = "gray"
    else:
        raise ImageError(f"{what} has an image shape {arr.shape} that is not a 2-D picture.")
    if not np.all(np.isfinite(pixels)):
        raise ImageError(f"{what} holds undefined pixel values (NaN or infinity).")
    meta = {tag: str(ds.get(tag)) for tag in SAFE_TAGS if tag in ds}
    return DecodedImage(pixels=pixels.astype(np.float32), format="DICOM", bit_depth=bits, mode=mode, metadata=meta)


def _rescale_gray(arr: np.ndarray, ds) -> np.ndarray:
    """Apply the modality rescale, then map the stored range to [0, 1]."""
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    arr = arr * slope + intercept
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo < 1e-12:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)
