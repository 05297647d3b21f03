"""Everything the pages cache, with every cache key in one place.

Models and explainers are loaded once per server process and shared by every session
(never mutated; the explainers whose library keeps per-call state take turns, the others
run side by side). :func:`start_warm_up` builds and traces them in a background thread when
the server starts, so the first user does not pay for it. CPU-heavy calls take a slot of
:data:`WORK_SLOTS` first, so many sessions queue instead of oversubscribing the cores, and
the queue serves them in order of arrival (:mod:`ui.slots`); a session whose user has
uploaded something else or left gives up its place in the queue.
Per-image work is cached with ``st.cache_data`` under the image's SHA-256 (plus the lesion
square) and the settings that change it:

======================  ==============================================================
cached call             key
======================  ==============================================================
``load_classifier``     modality (one per process, not a Streamlit cache)
``load_explainers``     modality, method (one per process, not a Streamlit cache)
``load_card``           modality
``load_eval``           modality
``load_external_eval``  modality
``load_compare``        modality, the file's modification time (a recomputed file is re-read)
``load_batch``          a batch result folder, its parts' names and modification times
``complete_slides``     the histopathology data folder
``decode``              the upload's bytes and name
``unfamiliarity``       modality, case key
``case_reference``      modality, case key, seed, class explained, lesion box — the prediction
                        and the random-map reference
``explain_method``      modality, case key, method, seed, class explained, lesion box, the
                        method's settings
======================  ==============================================================

The prediction and the random-map reference are computed once per image, never once per
method; moving an opacity slider or picking another colour map computes nothing. Nothing
heavy happens at import: TensorFlow loads on the first prediction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from core.errors import WeightsError
from core.explain.case import (
    CaseAnalysis,
    CaseReference,
    MethodResult,
    build_explainers,
    combine,
    explain_one,
    prepare_case,
)
from core.explain.methods import METHOD_LABELS, METHODS, canonical
from core.explain.methods.base import Explainer
from core.imaging.decode import decode_image
from core.imaging.image import DecodedImage
from core.model.card import eval_path, read_card, read_json, weights_path
from core.model.classifier import Classifier, Prediction
from core.region.mosaic import complete_folders
from ui.slots import LAST, Slots

FAST_METHODS = ("gradcam", "gradcampp", "ig", "saliency")


# One CPU-heavy call at a time per two cores, each on one TensorFlow thread, handed out in
# order of arrival (ui/slots.py). The other half of the cores is left to what every user's
# run also needs (Streamlit's own Python, encoding the pictures) and, in the load bench, to
# the 8 browsers on the same 2 cores. There, with the queue in order of arrival, one slot
# finished the 8 users' default panels sooner on average than two side by side, while two
# were a little quicker with all methods, where both meet the target (``python
# bench/load.py --suite`` with ``BREASTXAI_WORK_SLOTS=2``; the README gives the runs). One
# slot with two TensorFlow threads (``BREASTXAI_TF_THREADS=2``) was slower than either: two
# threads on a 50×50 input fight the browsers for the cores more than they speed a call up.
WORK_SLOTS = max(1, int(os.environ.get("BREASTXAI_WORK_SLOTS", 0)) or (os.cpu_count() or 2) // 2)
_work = Slots(WORK_SLOTS)  # first come, first served: see ui/slots.py
_resources_lock = threading.RLock()
_classifiers: dict[str, Classifier] = {}
_explainers: dict[tuple, Explainer] = {}
_warm = {"started": False, "ready": False, "error": ""}
WARM_LOG = logging.getLogger("breastxai.warm_up")


def superseded() -> bool:
    """Whether this session has asked for a new run (a new upload, another choice) or left.

    Reads the pending request of Streamlit's script runner; a fragment's rerun that would
    not preempt the whole script does not count. Outside a script run: False.
    """
    try:
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        requests = getattr(get_script_run_ctx(suppress_warning=True), "script_requests", None)
        state = getattr(requests, "_state", None)
        if state == ScriptRequestType.STOP:
            return True
        if state == ScriptRequestType.RERUN:
            data = requests._rerun_data
            return not (data.fragment_id_queue and not data.is_fragment_scoped_rerun)
    except Exception:  # another Streamlit's internals: never cancel rather than fail
        return False
    return False


def _hand_over() -> None:
    """Let Streamlit start the pending run now: any element call raises its rerun (or stop)."""
    st.empty()


_users = {"calls": 0, "last": float("-inf")}  # users' calls queued or running; when one last ended
_users_lock = threading.Lock()
QUIET_S = 1.0  # the warm-up resumes once no user has computed anything for this long


def mark_run_start() -> None:
    """Note when this session's run began: its heavy calls queue behind those of runs that
    began earlier (see :mod:`ui.slots`). The app calls it at the top of every run."""
    st.session_state["_run_started"] = time.monotonic()


def _run_started() -> float:
    """When this session's current run began (now, outside a run or before it was noted)."""
    try:
        return float(st.session_state.get("_run_started", time.monotonic()))
    except Exception:  # no script run context: a background thread or a test
        return time.monotonic()


