"""Privacy: uploads stay in memory, no patient tag reaches the screen, a report or a log,
and neither the app nor its pages reach beyond the loopback interface."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
import sys
import tomllib
import warnings
import zlib
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import DATA, PAGE_NAMES, ROOT, app_test
from synthetic import (
    PATIENT_TAGS,
    animated,
    dicom,
    gray8,
    gray16,
    jpeg,
    png,
    png16_colour,
    png_bomb,
    rgb8,
    tiff,
)

from core.errors import ImageError
from core.imaging.decode import decode_image
from core.imaging.preprocess import to_model_input
from core.modality import HISTO, MAMMO

# --- a process-wide audit hook that records file writes while armed --------------------

_WRITES: list | None = None
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {
    "os.rename",
    "os.replace",
    "os.remove",
    "os.unlink",
    "os.mkdir",
    "os.truncate",
    "shutil.copyfile",
    "shutil.move",
    "tempfile.mkstemp",
    "tempfile.mkdtemp",
}


def _audit(event: str, args: tuple) -> None:
    if _WRITES is None:
        return
    if event == "open":
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing:
            _WRITES.append((event, path, mode))
    elif event in _WRITE_EVENTS:
        _WRITES.append((event, args))


sys.addaudithook(_audit)


@contextmanager
def no_file_writes():
    """Yield a list that collects every file write attempted inside the block."""
    global _WRITES
    _WRITES = []
    record = _WRITES
    try:
        yield record
    finally:
        _WRITES = None


def every_kind_of_file() -> dict[str, bytes]:
    """Valid and invalid uploads of every kind the decoder meets."""
    return {
        "png": png(rgb8()),
        "png16": png(gray16()),
        "png16rgb": png16_colour(np.dstack([gray16(seed=s) for s in range(3)])),
        "jpeg": jpeg(rgb8()),
        "tiff": tiff(rgb8(), photometric="rgb"),
        "tiff_float": tiff(np.random.default_rng(0).random((40, 60), dtype=np.float32)),
        "dicom_mono1": dicom(gray16(top=4095), photometric="MONOCHROME1", BitsStored=12, HighBit=11),
        "dicom_rgb": dicom(rgb8(), photometric="RGB"),
        "dicom_no_pixels": dicom(None),
        "gif": animated("GIF"),
        "apng": animated("PNG"),
        "bomb": png_bomb(),
        "truncated": png(rgb8())[:100],
        "text": b"hello",
        "empty": b"",
    }


def test_the_write_guard_sees_writes(tmp_path):
    """The guard itself works, so an empty record below means something."""
    with no_file_writes() as writes:
        (tmp_path / "x.txt").write_text("x")
    assert writes and str(tmp_path) in str(writes[0][1])


def test_decoding_writes_no_file():
    files = every_kind_of_file()
    with no_file_writes() as writes:
        for name, data in files.items():
            try:
                image = decode_image(data, f"{name}.bin")
                to_model_input(image.pixels, HISTO)
                to_model_input(image.pixels, MAMMO)
            except ImageError:
                pass
    assert writes == []


@pytest.fixture(scope="module")
def tiny_classifiers():
    """Untrained models with the real architecture (the data path is what matters here)."""
    from core.model.classifier import Classifier
    from core.model.network import build_model

    return {m.name: Classifier(build_model(m, seed=1), m) for m in (HISTO, MAMMO)}


@pytest.mark.slow
def test_prediction_and_explanations_write_no_file(tiny_classifiers):
    from core.explain.case import analyse, build_explainers

    clf = tiny_classifiers["mammo"]
    background = np.random.default_rng(0).random((4, 50, 50, 1), dtype=np.float32)
    methods = ["gradcam", "saliency", "ig", "occlusion", "shap_gradient"]
    explainers = build_explainers(clf, methods, background=background)
    data = dicom(gray16(120, 100, top=4095), BitsStored=12, HighBit=11)
    x = to_model_input(decode_image(data, "Doe_Jane.dcm").pixels, MAMMO)
    # Tracing a tf.function the first time writes its converted Python source (autograph)
    # to the temp folder: code, not data. Trace every method first, then watch.
    analyse(clf, x, methods, explainers=explainers)
    with no_file_writes() as writes:
        x = to_model_input(decode_image(data, "Doe_Jane.dcm").pixels, MAMMO)
        clf.predict_image(x)
        analyse(clf, x, methods, explainers=explainers)
    assert writes == []


def _pdf_text(pdf: bytes) -> bytes:
    """The PDF's objects and every non-image stream, inflated where compressed, joined.

    Image streams are pixel bytes: any short string turns up in them by chance, and a
    picture cannot carry a patient's name as text anyway.
    """
    parts = []
    for match in re.finditer(rb"(<<(?:(?!stream).)*?>>)\s*stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        header, body = match.groups()
        parts.append(header)
        if b"/Image" in header:
            continue
        try:
            parts.append(zlib.decompress(body))
        except zlib.error:
            parts.append(body)
    parts.append(re.sub(rb"stream\r?\n.*?\r?\nendstream", b"", pdf, flags=re.S))
    return b"\n".join(parts)


def _identifiers() -> list[str]:
    """Identifying values long enough to search for (the one-letter sex code is not)."""
    values = [v for v in PATIENT_TAGS.values() if len(v) >= 4]
    return values + [v.split("^")[0] for v in values if "^" in v]


@pytest.mark.slow
def test_dicom_patient_tags_never_reach_the_case_report(tiny_classifiers):
    from core.explain.case import analyse
    from core.report import render_html, render_pdf, report_from_analysis

    data = dicom(gray16(160, 120, top=4095), BitsStored=12, HighBit=11)
    image = decode_image(data, "Doe_Jane_PID-8675309.dcm")
    x = to_model_input(image.pixels, MAMMO)
    clf = tiny_classifiers["mammo"]
    analysis = analyse(clf, x, ["gradcam", "saliency"])
    card = {"model": {"name": "test"}, "weights": {"sha256": "0" * 64}, "versions": {"numpy": np.__version__}}
    report = report_from_analysis(
        analysis,
        modality=MAMMO,
        image=image.pixels,
        model_input=x,
        card=card,
        labels={"gradcam": "Grad-CAM", "saliency": "Saliency"},
        image_sha256="ab" * 32,
    )
    html = render_html(report)
    pdf = _pdf_text(render_pdf(report))
    for value in _identifiers() + ["Doe_Jane_PID-8675309.dcm"]:
        assert value not in html, value
        assert value.encode("latin-1") not in pdf, value
    assert "Saliency" in html and b"Saliency" in pdf  # the checks above ran on a real report
    assert_self_contained(html)


def assert_self_contained(html: str) -> None:
    """No resource is fetched from anywhere: every image is a data: URI, no external CSS/JS."""
    fetches = re.findall(r"""(?:src|href|srcset|poster|data)\s*=\s*["']?\s*((?:https?:)?//[^"'\s>]+)""", html, re.I)
    assert fetches == [], fetches
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "@import" not in html and "<script" not in html.lower() and "<link" not in html.lower()
    assert html.count("data:image/png;base64,") >= 2


def test_decoding_logs_and_warns_nothing_identifying(caplog, capfd):
    odd = dict(PatientBirthDate="1961-04-23-oops", PatientID="X" * 80 + "PID-8675309")
    data = dicom(gray8(), **odd)
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = decode_image(data, "scan.dcm")
    out, err = capfd.readouterr()
    text = caplog.text + out + err + " ".join(str(w.message) for w in caught) + repr(image.metadata)
    for value in _identifiers() + list(odd.values()):
        assert value not in text, value


def test_streamlit_config_turns_telemetry_off():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    # Without a named address, `streamlit run` asks an outside service for the machine's
    # external IP at start-up (streamlit.web.bootstrap prints it as "External URL").
    assert config["browser"]["serverAddress"] == "localhost"


# --- no outbound connection from the app ------------------------------------------------


def _is_loopback(host) -> bool:
    if isinstance(host, (bytes, str)) and not str(host).replace(".", "").replace(":", "").isalnum():
        return True  # AF_UNIX paths and the like
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in ("localhost", "", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name other than localhost


@pytest.fixture()
def outbound(monkeypatch):
    """Record (and refuse) every attempt to connect or resolve beyond loopback."""
    attempts: list = []
    real_connect, real_connect_ex, real_getaddrinfo = (
        socket.socket.connect,
        socket.socket.connect_ex,
        socket.getaddrinfo,
    )

    def target(address):
        return address[0] if isinstance(address, tuple) else address

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(target(address)):
            attempts.append(("connect", address))
            raise OSError("outbound connection refused by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(target(address)):
            attempts.append(("connect_ex", address))
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback(host):
            attempts.append(("getaddrinfo", host))
            raise socket.gaierror("name resolution refused by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


def test_the_network_guard_sees_attempts(outbound):
    with pytest.raises(OSError):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)
    assert outbound


def _app_text(at) -> str:
    """Every value and label the page put on screen."""
    parts = []
    for kind in (
        "title",
        "header",
        "subheader",
        "markdown",
        "caption",
        "text",
        "error",
        "warning",
        "info",
        "success",
        "exception",
        "metric",
        "code",
        "json",
    ):
        for element in getattr(at, kind, []):
            parts.append(str(getattr(element, "value", "")))
            parts.append(str(getattr(element, "label", "")))
    return "\n".join(parts)


@pytest.mark.slow
def test_every_page_renders_without_outbound_connections(outbound, histo_weights, histo_dir, monkeypatch):
    monkeypatch.setenv("BREASTXAI_DATA", str(DATA))
    at = app_test().run()
    assert not at.exception, [e.value for e in at.exception]
    patch = sorted(histo_dir.glob("*/1/*.png"))[0]
    at.file_uploader[0].upload(patch.name, patch.read_bytes(), "image/png").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Prediction:" in m.value for m in at.markdown)
    for name in PAGE_NAMES[1:]:
        other = app_test(name).run()
        assert not other.exception, (name, [e.value for e in other.exception])
    assert outbound == []


@pytest.mark.slow
def test_dicom_upload_shows_no_patient_data(mammo_weights, monkeypatch):
    monkeypatch.setenv("BREASTXAI_DATA", str(DATA))
    at = app_test().run()
    data = dicom(gray16(160, 120, top=4095), photometric="MONOCHROME1", BitsStored=12, HighBit=11)
    at.file_uploader[0].upload("Doe_Jane_PID-8675309.dcm", data, "application/dicom").run()
    assert not at.exception, [e.value for e in at.exception]
    text = _app_text(at)
    assert "DICOM" in text  # the page did show the image's facts
    for value in _identifiers() + ["Doe_Jane_PID-8675309"]:
        assert value not in text, value
