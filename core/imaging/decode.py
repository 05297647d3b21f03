"""One decoder for every supported file: bytes in, a :class:`~core.imaging.image.DecodedImage` out.

``decode_image`` turns the bytes of a PNG, JPEG, TIFF or DICOM file (1 to 16 bit integer
or 32-bit float; grey, RGB, RGBA, grey+alpha, palette, CMYK) into a :class:`DecodedImage`:
float32 pixels in [0, 1], RGB or one grey channel. :mod:`core.imaging.preprocess` then makes the
model input from it.

The decoder is the app's front door for files from anywhere, so it is defensive:

* the format is told from the file's first bytes, never from its name, and only the
  four supported formats are parsed at all (other formats are named in the message);
* the pixel count is read from the header and refused above ``MAX_PIXELS`` before any
  pixel is decoded (decompression bombs), and a deflated DICOM is inflated only up to a
  bound;
* every failure becomes an :class:`~core.errors.ImageError` whose message says what is
  wrong and what to do.

Everything happens in memory: nothing is written to disk or logged.
"""

from __future__ import annotations

import io
import os
import unicodedata

import numpy as np
from PIL import Image

from core.errors import ImageError
from core.imaging.dicom import decode_dicom
from core.imaging.image import (
    MAX_PIXELS,
    MIN_SIDE,
    SUPPORTED_WORDS,
    DecodedImage,
    check_pixel_count,
    is_dicom,
)

# Only these Pillow plug-ins ever see uploaded bytes (the JPEG one also opens MPO files).
_PILLOW_FORMATS = ("PNG", "JPEG", "TIFF")
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)
# Formats we recognise but do not read, so that the message can name them.
_OTHER_FORMATS = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x01\x00", "an icon file"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "a JPEG 2000 image"),
    (b"\xffO\xffQ", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "a JPEG XL image"),
)


def _looks_like_bare_dicom(data: bytes) -> bool:
    """A DICOM data set without the 128-byte preamble starts with a group 2 or 8 tag."""
    return len(data) >= 8 and data[:2] in (b"\x02\x00", b"\x08\x00") and data[2:4] != b"\x00\x00"


def sniff_format(data: bytes) -> str | None:
    """The supported format that the first bytes announce (PNG, JPEG, TIFF, DICOM), or None."""
    if is_dicom(data):
        return "DICOM"
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def _describe_other(data: bytes) -> str | None:
    """Name an unsupported kind of file from its first bytes, for the message."""
    for magic, name in _OTHER_FORMATS:
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1"):
            return "a HEIC image"
        if brand in (b"avif", b"avis"):
            return "an AVIF image"
        return "a video or MP4 file"
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype html", b"<html")):
        return "an SVG, XML or HTML text file"
    try:
        text = data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        return "a text file"
    return None


def _describe(filename: str | None) -> str:
    """How messages name the file: its base name, quoted, without control characters."""
    if not filename:
        return "The file"
    name = os.path.basename(str(filename).replace("\\", "/"))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    if len(name) > 60:
        name = name[:40] + "…" + name[-15:]
    return f"'{name}'" if name else "The file"


def decode_image(data: bytes, filename: str | None = None, min_side: int = MIN_SIDE) -> DecodedImage:
    """Decode an image file held in memory.

    Args:
        data: the file's bytes.
        filename: used only to word error messages; the format comes from the content.
        min_side: smallest accepted side; data-set readers pass 1 for slide-edge patches.

    Raises:
        ImageError: the bytes are not a supported, intact, single-frame image.
    """
    what = _describe(filename)
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise ImageError(f"{what} could not be read as a file. Choose the image file again.")
    if not data:
        raise ImageError(f"{what} is empty (0 bytes). Choose the image file again.")
    kind = sniff_format(data)
    dicom_name = (filename or "").lower().endswith((".dcm", ".dicom"))
    try:
        if kind == "DICOM" or (kind is None and (dicom_name or _looks_like_bare_dicom(data))):
            image = decode_dicom(data, what)
        else:
            image = _decode_raster(data, what, kind)
    except MemoryError:
        raise ImageError(
            f"{what} needs more memory to decode than this server has free. "
            "Crop the region of interest and upload that."
        ) from None
    _check_size(image, what, min_side)
    return image


def _check_size(image: DecodedImage, what: str, min_side: int) -> None:
    if min(image.height, image.width) < min_side:
        raise ImageError(
            f"{what} is {image.width}×{image.height} pixels; images must be at least "
            f"{min_side}×{min_side} pixels to mean anything to the model. Upload a larger image."
        )


def _not_an_image(data: bytes, what: str) -> ImageError:
    other = _describe_other(data)
    if other:
        return ImageError(f"{what} is {other}, which this app does not read. {SUPPORTED_WORDS}")
    return ImageError(f"{what} is not an image this app can read. {SUPPORTED_WORDS}")