@contextmanager
def work_slot(poll_s: float = 0.05):
    """Hold one of the :data:`WORK_SLOTS` while computing (a bounded queue in front of the CPU).

    A session waiting in the queue whose user has moved on (a new upload, another choice, or
    the session closed) gives its place up instead of computing an answer nobody will see.
    """
    key = _run_started()
    with _users_lock:
        _users["calls"] += 1
    try:
        while not _work.acquire(key, timeout=poll_s):
            if superseded():
                _hand_over()
        try:
            yield
        finally:
            _work.release()
    finally:
        with _users_lock:
            _users["calls"] -= 1
            _users["last"] = time.monotonic()


def _yield_to_users(poll_s: float = 0.05) -> None:
    """Wait while users are computing, and for :data:`QUIET_S` after: the warm-up's tracing
    competes for the same cores (and Python's lock) with a user's own, so a user who arrives
    before it has finished is served first, and the warm-up goes on in the quiet after."""
    while True:
        with _users_lock:
            busy = _users["calls"] > 0 or time.monotonic() - _users["last"] < QUIET_S
        if not busy:
            return
        time.sleep(poll_s)


# TensorFlow threads per call. Each work slot runs one call on one thread: on 2 cores, two
# single-threaded calls side by side beat two-threaded calls that fight each other (and the
# browsers) for the same cores. Two threads calling the 102-image forward pass of the
# deletion/insertion curves: 66 calls/s with 1 intra- and 2 inter-op threads, against 59
# with 2 and 2, and 35 with 1 and 1 (the inter-op pool then runs one call at a time).
TF_THREADS = max(1, int(os.environ.get("BREASTXAI_TF_THREADS", 1)))


def load_classifier(modality: str) -> Classifier:
    """The shipped model for ``modality``, its SHA-256 checked against its card (one per process)."""
    with _resources_lock:
        if not _classifiers:
            from core.config import set_tf_threads

            # Before TensorFlow runs anything in this process; one inter-op thread per slot,
            # or the slots' calls would queue behind each other inside TensorFlow.
            set_tf_threads(TF_THREADS, inter_op=WORK_SLOTS)
        if modality not in _classifiers:
            _classifiers[modality] = Classifier.load(modality)
        return _classifiers[modality]


Settings = tuple[tuple[str, object], ...]  # one method's settings, hashable: (("steps", 64), …)


def load_explainers(modality: str, methods: tuple[str, ...], settings: Settings = ()) -> dict[str, Explainer]:
    """One explainer per method (and settings) for the modality's model, built once per process.

    ``settings`` apply to every method in ``methods``; pass one method when they are its own.
    """
    with _resources_lock:
        missing = [m for m in methods if (modality, m, settings) not in _explainers]
        if missing:
            built = build_explainers(load_classifier(modality), missing, settings={m: dict(settings) for m in missing})
            _explainers.update({(modality, m, settings): e for m, e in built.items()})
        return {m: _explainers[(modality, m, settings)] for m in methods}


def _warm_up(modalities: tuple[str, ...], methods: tuple[str, ...]) -> None:
    """Predictions first (both models), then one method at a time, each step in its own slot.

    A user who uploads while this runs waits for one step at most, not for the whole warm-up:
    before each step the warm-up waits until no user is computing, and what a prediction
    needs comes first.
    """
    start = time.monotonic()
    try:
        ready = [m for m in modalities if load_card(m) is not None]
        cases = {}
        for modality in ready:
            _yield_to_users()
            clf = load_classifier(modality)
            with _work.slot(LAST):
                cases[modality] = prepare_case(clf, np.full(clf.modality.input_shape, 0.5, np.float32))
        for method in methods:
            for modality in ready:
                _yield_to_users()
                explainer = load_explainers(modality, (method,))[method]
                with explainer.turn(), _work.slot(LAST):
                    explain_one(load_classifier(modality), explainer, cases[modality])  # traces it once
    except Exception as exc:  # the app still works, it only starts cold
        _warm["error"] = f"{exc.__class__.__name__}: {exc}"
    _warm["ready"] = True
    # one line in the server's log (ui/serve.py shows it): operators, and bench/load.py, see
    # when the models are ready
    if _warm["error"]:
        WARM_LOG.warning("models not prepared: %s", _warm["error"])
    else:
        WARM_LOG.info("models ready: %d methods prepared in %.1f s", len(methods), time.monotonic() - start)


