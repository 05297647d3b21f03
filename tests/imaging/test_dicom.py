"""DICOM files written with pydicom in memory: valid monochrome and colour images decode
(MONOCHROME1 inverted), everything the app cannot use gets its own message, and no
patient tag ever reaches the decoded image."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from synthetic import PATIENT_TAGS, dicom, gray8, gray16, png, rgb8

import core.imaging.decode
from core.errors import ImageError
from core.imaging.decode import decode_image
from core.imaging.dicom import SAFE_TAGS


def check_no_patient_data(image) -> None:
    text = repr(image.metadata)
    for tag, value in PATIENT_TAGS.items():
        assert tag not in image.metadata
        assert value not in text
    assert set(image.metadata) <= set(SAFE_TAGS)


@pytest.mark.parametrize("make", [gray8, gray16])
def test_monochrome2_keeps_order(make):
    a = make()
    image = decode_image(dicom(a), "film.dcm")
    assert (image.format, image.mode, image.channels) == ("DICOM", "gray", 1)
    assert image.bit_depth == a.dtype.itemsize * 8
    expected = (a - a.min()) / float(a.max() - a.min())
    np.testing.assert_allclose(image.pixels[..., 0], expected, atol=1e-5)
    check_no_patient_data(image)


@pytest.mark.parametrize("make", [gray8, gray16])
def test_monochrome1_is_inverted(make):
    a = make()
    image = decode_image(dicom(a, photometric="MONOCHROME1"))
    expected = 1.0 - (a - a.min()) / float(a.max() - a.min())
    np.testing.assert_allclose(image.pixels[..., 0], expected, atol=1e-5)
    assert image.pixels[0, 0, 0] == pytest.approx(1.0)  # stored 0 is white in MONOCHROME1


def test_twelve_bit_stored_in_sixteen():
    a = gray16(top=4095)
    image = decode_image(dicom(a, BitsStored=12, HighBit=11))
    assert image.bit_depth == 12
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0


def test_rescale_slope_and_intercept_keep_order():
    a = gray16(top=4095)
    image = decode_image(dicom(a, RescaleSlope="-1", RescaleIntercept="4095"))
    np.testing.assert_allclose(image.pixels[..., 0], 1.0 - a / 4095.0, atol=1e-5)


def test_rgb_dicom():
    a = rgb8()
    image = decode_image(dicom(a, photometric="RGB"))
    assert (image.mode, image.channels) == ("rgb", 3)
    np.testing.assert_allclose(image.pixels, a / 255.0, atol=1e-6)


def test_safe_metadata_only():
    image = decode_image(dicom(gray8()))
    assert image.metadata["Modality"] == "MG"
    assert image.metadata["PhotometricInterpretation"] == "MONOCHROME2"
    check_no_patient_data(image)


def test_dicom_is_found_by_content_whatever_the_name():
    assert decode_image(dicom(gray8()), "image.png").format == "DICOM"
    assert decode_image(dicom(gray8()), None).format == "DICOM"


def test_dicom_without_preamble_named_dcm():
    image = decode_image(dicom(gray8(), preamble=False), "bare.dcm")
    assert image.format == "DICOM" and image.pixels.shape == (40, 60, 1)


def test_png_named_dcm_still_decodes():
    assert decode_image(png(rgb8()), "scan.dcm").format == "PNG"


def test_garbage_named_dcm_is_not_dicom():
    with pytest.raises(ImageError, match="not a DICOM file") as info:
        decode_image(b"this is not a dicom file at all" * 20, "scan.dcm")
    assert "'scan.dcm'" in str(info.value)


def test_missing_pixel_data():
    with pytest.raises(ImageError, match="without pixel data") as info:
        decode_image(dicom(None), "sr.dcm")
    assert "Upload the DICOM image itself" in str(info.value)


def test_multi_frame_is_refused():
    stack = np.stack([gray8(seed=s) for s in range(3)])
    with pytest.raises(ImageError, match="3 frames") as info:
        decode_image(dicom(stack, frames=3), "tomo.dcm")
    assert "single-frame" in str(info.value)


def test_truncated_pixel_data():
    a = gray8()
    with pytest.raises(ImageError, match="damaged or incomplete pixel data"):
        decode_image(dicom(a, pixel_bytes=a.tobytes()[:100]))


def test_too_many_pixels_before_decoding():
    a = gray8(4, 4)
    with pytest.raises(ImageError, match="over the limit"):
        decode_image(dicom(a, pixel_bytes=a.tobytes(), Rows=20000, Columns=20000))


def test_compressed_without_decoder_is_named():
    """JPEG-LS needs gdcm, pylibjpeg-libjpeg or pyjpegls; none is a dependency."""
    from pydicom.encaps import encapsulate
    from pydicom.pixels import get_decoder
    from pydicom.uid import JPEGLSLossless

    if get_decoder(JPEGLSLossless).is_available:
        pytest.skip("a JPEG-LS decoder is installed here")
    a = gray8()
    frame = b"\xff\xd8\xff\xf7" + a.tobytes() + b"\xff\xd9"
    with pytest.raises(ImageError) as info:
        decode_image(dicom(a, syntax=JPEGLSLossless, pixel_bytes=encapsulate([frame])), "ls.dcm")
    message = str(info.value)
    assert "JPEG-LS" in message and "no decoder" in message and "uncompressed" in message


def test_compressed_with_a_decoder_reads():
    """RLE Lossless is decoded by pydicom itself."""
    from pydicom import dcmread
    from pydicom.uid import RLELossless

    a = gray16(top=4095)
    ds = dcmread(io.BytesIO(dicom(a, BitsStored=12, HighBit=11)))
    ds.compress(RLELossless)
    buf = io.BytesIO()
    ds.save_as(buf)
    image = decode_image(buf.getvalue())
    np.testing.assert_allclose(image.pixels[..., 0], a / 4095.0, atol=1e-5)


def test_jpeg_baseline_dicom_reads_with_pillow():
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    a = gray8()
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=100)
    data = dicom(a, syntax=JPEGBaseline8Bit, pixel_bytes=encapsulate([buf.getvalue()]))
    image = decode_image(data)
    assert image.pixels.shape == (40, 60, 1)
    assert np.abs(image.pixels[..., 0] - a / 255.0).mean() < 0.02


def test_damaged_compressed_frame_is_called_damaged():
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    a = gray8()
    data = dicom(a, syntax=JPEGBaseline8Bit, pixel_bytes=encapsulate([b"\xff\xd8" + a.tobytes()]))
    with pytest.raises(ImageError, match="damaged"):
        decode_image(data)


def test_deflate_bomb_is_refused(monkeypatch):
    from pydicom import dcmread
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    ds = dcmread(io.BytesIO(dicom(gray8())))
    ds.add_new(0x00091010, "OB", b"\x00" * (4 << 20))  # 4 MB of zeros in a private tag
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    buf = io.BytesIO()
    ds.save_as(buf)
    data = buf.getvalue()
    assert len(data) < 200_000
    assert decode_image(data).format == "DICOM"  # under the real bound it reads
    monkeypatch.setattr(core.imaging.dicom, "MAX_PIXELS", 1000)  # bound = 3 kB + 1 MB
    with pytest.raises(ImageError, match="deflated"):
        decode_image(data)
