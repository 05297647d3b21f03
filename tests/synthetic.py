"""Image files made in memory for the decoder, privacy and fuzz tests (no data set needed)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

# Identifying tags written into every synthetic DICOM; none may ever come out again.
PATIENT_TAGS = {
    "PatientName": "Doe^Jane^Q",
    "PatientID": "PID-8675309",
    "PatientBirthDate": "19610423",
    "PatientSex": "F",
    "PatientAddress": "12 Elm Street, Springfield",
    "InstitutionName": "Springfield General Hospital",
    "InstitutionAddress": "1 Hospital Road, Springfield",
    "ReferringPhysicianName": "House^Gregory",
    "OperatorsName": "Tech^Alice",
    "AccessionNumber": "ACC-55501",
    "StudyID": "STUDY-4242",
    "StudyDate": "20240102",
    "StationName": "MAMMO-ROOM-3",
}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def gray8(h: int = 40, w: int = 60, seed: int = 0) -> np.ndarray:
    a = rng(seed).integers(0, 256, (h, w), dtype=np.uint8)
    a[0, 0], a[0, 1] = 0, 255
    return a


def gray16(h: int = 40, w: int = 60, seed: int = 0, top: int = 65535) -> np.ndarray:
    a = rng(seed).integers(0, top + 1, (h, w), dtype=np.uint16)
    a[0, 0], a[0, 1] = 0, top
    return a


def rgb8(h: int = 40, w: int = 60, seed: int = 0) -> np.ndarray:
    a = rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    a[0, 0], a[0, 1] = 0, 255
    return a


def pil_bytes(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def png(arr: np.ndarray, **kw) -> bytes:
    return pil_bytes(Image.fromarray(arr), "PNG", **kw)


def jpeg(arr: np.ndarray, quality: int = 95) -> bytes:
    return pil_bytes(Image.fromarray(arr), "JPEG", quality=quality)


def tiff(arr: np.ndarray, **kw) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, **kw)
    return buf.getvalue()


def png16_colour(arr: np.ndarray) -> bytes:
    """A 16-bit RGB or RGBA PNG (Pillow cannot write those; OpenCV can)."""
    import cv2

    order = [2, 1, 0, 3] if arr.shape[2] == 4 else [2, 1, 0]
    ok, enc = cv2.imencode(".png", np.ascontiguousarray(arr[..., order]))
    assert ok
    return enc.tobytes()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A valid-looking grey PNG that claims width×height pixels but holds a few rows."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")


def animated(fmt: str, frames: int = 3, size: int = 40) -> bytes:
    images = [Image.fromarray(rgb8(size, size, seed=i)) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, fmt, save_all=True, append_images=images[1:], duration=100, loop=0)
    return buf.getvalue()


def dicom(
    arr: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    syntax: str | None = None,
    pixel_bytes: bytes | None = None,
    frames: int = 1,
    patient: bool = True,
    preamble: bool = True,
    **extra,
) -> bytes:
    """A DICOM file in memory with identifying patient tags.

    ``arr`` (H, W), (H, W, 3) or (frames, H, W) unsigned integers; ``pixel_bytes`` overrides
    the stored pixel data (encapsulated frames for a compressed ``syntax``); ``arr=None``
    writes no pixel data at all.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import UID, ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    shape = arr.shape if arr is not None else (8, 8)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = UID(syntax) if syntax else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MG"
    ds.ViewPosition = "CC"
    if patient:
        for tag, value in PATIENT_TAGS.items():
            setattr(ds, tag, value)
    if arr is not None:
        if frames > 1:
            rows, cols, samples = shape[1], shape[2], 1
        elif len(shape) == 3:
            rows, cols, samples = shape[0], shape[1], shape[2]
        else:
            rows, cols, samples = shape[0], shape[1], 1
        ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, samples
        if samples > 1:
            ds.PlanarConfiguration = 0
        ds.PhotometricInterpretation = photometric
        bits = arr.dtype.itemsize * 8
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, 0
        if frames > 1:
            ds.NumberOfFrames = frames
        for key, value in extra.items():
            setattr(ds, key, value)
        ds.PixelData = pixel_bytes if pixel_bytes is not None else arr.tobytes()
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    data = buf.getvalue()
    if not preamble:  # a bare data set: no preamble, no "DICM", no file meta group
        buf = io.BytesIO()
        del ds.file_meta
        ds.save_as(buf, implicit_vr=False, little_endian=True)
        data = buf.getvalue()
    return data


def valid_samples() -> dict[str, bytes]:
    """One small valid file per format, used as seeds for mutation."""
    return {
        "png": png(rgb8(24, 24)),
        "png16": png(gray16(24, 24)),
        "jpeg": jpeg(rgb8(24, 24)),
        "tiff": tiff(rgb8(24, 24), photometric="rgb"),
        "tiff16": tiff(gray16(24, 24)),
        "dicom": dicom(gray16(24, 24, top=4095), BitsStored=12, HighBit=11),
    }