def keep_keras_between_runs() -> bool:
    """Stop Streamlit from clearing the Keras session after every script run.

    Streamlit does so for apps that build a model per run; this app keeps one model set per
    process for every session, so the clear (a full garbage collection of a heap holding
    TensorFlow) is pure cost, paid on every rerun of every session: about 10 of the 22 CPU
    seconds a profile of 8 users found in the server. Matplotlib figures are still closed
    after each run, the other half of what Streamlit does there. Returns whether it applied.
    """
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:  # another Streamlit layout: leave it as it is
        return False
    if not hasattr(script_runner, "_clean_problem_modules"):
        return False

    def close_figures() -> None:
        import sys

        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            try:
                plt.close("all")
            except Exception:  # noqa: BLE001, S110 — as Streamlit: never fail a run for it
                pass

    script_runner._clean_problem_modules = close_figures
    return True


def start_warm_up(modalities: tuple[str, ...] = ("histo", "mammo"), methods: tuple[str, ...] = ()) -> None:
    """Load the models and trace every method in the background, once per process.

    The default panel's methods first, then the others. Each step is one method's first
    call (the ``seconds`` column of ``python -m core.explain``, under a second each), so a
    user who arrives during the warm-up waits for one step at most. With
    numba compiling shap's helpers (see :mod:`core.config`) warming every method took long
    enough that 8 users arriving soon after a restart waited behind it; only the default
    methods were warmed then.

    Set ``BREASTXAI_WARM_START=0`` to skip it (the in-process tests do).
    """
    with _resources_lock:
        if _warm["started"]:
            return
        keep_keras_between_runs()
        if os.environ.get("BREASTXAI_WARM_START", "1") == "0":
            return
        _warm["started"] = True
    methods = methods or (*FAST_METHODS, *(m for m in METHODS if m not in FAST_METHODS))
    threading.Thread(target=_warm_up, args=(modalities, methods), daemon=True, name="warm-up").start()


def warm_up_status() -> str:
    """ "off", "preparing" or "ready"."""
    if not _warm["started"]:
        return "off"
    return "ready" if _warm["ready"] else "preparing"


@st.cache_data(show_spinner=False)
def load_card(modality: str) -> dict | None:
    try:
        return read_card(weights_path(modality))
    except WeightsError:
        return None


@st.cache_data(show_spinner=False)
def load_eval(modality: str) -> dict | None:
    try:
        return read_json(eval_path(weights_path(modality)))
    except WeightsError:
        return None


@st.cache_data(show_spinner=False)
def load_external_eval(modality: str) -> dict | None:
    """The evaluation on another institution's data (``<modality>.external.json``), if shipped."""
    try:
        return read_json(weights_path(modality).with_suffix(".external.json"))
    except WeightsError:
        return None


def compare_path(modality: str) -> Path:
    return weights_path(modality).with_suffix(".compare.json")


def load_compare(modality: str) -> dict | None:
    """The shipped method comparison, re-read whenever the file changes."""
    path = compare_path(modality)
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load_compare(modality, mtime)


@st.cache_data(show_spinner=False)
def _load_compare(modality: str, mtime: float) -> dict | None:
    # ``mtime`` has no underscore on purpose: it is part of the cache key.
    try:
        record = read_json(compare_path(modality))
    except WeightsError:
        return None
    return _canonical_methods(record)


def _canonical_methods(record):
    """Older comparison files name the gradient SHAP method "shap": use today's key throughout."""
    if isinstance(record, dict):
        return {canonical(k) if isinstance(k, str) else k: _canonical_methods(v) for k, v in record.items()}
    if isinstance(record, list):
        return [canonical(v) if isinstance(v, str) else _canonical_methods(v) for v in record]
    return record


def load_batch(folder: str | Path) -> tuple[dict, dict]:
    """A batch result folder as (Compare record, Metrics record), re-read when a part is added.

    Raises:
        BreastXAIError: not a batch folder, or no image in it was scored.
    """
    from core.batch.store import part_files

    parts = tuple((p.name, p.stat().st_mtime) for p in part_files(folder))
    return _load_batch(str(Path(folder).resolve()), parts)


@st.cache_data(show_spinner=False, max_entries=8)
def _load_batch(folder: str, parts: tuple) -> tuple[dict, dict]:
    # ``parts`` has no underscore on purpose: it is part of the cache key.
    from core.batch.store import read_results
    from core.batch.summary import compare_record, evaluation_record

    df = read_results(folder)
    return _canonical_methods(compare_record(folder, df)), evaluation_record(folder, df)


@st.cache_data(show_spinner=False)
def complete_slides(root: str) -> frozenset[str]:
    """Patients under ``root`` whose folders hold their whole slide (told from the patch grid)."""
    return frozenset(complete_folders(root))


def method_labels() -> dict[str, str]:
    """Method name → display label, in the engine's order."""
    return {name: METHOD_LABELS.get(name, name) for name in METHODS}


