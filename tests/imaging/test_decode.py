"""The decoder: every supported layout decodes to [0, 1] floats; every bad file gets a
specific ImageError whose message says what is wrong and what to do."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image
from synthetic import (
    animated,
    gray8,
    gray16,
    jpeg,
    pil_bytes,
    png,
    png16_colour,
    png_bomb,
    png_chunk,
    rgb8,
    tiff,
)

from core.errors import ImageError
from core.imaging.decode import decode_image, read_image, sniff_format
from core.imaging.image import MAX_PIXELS, MIN_SIDE, UPLOAD_EXTENSIONS, DecodedImage
from core.imaging.preprocess import pad_to_square, to_model_input
from core.modality import HISTO, MAMMO

ADVICE = ("Upload", "Export", "Crop", "Choose", "Save")


def decode_error(data: bytes, filename: str | None = None, **kw) -> str:
    with pytest.raises(ImageError) as info:
        decode_image(data, filename, **kw)
    message = str(info.value)
    assert any(word in message for word in ADVICE), f"message gives no advice: {message}"
    assert "Traceback" not in message and "object at 0x" not in message
    return message


def check_unit(image: DecodedImage, channels: int) -> None:
    assert image.pixels.dtype == np.float32
    assert image.pixels.ndim == 3 and image.channels == channels
    assert np.isfinite(image.pixels).all()
    assert image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0


# --- valid files ---------------------------------------------------------------------


def test_png_gray8_exact():
    a = gray8()
    image = decode_image(png(a), "a.png")
    check_unit(image, 1)
    assert (image.format, image.bit_depth, image.mode) == ("PNG", 8, "gray")
    np.testing.assert_allclose(image.pixels[..., 0], a / 255.0, atol=1e-6)


def test_png_gray16_keeps_all_bits():
    a = gray16()
    image = decode_image(png(a))
    check_unit(image, 1)
    assert image.bit_depth == 16
    np.testing.assert_allclose(image.pixels[..., 0], a / 65535.0, atol=1e-6)


def test_png_rgb16_keeps_all_bits():
    a = np.stack([gray16(seed=s) for s in range(3)], axis=-1)
    image = decode_image(png16_colour(a))
    check_unit(image, 3)
    assert (image.bit_depth, image.mode) == (16, "rgb")
    np.testing.assert_allclose(image.pixels, a / 65535.0, atol=1e-6)


def test_png_rgba16_composited_on_white():
    a = np.stack([gray16(seed=s) for s in range(3)] + [np.zeros((40, 60), np.uint16)], axis=-1)
    image = decode_image(png16_colour(a))
    check_unit(image, 3)
    assert image.bit_depth == 16
    np.testing.assert_allclose(image.pixels, 1.0, atol=1e-6)  # fully transparent → white


def test_png_rgb_exact():
    a = rgb8()
    image = decode_image(png(a))
    check_unit(image, 3)
    assert (image.format, image.mode) == ("PNG", "rgb")
    np.testing.assert_allclose(image.pixels, a / 255.0, atol=1e-6)


def test_png_rgba_half_transparent():
    a = rgb8()
    rgba = np.dstack([a, np.full(a.shape[:2], 128, np.uint8)])
    image = decode_image(png(rgba))
    check_unit(image, 3)
    alpha = 128 / 255.0
    np.testing.assert_allclose(image.pixels, a / 255.0 * alpha + (1 - alpha), atol=1e-5)


def test_png_gray_alpha():
    g = gray8()
    la = np.dstack([g, np.full(g.shape, 255, np.uint8)])
    image = decode_image(png(la))
    check_unit(image, 1)
    assert image.mode == "gray+alpha"
    np.testing.assert_allclose(image.pixels[..., 0], g / 255.0, atol=1e-6)


@pytest.mark.parametrize("transparent", [False, True])
def test_png_palette(transparent):
    im = Image.fromarray(rgb8()).quantize(16)
    kw = {"transparency": 0} if transparent else {}
    image = decode_image(pil_bytes(im, "PNG", **kw))
    check_unit(image, 3)
    assert image.mode == "palette"
    expected = np.asarray(im.convert("RGB")) / 255.0
    index = np.asarray(im)
    if transparent:
        expected[index == 0] = 1.0  # palette entry 0 is transparent → white
    np.testing.assert_allclose(image.pixels, expected, atol=1e-6)


def test_png_one_bit():
    image = decode_image(png(gray8() > 127))
    check_unit(image, 1)
    assert image.bit_depth == 1
    assert set(np.unique(image.pixels)) <= {0.0, 1.0}


def test_jpeg_gray_and_rgb():
    g = decode_image(jpeg(gray8()), "g.jpg")
    check_unit(g, 1)
    assert (g.format, g.mode) == ("JPEG", "gray")
    c = decode_image(jpeg(rgb8()), "c.jpeg")
    check_unit(c, 3)
    assert (c.format, c.mode) == ("JPEG", "rgb")


def test_jpeg_cmyk_becomes_rgb():
    a = np.full((32, 32, 3), (200, 40, 90), np.uint8)
    image = decode_image(pil_bytes(Image.fromarray(a).convert("CMYK"), "JPEG", quality=100))
    check_unit(image, 3)
    assert image.mode == "cmyk"
    np.testing.assert_allclose(image.pixels.mean(axis=(0, 1)), np.array([200, 40, 90]) / 255, atol=0.03)


def test_tiff_8_and_16_bit():
    image8 = decode_image(tiff(gray8()), "a.tif")
    check_unit(image8, 1)
    assert (image8.format, image8.bit_depth) == ("TIFF", 8)
    np.testing.assert_allclose(image8.pixels[..., 0], gray8() / 255.0, atol=1e-6)
    a16 = gray16()
    image16 = decode_image(tiff(a16), "a.tiff")
    assert image16.bit_depth == 16
    np.testing.assert_allclose(image16.pixels[..., 0], a16 / 65535.0, atol=1e-6)


def test_tiff_rgb16_keeps_all_bits():
    a = np.stack([gray16(seed=s) for s in range(3)], axis=-1)
    image = decode_image(tiff(a, photometric="rgb"))
    check_unit(image, 3)
    assert (image.bit_depth, image.mode) == (16, "rgb")
    np.testing.assert_allclose(image.pixels, a / 65535.0, atol=1e-6)


def test_tiff_min_is_white_16_bit_is_inverted():
    a = gray16()
    image = decode_image(tiff(a, photometric="miniswhite"))
    np.testing.assert_allclose(image.pixels[..., 0], 1.0 - a / 65535.0, atol=1e-6)


def test_tiff_rgb_and_cmyk_8_bit():
    a = rgb8()
    image = decode_image(tiff(a, photometric="rgb"))
    check_unit(image, 3)
    np.testing.assert_allclose(image.pixels, a / 255.0, atol=1e-6)
    cmyk = decode_image(pil_bytes(Image.fromarray(a).convert("CMYK"), "TIFF"))
    check_unit(cmyk, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_in_unit_range_is_kept(dtype):
    a = np.linspace(0, 1, 40 * 60, dtype=dtype).reshape(40, 60)
    image = decode_image(tiff(a))
    check_unit(image, 1)
    np.testing.assert_allclose(image.pixels[..., 0], a, atol=1e-6)


def test_float_tiff_out_of_range_is_scaled_and_rgb_float_reads():
    a = np.linspace(-50, 3000, 40 * 60, dtype=np.float32).reshape(40, 60)
    image = decode_image(tiff(a))
    check_unit(image, 1)
    assert image.pixels.min() == 0.0 and image.pixels.max() == 1.0
    rgb = decode_image(tiff(np.random.default_rng(1).random((30, 30, 3), dtype=np.float32), photometric="rgb"))
    check_unit(rgb, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_float_tiff_with_nan_or_inf_is_refused(bad):
    a = np.random.default_rng(0).random((40, 60), dtype=np.float32)
    a[5, 7] = bad
    message = decode_error(tiff(a), "scan.tif")
    assert "NaN or infinity" in message and "'scan.tif'" in message


def test_signed_and_32_bit_integer_tiffs_map_into_unit_range():
    signed = np.random.default_rng(0).integers(-3000, 3000, (40, 60), dtype=np.int16)
    image = decode_image(tiff(signed))
    check_unit(image, 1)
    order = np.argsort(signed.ravel())
    assert np.all(np.diff(image.pixels[..., 0].ravel()[order]) >= 0)  # monotonic, nothing clipped
    big = np.random.default_rng(0).integers(0, 2**32 - 1, (40, 60), dtype=np.uint32)
    image32 = decode_image(tiff(big))
    check_unit(image32, 1)
    np.testing.assert_allclose(image32.pixels[..., 0], big / (2**32 - 1), atol=1e-6)


# --- wrong names, wrong kinds --------------------------------------------------------


def test_content_decides_not_the_extension():
    a = rgb8()
    image = decode_image(png(a), "photo.jpg")
    assert image.format == "PNG"
    assert decode_image(jpeg(a), "slide.tiff").format == "JPEG"
    assert sniff_format(png(a)) == "PNG" and sniff_format(b"hello") is None


def test_text_named_png_is_not_an_image():
    message = decode_error(b"patient notes: nothing to see here\n" * 4, "notes.png")
    assert "'notes.png'" in message and "text file" in message
    assert "PNG, JPEG, TIFF or DICOM" in message


def test_random_binary_is_not_an_image():
    message = decode_error(np.random.default_rng(0).bytes(500), "x.png")
    assert "not an image this app can read" in message


def test_empty_file():
    message = decode_error(b"", "empty.png")
    assert "empty" in message and "'empty.png'" in message


@pytest.mark.parametrize(
    "fmt, name",
    [("GIF", "GIF"), ("BMP", "BMP"), ("WEBP", "WebP")],
)
def test_other_image_formats_are_named(fmt, name):
    message = decode_error(pil_bytes(Image.fromarray(rgb8()), fmt), f"x.{fmt.lower()}")
    assert name in message and "PNG, JPEG, TIFF or DICOM" in message


def test_other_file_kinds_are_named():
    assert "PDF" in decode_error(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0" * 100, "report.png")
    assert "ZIP" in decode_error(b"PK\x03\x04" + b"\x00" * 100, "images.zip")


def test_animated_gif_is_named_as_gif():
    message = decode_error(animated("GIF"), "cine.gif")
    assert "GIF" in message


def test_animated_png_is_refused_as_multi_frame():
    message = decode_error(animated("PNG"), "cine.png")
    assert "3 frames" in message and "single still image" in message


def test_multi_page_tiff_is_refused():
    pages = [Image.fromarray(rgb8(seed=i)) for i in range(2)]
    data = pil_bytes(pages[0], "TIFF", save_all=True, append_images=pages[1:])
    message = decode_error(data, "stack.tif")
    assert "2 frames" in message or "2 pages" in message


@pytest.mark.parametrize(
    "kind, data",
    [
        ("PNG", png(rgb8(64, 64))),
        ("JPEG", jpeg(rgb8(64, 64))),
        ("TIFF", tiff(rgb8(64, 64), photometric="rgb")),
        ("TIFF", pil_bytes(Image.fromarray(rgb8(64, 64)), "TIFF")),
    ],
)
@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_files_are_damaged(kind, data, keep):
    message = decode_error(data[: int(len(data) * keep)], f"cut.{kind.lower()}")
    assert "damaged or truncated" in message and kind in message


def test_png_with_bad_checksum_is_damaged():
    data = bytearray(png(rgb8()))
    data[30] ^= 0xFF  # inside IHDR/IDAT: the CRC no longer matches
    with pytest.raises(ImageError):
        decode_image(bytes(data))


# --- size limits ---------------------------------------------------------------------


def test_decompression_bomb_is_refused_before_decoding():
    data = png_bomb(100_000, 100_000)
    assert len(data) < 100_000
    tracemalloc.start()
    start = time.perf_counter()
    message = decode_error(data, "bomb.png")
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "too large" in message or "over the limit" in message
    assert f"{MAX_PIXELS:,}" in message
    assert seconds < 2.0 and peak < 20 * 2**20


def test_just_over_the_limit_is_refused_with_the_size():
    side = int(MAX_PIXELS**0.5) + 10
    message = decode_error(png_bomb(side, side), "big.png")
    assert f"{side}×{side}" in message and "Crop" in message


def test_header_claiming_zero_size_is_refused():
    ihdr = b"\x00\x00\x00\x00\x00\x00\x00\x10\x08\x00\x00\x00\x00"
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")
    with pytest.raises(ImageError):
        decode_image(data)


def test_too_small_states_the_minimum():
    message = decode_error(png(rgb8(8, 12)), "tiny.png")
    assert "12×8" in message and f"{MIN_SIDE}×{MIN_SIDE}" in message
    assert decode_image(png(rgb8(8, 12)), min_side=1).width == 12


def test_filename_is_sanitised_in_messages():
    message = decode_error(b"", "../../etc/\x1b[31mevil\nname.png")
    assert "\x1b" not in message and "\n" not in message and "etc" not in message


def test_upload_extensions_cover_every_format():
    assert {"png", "jpg", "jpeg", "tif", "tiff", "dcm"} <= set(UPLOAD_EXTENSIONS)


def test_read_image_missing_file(tmp_path):
    with pytest.raises(ImageError, match="Cannot open"):
        read_image(str(tmp_path / "absent.png"))


def test_read_image_round_trip(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(png(rgb8()))
    assert read_image(str(path)).pixels.shape == (40, 60, 3)


# --- to model input ------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(50, 50), (120, 90), (400, 300), (20, 700)])
def test_model_input_shapes_and_range(channels, size):
    pixels = np.random.default_rng(0).random((*size, channels), dtype=np.float32)
    for modality in (HISTO, MAMMO):
        x = to_model_input(pixels, modality)
        assert x.shape == modality.input_shape and x.dtype == np.float32
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert to_model_input(pixels, "histo").shape == (50, 50, 3)


def test_histo_full_patch_is_unchanged():
    pixels = np.random.default_rng(0).random((50, 50, 3), dtype=np.float32)
    np.testing.assert_array_equal(to_model_input(pixels, HISTO), pixels)


def test_histo_edge_patch_is_padded_with_white_not_stretched():
    pixels = np.random.default_rng(0).random((50, 31, 3), dtype=np.float32)
    x = to_model_input(pixels, HISTO)
    np.testing.assert_array_equal(x[:, :31], pixels)
    assert np.all(x[:, 31:] == 1.0)
    y = pad_to_square(pixels[:20, :20])
    np.testing.assert_array_equal(y[:20, :20], pixels[:20, :20])
    assert np.all(y[20:] == 1.0) and np.all(y[:, 20:] == 1.0)


def test_mammo_input_keeps_the_decoded_grey_values():
    ramp = np.linspace(0.4, 0.6, 200, dtype=np.float32)[:, None, None]
    rgb = np.repeat(np.repeat(ramp, 200, axis=1), 3, axis=2)
    x = to_model_input(rgb, MAMMO)
    assert x.shape == (50, 50, 1)
    # grey = luma of the RGB; a narrow range stays narrow (no stretch per crop)
    assert 0.39 < x.min() < 0.42 and 0.58 < x.max() < 0.61
    assert np.all(np.diff(x[:, 0, 0]) > 0)  # the ramp's order is kept
    flat = to_model_input(np.full((80, 80, 1), 0.3, np.float32), MAMMO)
    np.testing.assert_allclose(flat, 0.3, atol=1e-6)


def test_grey_image_for_histo_is_repeated_to_rgb():
    g = np.random.default_rng(0).random((50, 50, 1), dtype=np.float32)
    x = to_model_input(g, HISTO)
    assert x.shape == (50, 50, 3)
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
