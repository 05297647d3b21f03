"""One decoder for every supported file, and the step from image to model input.

``decode_image`` turns the bytes of a PNG, JPEG, TIFF or DICOM file (8 or 16 bit; grey,
RGB, RGBA, palette, CMYK) into a :class:`DecodedImage`: float32 pixels in [0, 1], RGB or
one grey channel. ``to_model_input`` then applies the modality's channel convention (see
:mod:`core.modality`) and resizes to 50×50 with linear interpolation, as in the paper.

Everything happens in memory: nothing is written to disk.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import ImageError
from .modality import INPUT_SIZE, Modality, get_modality

# Refuse images larger than this before decoding their pixels (decompression bombs).
MAX_PIXELS = 40_000_000
# The smallest side we analyse. Edge patches of the IDC data set can be smaller; the
# data-set reader pads those itself and does not go through this check.
MIN_SIDE = 16
SUPPORTED_FORMATS = ("PNG", "JPEG", "TIFF", "DICOM")

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


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


def decode_image(data: bytes, filename: str | None = None, min_side: int = MIN_SIDE) -> DecodedImage:
    """Decode an image file held in memory.

    Args:
        data: the file's bytes.
        filename: used only to word error messages.
        min_side: smallest accepted side; data-set readers pass 1 for slide-edge patches.

    Raises:
        ImageError: the bytes are not a supported, intact, single-frame image.
    """
    what = f"'{filename}'" if filename else "The file"
    if not data:
        raise ImageError(f"{what} is empty (0 bytes). Choose the image file again.")
    if is_dicom(data) or (filename or "").lower().endswith((".dcm", ".dicom")):
        from .dicom import decode_dicom  # pydicom is imported only when needed

        image = decode_dicom(data, what)
    else:
        image = _decode_raster(data, what)
    _check_size(image, what, min_side)
    return image


def _check_size(image: DecodedImage, what: str, min_side: int) -> None:
    if min(image.height, image.width) < min_side:
        raise ImageError(
            f"{what} is {image.width}×{image.height} pixels; images must be at least "
            f"{min_side}×{min_side} to mean anything to the model."
        )


def _decode_raster(data: bytes, what: str) -> DecodedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(
            f"{what} is too large to analyse (over {MAX_PIXELS:,} pixels). "
            "Crop the region of interest and upload that."
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError(
            f"{what} is not an image this app can read. Upload a PNG, JPEG, TIFF or DICOM file."
        ) from None
    fmt = (im.format or "").upper()
    if fmt == "MPO":  # multi-picture JPEG from some cameras: its first frame is a JPEG
        fmt = "JPEG"
    if fmt not in SUPPORTED_FORMATS:
        raise ImageError(
            f"{what} is a {fmt or 'unknown'} image; upload a PNG, JPEG, TIFF or DICOM file."
        )
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{what} is {width}×{height} pixels, over the limit of {MAX_PIXELS:,}. "
            "Crop the region of interest and upload that."
        )
    if getattr(im, "n_frames", 1) > 1 and fmt != "JPEG":
        raise ImageError(
            f"{what} holds {im.n_frames} frames (an animation or a stack). "
            "Upload a single still image."
        )
    try:
        pixels, bit_depth, mode = _pixels_from_pillow(im, data, fmt)
    except ImageError:
        raise
    except Exception:  # Pillow raises many types for damaged data
        raise ImageError(
            f"{what} is damaged or truncated and cannot be decoded. Export the image again."
        ) from None
    return DecodedImage(pixels=pixels, format=fmt, bit_depth=bit_depth, mode=mode)


def _png_bit_depth(data: bytes) -> int:
    """Bit depth from the PNG header (IHDR), which Pillow does not expose for RGB."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 26:
        return data[24]
    return 8


def _pixels_from_pillow(im: Image.Image, data: bytes, fmt: str) -> tuple[np.ndarray, int, str]:
    mode = im.mode
    if fmt == "PNG" and mode in ("RGB", "RGBA") and _png_bit_depth(data) == 16:
        return _decode_16bit_colour_png(data)
    im.load()
    if mode == "1":
        return np.asarray(im, dtype=np.float32)[..., None], 1, "gray"
    if mode == "L":
        return _scale(np.asarray(im), 255)[..., None], 8, "gray"
    if mode.startswith("I;16") or mode == "I":
        arr = np.asarray(im).astype(np.float32)
        return (np.clip(arr, 0, 65535) / 65535.0)[..., None], 16, "gray"
    if mode == "F":
        return _float_gray(np.asarray(im, dtype=np.float32)), 32, "gray"
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
    raise ImageError(f"Images in the {mode} colour mode are not supported; save it as RGB.")


def _decode_16bit_colour_png(data: bytes) -> tuple[np.ndarray, int, str]:
    import cv2

    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.ndim != 3:
        raise ImageError("The 16-bit PNG is damaged and cannot be decoded.")
    if arr.shape[2] == 4:
        rgba = arr[..., [2, 1, 0, 3]].astype(np.float32) / 65535.0
        return _composite(rgba, already_scaled=True), 16, "rgba"
    return arr[..., ::-1].astype(np.float32) / 65535.0, 16, "rgb"


def _scale(arr: np.ndarray, top: float) -> np.ndarray:
    return arr.astype(np.float32) / np.float32(top)


def _float_gray(arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ImageError(
            "The image holds undefined values (NaN or infinity). Export it again as an "
            "8- or 16-bit image."
        )
    lo, hi = float(arr.min()), float(arr.max())
    if lo >= 0.0 and hi <= 1.0:
        return arr[..., None]
    if hi - lo < 1e-12:
        return np.zeros(arr.shape + (1,), np.float32)
    return ((arr - lo) / (hi - lo))[..., None].astype(np.float32)


def _composite(rgba: np.ndarray, gray: bool = False, already_scaled: bool = False) -> np.ndarray:
    """Flatten transparency onto white (the background of a stained slide)."""
    arr = rgba.astype(np.float32) if already_scaled else rgba.astype(np.float32) / 255.0
    alpha = arr[..., 3:4]
    rgb = arr[..., :3] * alpha + (1.0 - alpha)
    if gray:
        return rgb[..., :1]
    return rgb


# ---------------------------------------------------------------------------------------
# image → model input


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


def read_image(path: str, min_side: int = MIN_SIDE) -> DecodedImage:
    """Read and decode an image file from disk."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ImageError(f"Cannot open '{path}': {exc.strerror or exc}.") from None
    return decode_image(data, filename=os.path.basename(str(path)), min_side=min_side)


def load_model_input(path: str, modality: Modality | str) -> np.ndarray:
    """Read a file from disk straight to a (50, 50, C) model input."""
    return to_model_input(read_image(path).pixels, modality)


__all__ = [
    "DecodedImage",
    "MAX_PIXELS",
    "MIN_SIDE",
    "decode_image",
    "load_model_input",
    "read_image",
    "pad_to_square",
    "resize_linear",
    "stretch_contrast",
    "to_gray",
    "to_model_input",
    "to_rgb",
]