def image_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@st.cache_data(show_spinner=False, max_entries=32)
def decode(data: bytes, filename: str | None) -> DecodedImage:
    return decode_image(data, filename)


@st.cache_data(show_spinner=False, max_entries=64)
def case_reference(
    modality: str,
    key: str,
    seed: int,
    _model_input: np.ndarray,
    target: int | None = None,
    box: tuple[float, float, float, float] | None = None,
) -> CaseReference:
    """The prediction and the random-map reference for one model input (``key``: image hash + region).

    ``target`` is the class to explain (None: the predicted one); ``box`` a known lesion in
    the input's pixels, for localisation scores.
    """
    clf = load_classifier(modality)
    with work_slot():
        return prepare_case(clf, _model_input, seed=seed, target=target, box=box)


@st.cache_data(show_spinner=False, max_entries=64)
def unfamiliarity(modality: str, key: str, _model_input: np.ndarray) -> tuple[float, float] | None:
    """(score, threshold) of how unlike the training inputs this input is (core.model.familiarity)."""
    clf = load_classifier(modality)
    with work_slot():
        return clf.unfamiliarity(_model_input)


def predict(modality: str, key: str, model_input: np.ndarray, seed: int = 0) -> Prediction:
    return case_reference(modality, key, seed, model_input).prediction


@st.cache_data(show_spinner=False, max_entries=256)
def explain_method(
    modality: str,
    key: str,
    method: str,
    seed: int,
    _model_input: np.ndarray,
    target: int | None = None,
    box: tuple[float, float, float, float] | None = None,
    settings: Settings = (),
) -> MethodResult:
    """One method's map and faithfulness scores for one model input, target class and settings."""
    case = case_reference(modality, key, seed, _model_input, target, box)
    explainer = load_explainers(modality, (method,), settings)[method]
    clf = load_classifier(modality)
    # The explainer's turn first, then a CPU slot: a session waiting for another user's
    # call to the same (serial) explainer must not hold a slot that other work could use.
    with explainer.turn(), work_slot():
        return explain_one(clf, explainer, case)


def run_analysis(
    modality: str,
    key: str,
    model_input: np.ndarray,
    methods: list[str],
    seed: int = 0,
    target: int | None = None,
    box: tuple[float, float, float, float] | None = None,
    settings: dict[str, Settings] | None = None,
    on_result: Callable[[str, MethodResult], None] | None = None,
    show_after_s: float = 0.5,
    progress_in: DeltaGenerator | None = None,
) -> CaseAnalysis:
    """Every chosen method, one at a time, then their agreement.

    Each method is cached on its own, so adding a method to the selection computes only
    that method, and a rerun with the same image and settings computes nothing. Once the run
    has lasted ``show_after_s``, or as soon as a method is sure to be slow (an explainer to
    build, a full work queue), a progress bar shows and ``on_result(method, result)`` is
    called once for each method finished before the last (those already done first), so a
    page can draw each map in its own place as soon as it is ready, without redrawing the
    others. A quicker run draws nothing until its end: each intermediate picture costs the
    user's browser a redraw, for maps that would be replaced a moment later. The bar goes
    where ``progress_in`` (a container or placeholder) is, by default at the page's cursor.
    """
    labels = method_labels()
    started = time.monotonic()
    case = case_reference(modality, key, seed, model_input, target, box)
    results: dict[str, MethodResult] = {}
    bar = None
    for i, method in enumerate(methods):
        own = (settings or {}).get(method, ())
        slow = time.monotonic() - started >= show_after_s or _will_wait(modality, method, own)
        if bar is None and slow and not _is_cached(modality, key, method, seed, target, own):
            bar = (progress_in or st).progress(i / len(methods))  # its text is set just below
            if on_result is not None:
                for done, result in results.items():
                    on_result(done, result)
        if bar is not None:
            bar.progress(i / len(methods), text=f"Computing {labels.get(method, method)} ({i + 1} of {len(methods)})…")
        results[method] = explain_method(modality, key, method, seed, model_input, target, box, own)
        _mark_cached(modality, key, method, seed, target, own)
        if bar is not None and on_result is not None and i + 1 < len(methods):
            on_result(method, results[method])
    if bar is not None:
        bar.empty()
    return combine(case, results)


def _will_wait(modality: str, method: str, settings: Settings) -> bool:
    """Whether a method's next call is sure to be slow: its explainer is not built yet (it
    will be traced), or every work slot is taken (the call will queue)."""
    return (modality, method, settings) not in _explainers or _work.free == 0


def _is_cached(*key) -> bool:
    return key in st.session_state.setdefault("_explained", set())


def _mark_cached(*key) -> None:
    st.session_state.setdefault("_explained", set()).add(key)