def _damaged(what: str, kind: str | None) -> ImageError:
    label = f"{kind} file" if kind else "file"
    return ImageError(
        f"{what} is a damaged or truncated {label} and cannot be decoded. Export or download the image again."
    )


def _decode_raster(data: bytes, what: str, kind: str | None) -> DecodedImage:
    try:
        im = Image.open(io.BytesIO(data), formats=_PILLOW_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError(
            f"{what} is too large to analyse (over {MAX_PIXELS:,} pixels). "
            "Crop the region of interest (or downsample the image) and upload that."
        ) from None
    except MemoryError:
        raise
    except Exception:  # UnidentifiedImageError, OSError, SyntaxError, struct.error, ...
        if kind == "TIFF":  # float colour and 64-bit TIFFs are beyond Pillow
            return _decode_tiff(data, what)
        if kind is None:
            raise _not_an_image(data, what) from None
        raise _damaged(what, kind) from None
    try:
        fmt = (im.format or "").upper()
        if fmt == "MPO":  # multi-picture JPEG from some cameras: its first frame is a JPEG
            fmt = "JPEG"
        width, height = im.size
        check_pixel_count(width, height, what)
        frames = 1 if fmt == "JPEG" else int(getattr(im, "n_frames", 1))
        if frames > 1:
            raise ImageError(
                f"{what} holds {frames} frames (an animation or a stack of pages). "
                "Save the one frame to analyse as a single still image and upload that."
            )
        if fmt == "TIFF" and _tiff_needs_tifffile(im):
            try:
                return _decode_tiff(data, what)
            except ImageError:
                raise
            except Exception:  # e.g. a compression tifffile cannot decode: Pillow can try
                pass
        pixels, bit_depth, mode = _pixels_from_pillow(im, data, fmt, what)
    except (ImageError, MemoryError):
        raise
    except Exception:  # Pillow raises many types for damaged data
        raise _damaged(what, kind or fmt) from None
    return DecodedImage(pixels=pixels, format=fmt, bit_depth=bit_depth, mode=mode)


def _tiff_needs_tifffile(im: Image.Image) -> bool:
    """Pillow reduces 16-bit colour TIFFs to 8 bits and misreads unsigned 32-bit and
    16-bit min-is-white ones; tifffile reads those exactly."""
    tags = getattr(im, "tag_v2", {})
    bits = tags.get(258, (8,))
    bits = max(bits) if isinstance(bits, tuple) and bits else int(bits or 8)
    return bits > 8 and tags.get(262, 1) in (0, 1, 2)


def _decode_tiff(data: bytes, what: str) -> DecodedImage:
    """Decode a grey or RGB(A) TIFF with tifffile: any integer depth, or float."""
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            if len(tif.pages) > 1:
                raise ImageError(
                    f"{what} holds {len(tif.pages)} pages (a stack). "
                    "Save the one page to analyse as a single image and upload that."
                )
            page = tif.pages.first
            check_pixel_count(int(page.imagewidth), int(page.imagelength), what)
            photometric = int(page.photometric)
            samples = int(page.samplesperpixel)
            if photometric not in (0, 1, 2) or samples > 4:
                raise _damaged(what, "TIFF")
            arr = page.asarray()
            if page.axes.startswith("S") and arr.ndim == 3:  # planar: samples first
                arr = np.moveaxis(arr, 0, -1)
            bits = int(page.bitspersample)
    except (ImageError, MemoryError):
        raise
    except Exception:
        raise _damaged(what, "TIFF") from None
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise _damaged(what, "TIFF")
    pixels = _to_unit(arr, bits, what)
    if photometric == 0:  # min-is-white
        pixels = 1.0 - pixels
    channels = pixels.shape[2]
    if channels == 4:  # RGBA: flatten onto white
        pixels, mode = _composite(pixels, already_scaled=True), "rgba"
    elif channels == 2:  # grey + alpha
        rgba = np.concatenate([np.repeat(pixels[..., :1], 3, axis=2), pixels[..., 1:]], axis=2)
        pixels, mode = _composite(rgba, gray=True, already_scaled=True), "gray+alpha"
    else:
        mode = "rgb" if channels == 3 else "gray"
    return DecodedImage(
        pixels=pixels.astype(np.float32, copy=False),
        format="TIFF",
        bit_depth=int(arr.dtype.itemsize * 8) if arr.dtype.kind == "f" else bits,
        mode=mode,
    )


def _to_unit(arr: np.ndarray, bits: int, what: str) -> np.ndarray:
    """Integer or float samples → float32 in [0, 1].

    Unsigned integers are divided by the largest value of their bit depth; signed ones
    are shifted by half their range first; floats already in [0, 1] are kept, others are
    min–max scaled. NaN or infinity is refused.
    """
    kind = arr.dtype.kind
    if kind == "f":
        return _float_unit(arr.astype(np.float32), what)
    if kind == "b":
        return arr.astype(np.float32)
    if kind == "u":
        bits = bits if 0 < bits <= arr.dtype.itemsize * 8 else arr.dtype.itemsize * 8
        out = arr.astype(np.float32)
        out *= np.float32(1.0 / (2.0**bits - 1.0))
        return np.clip(out, 0.0, 1.0, out=out)
    if kind == "i":
        info = np.iinfo(arr.dtype)
        out = arr.astype(np.float64) - float(info.min)
        return (out / float(info.max - info.min)).astype(np.float32)
    raise ImageError(
        f"{what} stores its pixels as {arr.dtype}, which this app cannot read. Export it as an 8- or 16-bit image."
    )


def _png_bit_depth(data: bytes) -> int:
    """Bit depth from the PNG header (IHDR), which Pillow does not expose for RGB."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 26:
        return data[24]
    return 8


def _pixels_from_pillow(im: Image.Image, data: bytes, fmt: str, what: str) -> tuple[np.ndarray, int, str]:
    mode = im.mode
    if fmt == "PNG" and mode in ("RGB", "RGBA") and _png_bit_depth(data) == 16:
        return _decode_16bit_colour_png(data, what)
    im.load()
    if mode == "1":
        return np.asarray(im, dtype=np.float32)[..., None], 1, "gray"
    if mode == "L":
        return _scale(np.asarray(im), 255)[..., None], 8, "gray"
    if mode.startswith("I;16"):
        arr = np.asarray(im)
        return _to_unit(arr, 16, what)[..., None], 16, "gray"
    if mode == "I":
        arr = np.asarray(im)
        lo, hi = int(arr.min()), int(arr.max())
        if lo >= 0 and hi <= 65535:  # 16-bit data held in a 32-bit mode
            return _to_unit(arr.astype(np.uint16), 16, what)[..., None], 16, "gray"
        return _float_unit(arr.astype(np.float32), what)[..., None], 32, "gray"
    if mode == "F":
        return _float_unit(np.asarray(im, dtype=np.float32), what)[..., None], 32, "gray"
    if mode == "LA":
        return _composite(np.asarray(im.convert("RGBA")), gray=True), 8, "gray+alpha"
    if mode in ("P", "PA"):
        has_alpha = "transparency" in im.info or mode == "PA"
        rgb = np.asarray(im.convert("RGBA" if has_alpha else "RGB"))
        return (_composite(rgb) if has_alpha else _scale(rgb, 255)), 8, "palette"
    if mode == "RGBA":
        return _composite(np.asarray(im)), 8, "rgba"
    if mode == "RGB":
        return _scale(np.asarray(im), 255), 8, "rgb"
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
        return _scale(np.asarray(im.convert("RGB")), 255), 8, mode.lower()
    raise ImageError(
        f"{what} uses the {mode} colour mode, which this app cannot read. "
        "Save it as an RGB or grey-scale image and upload that."
    )


def _decode_16bit_colour_png(data: bytes, what: str) -> tuple[np.ndarray, int, str]:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3 or arr.dtype != np.uint16:
        raise _damaged(what, "PNG")
    if arr.shape[2] == 4:
        rgba = arr[..., [2, 1, 0, 3]].astype(np.float32) / 65535.0
        return _composite(rgba, already_scaled=True), 16, "rgba"
    return arr[..., ::-1].astype(np.float32) / 65535.0, 16, "rgb"


def _scale(arr: np.ndarray, top: float) -> np.ndarray:
    out = arr.astype(np.float32)
    out *= np.float32(1.0 / top)
    return out


def _float_unit(arr: np.ndarray, what: str = "The image") -> np.ndarray:
    """Float samples → [0, 1]: kept when already there, else min–max scaled."""
    if not np.all(np.isfinite(arr)):
        raise ImageError(
            f"{what} holds undefined pixel values (NaN or infinity), so it cannot be analysed. "
            "Export it again as an 8- or 16-bit image."
        )
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0.0 and hi <= 1.0:
        return arr.astype(np.float32, copy=False)
    if hi - lo < 1e-12:
        return np.zeros(arr.shape, np.float32)
    return ((arr.astype(np.float64) - lo) / (hi - lo)).astype(np.float32)


def _composite(rgba: np.ndarray, gray: bool = False, already_scaled: bool = False) -> np.ndarray:
    """Flatten transparency onto white (the background of a stained slide)."""
    arr = rgba.astype(np.float32) if already_scaled else _scale(rgba, 255)
    alpha = arr[..., 3:4]
    rgb = arr[..., :3] * alpha + (1.0 - alpha)
    if gray:
        return rgb[..., :1]
    return rgb


def read_image(path: str, min_side: int = MIN_SIDE) -> DecodedImage:
    """Read and decode an image file from disk."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageError(f"Cannot open '{path}': {exc.strerror or exc}.") from None
    return decode_image(data, filename=os.path.basename(str(path)), min_side=min_side)


__all__ = ["decode_image", "read_image", "sniff_format"]
