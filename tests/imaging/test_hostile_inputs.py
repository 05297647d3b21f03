"""Property-based fuzzing of the decoder with random and mutated files.

For any bytes at all, ``decode_image`` either returns a sane DecodedImage or raises the
project's own ImageError — never another exception, never a hang, never a memory blow-up.
Over 600 examples run in total (300 random, 360 mutated), derandomised so CI is stable.
"""

from __future__ import annotations

import resource
import time
import tracemalloc
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import valid_samples

from core.errors import ImageError
from core.imaging.decode import decode_image
from core.imaging.image import DecodedImage

SAMPLES = valid_samples()
NAMES = [None, "x.png", "x.jpg", "x.tif", "x.dcm", "x", "weird.name.gif"]
# Per example: wall time and Python-side peak memory (numpy arrays are traced).
MAX_SECONDS = 3.0
MAX_TRACED_BYTES = 300 * 2**20
# For the whole run: growth of the process's peak resident memory (C buffers included).
MAX_RSS_GROWTH = 500 * 2**20

SETTINGS = settings(
    deadline=timedelta(seconds=MAX_SECONDS),
    derandomize=True,
    database=None,
    # tracemalloc makes every example a few times slower than in the app; the data
    # generation itself is cheap, so the too_slow check would only measure that overhead.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

MAGIC = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"\x00" * 128 + b"DICM", b"\x08\x00"]


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def check_decode(data: bytes, name: str | None) -> None:
    """The property: a sane image or an ImageError, within time and memory bounds."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        image = decode_image(data, name)
    except ImageError as exc:
        assert str(exc), "an ImageError must carry a message"
        image = None
    finally:
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert seconds < MAX_SECONDS, f"{seconds:.1f}s for {len(data)} bytes"
    assert peak < MAX_TRACED_BYTES, f"{peak / 2**20:.0f} MB traced for {len(data)} bytes"
    if image is not None:
        assert isinstance(image, DecodedImage)
        px = image.pixels
        assert px.dtype == np.float32 and px.ndim == 3 and px.shape[2] in (1, 3)
        assert min(px.shape[:2]) >= 16
        assert np.isfinite(px).all() and px.min() >= 0.0 and px.max() <= 1.0


@st.composite
def random_files(draw) -> bytes:
    prefix = draw(st.sampled_from(MAGIC))
    return prefix + draw(st.binary(min_size=0, max_size=2048))


def _flip(data: bytearray, pos: int, bit: int) -> None:
    if data:
        data[pos % len(data)] ^= 1 << bit


@st.composite
def mutated_files(draw) -> bytes:
    """A valid file with a few bit flips, overwrites, cuts, insertions or splices."""
    base = bytearray(SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "flip_header", "set", "truncate", "insert", "splice", "repeat"]))
        if op == "flip":
            _flip(base, draw(st.integers(0, 10**6)), draw(st.integers(0, 7)))
        elif op == "flip_header":  # where sizes, depths and offsets live
            _flip(base, draw(st.integers(0, 200)), draw(st.integers(0, 7)))
        elif op == "set" and base:
            pos = draw(st.integers(0, len(base) - 1))
            base[pos : pos + 4] = draw(
                st.sampled_from([b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\x7f\xff\xff\xff", b"\x00\x01\x00\x00"])
            )
        elif op == "truncate":
            base = base[: draw(st.integers(0, len(base)))]
        elif op == "insert":
            pos = draw(st.integers(0, len(base)))
            base[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        elif op == "splice":  # the head of one format on the body of another
            other = SAMPLES[draw(st.sampled_from(sorted(SAMPLES)))]
            cut = draw(st.integers(0, len(other)))
            base = bytearray(other[:cut]) + base[min(cut, len(base)) :]
        elif op == "repeat" and base:
            pos = draw(st.integers(0, len(base) - 1))
            base[pos:pos] = base[pos : pos + draw(st.integers(1, 256))] * draw(st.integers(1, 8))
    return bytes(base)


@pytest.fixture(scope="module")
def rss_guard():
    before = _peak_rss()
    yield
    growth = _peak_rss() - before
    assert growth < MAX_RSS_GROWTH, f"peak RSS grew by {growth / 2**20:.0f} MB while fuzzing"


def test_valid_samples_decode():
    for name, data in SAMPLES.items():
        assert isinstance(decode_image(data, name), DecodedImage), name


@pytest.mark.filterwarnings("ignore")
@settings(SETTINGS, max_examples=300)
@given(data=random_files(), name=st.sampled_from(NAMES))
def test_random_bytes(rss_guard, data, name):
    check_decode(data, name)


@pytest.mark.filterwarnings("ignore")
@settings(SETTINGS, max_examples=360)
@given(data=mutated_files(), name=st.sampled_from(NAMES))
def test_mutated_files(rss_guard, data, name):
    check_decode(data, name)
