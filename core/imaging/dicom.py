"""DICOM decoding with pydicom, kept apart so pydicom loads only for DICOM files.

Only pixel data and a few technical tags are kept: no patient, study or institution tag
ever leaves this module (:data:`SAFE_TAGS` is an allow-list, not a block-list).

Before any pixel is decoded the file is checked for what the app cannot use — no pixel
data, several frames, too many pixels, a compression whose decoder is not installed —
so each gets its own message. A deflated file is inflated only up to a bound, so a small
upload cannot expand into gigabytes.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

from core.errors import ImageError
from core.imaging.image import MAX_PIXELS, SUPPORTED_WORDS, DecodedImage, check_pixel_count, is_dicom

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
_MAX_TAG_CHARS = 64
_DEFLATED = "1.2.840.10008.1.2.1.99"
# Tags that only a real DICOM data set has; a file without the preamble must show one.
_DICOM_MARKERS = ("SOPClassUID", "Rows", "Columns", "PixelData", "Modality", "StudyInstanceUID")
EXPORT_HINT = "Export it from the PACS or scanner as uncompressed DICOM (Explicit VR Little Endian) and upload again."


def decode_dicom(data: bytes, what: str = "The file") -> DecodedImage:
    """Decode one single-frame DICOM image held in memory into a DecodedImage.

    Raises:
        ImageError: anything that keeps the file from being one analysable picture.
    """
    try:
        return _decode(data, what)
    except (ImageError, MemoryError):
        raise
    except Exception:  # pydicom raises many types for malformed data sets
        raise ImageError(f"{what} is a damaged DICOM file and cannot be decoded. {EXPORT_HINT}") from None


def _decode(data: bytes, what: str) -> DecodedImage:
    from pydicom import config, dcmread

    # Validation warnings quote tag values (a patient's name, say); never emit them.
    config.settings.reading_validation_mode = config.IGNORE
    _check_deflate_bound(data, what)
    try:
        ds = dcmread(io.BytesIO(data), force=True)
    except Exception:
        raise ImageError(f"{what} is not a readable DICOM file. {EXPORT_HINT}") from None
    if not is_dicom(data) and not any(tag in ds for tag in _DICOM_MARKERS):
        raise ImageError(f"{what} is not a DICOM file or any image this app can read. {SUPPORTED_WORDS}")
    if "PixelData" not in ds:
        raise ImageError(
            f"{what} is a DICOM file without pixel data (a report or other non-image object). "
            "Upload the DICOM image itself."
        )
    rows, cols = _int(ds, "Rows"), _int(ds, "Columns")
    check_pixel_count(cols, rows, what)
    frames = _int(ds, "NumberOfFrames", 1)
    if frames > 1:
        raise ImageError(
            f"{what} holds {frames} frames (a multi-frame DICOM, such as a tomosynthesis stack). "
            "Export the one frame to analyse as a single-frame DICOM image and upload that."
        )
    samples = _int(ds, "SamplesPerPixel", 1)
    if samples not in (1, 3):
        raise ImageError(f"{what} has {samples} samples per pixel; only grey or RGB DICOM images can be read.")
    _set_missing_syntax(ds)
    _check_decoder(ds, what)
    try:
        arr = np.asarray(ds.pixel_array)
    except (ImageError, MemoryError):
        raise
    except Exception:
        syntax = _syntax(ds)
        if syntax is not None and syntax.is_compressed:
            raise ImageError(
                f"{what} holds compressed ({syntax.name}) pixel data that is damaged and cannot be "
                f"decoded. {EXPORT_HINT}"
            ) from None
        raise ImageError(f"{what} has damaged or incomplete pixel data and cannot be decoded. {EXPORT_HINT}") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    bits = _int(ds, "BitsStored", 8) or 8
    if photometric == "PALETTE COLOR" and arr.ndim == 2:
        from pydicom.pixels import apply_color_lut

        arr = np.asarray(apply_color_lut(arr, ds))
        bits = 16 if arr.dtype.itemsize > 1 else 8
    if arr.ndim == 3 and arr.shape[-1] == 3:
        top = float(2 ** min(bits, 16) - 1) if arr.dtype.kind in "ui" else 1.0
        pixels = np.clip(arr.astype(np.float32) / np.float32(top), 0.0, 1.0)
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
        raise ImageError(f"{what} holds undefined pixel values (NaN or infinity). {EXPORT_HINT}")
    return DecodedImage(
        pixels=pixels.astype(np.float32), format="DICOM", bit_depth=bits, mode=mode, metadata=safe_metadata(ds)
    )


def safe_metadata(ds) -> dict[str, str]:
    """The allow-listed technical tags as short strings; nothing that identifies anyone."""
    meta = {}
    for tag in SAFE_TAGS:
        try:
            if tag in ds and ds.get(tag) is not None:
                meta[tag] = str(ds.get(tag))[:_MAX_TAG_CHARS]
        except Exception:  # a malformed value is simply left out
            continue
    return meta


def _int(ds, tag: str, default: int = 0) -> int:
    value = ds.get(tag, default)
    if value is None or value == "":
        return default
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        value = value[0]
    return int(value)


def _syntax(ds):
    meta = getattr(ds, "file_meta", None)
    return getattr(meta, "TransferSyntaxUID", None) if meta is not None else None


def _set_missing_syntax(ds) -> None:
    """A bare data set (no file meta) is uncompressed; record the encoding pydicom found."""
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    if _syntax(ds) is not None:
        return
    implicit, little = ds.original_encoding
    if getattr(ds, "file_meta", None) is None:
        ds.file_meta = FileMetaDataset()
    if implicit:
        ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian if little is False else ExplicitVRLittleEndian


def _check_decoder(ds, what: str) -> None:
    """Name a compressed transfer syntax whose decoder is not installed, before decoding."""
    syntax = _syntax(ds)
    if syntax is None or not syntax.is_compressed:
        return
    from pydicom.pixels import get_decoder

    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise ImageError(
            f"{what} uses the transfer syntax {syntax.name or syntax}, which no installed DICOM "
            f"decoder reads. {EXPORT_HINT}"
        ) from None
    if not decoder.is_available:
        raise ImageError(
            f"{what} is compressed ({syntax.name}) and no decoder for that compression is installed here. {EXPORT_HINT}"
        )


def _check_deflate_bound(data: bytes, what: str) -> None:
    """Refuse a deflated DICOM that would inflate past what any allowed image needs."""

    if not is_dicom(data) or _DEFLATED.encode() not in data[132:4096]:
        return
    try:
        (group_length,) = struct.unpack("<I", data[140:144])
    except struct.error:
        return
    start = 144 + group_length
    limit = 3 * MAX_PIXELS + (1 << 20)  # 8-bit RGB or 16-bit grey at the pixel limit, plus tags
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        inflater.decompress(data[start:], limit)
    except zlib.error:
        return  # pydicom will report the damage
    if inflater.unconsumed_tail:
        raise ImageError(
            f"{what} is a deflated DICOM file that expands to more than {limit // (1 << 20):,} MB, "
            f"far more than any image this app accepts. {EXPORT_HINT}"
        )


def _rescale_gray(arr: np.ndarray, ds) -> np.ndarray:
    """Apply the modality rescale, then map the stored range to [0, 1]."""
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    arr = arr * slope + intercept
    lo, hi = float(arr.min()), float(arr.max())
    if hi - lo < 1e-12:
        return np.zeros_like(arr)
    return (arr - lo) / (hi - lo)
