"""The pages' cached state: cache keys that follow what they stand for."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time

import numpy as np

import ui.state
from ui.slots import Slots


def test_a_recomputed_comparison_file_is_read_again(tmp_path, monkeypatch):
    path = tmp_path / "histo.compare.json"
    monkeypatch.setattr(ui.state, "compare_path", lambda modality: path)
    ui.state._load_compare.clear()
    path.write_text(json.dumps({"methods": ["gradcam"], "n_images": 1}))
    assert ui.state.load_compare("histo")["n_images"] == 1
    path.write_text(json.dumps({"methods": ["gradcam"], "n_images": 2}))
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))  # a later modification time, as a rerun writes
    assert ui.state.load_compare("histo")["n_images"] == 2


def test_older_comparison_files_use_todays_method_keys(tmp_path, monkeypatch):
    path = tmp_path / "histo.compare.json"
    monkeypatch.setattr(ui.state, "compare_path", lambda modality: path)
    ui.state._load_compare.clear()
    path.write_text(json.dumps({"methods": ["gradcam", "shap"], "per_method": {"shap": {"seconds": [0.1]}}}))
    record = ui.state.load_compare("histo")
    assert record["methods"] == ["gradcam", "shap_gradient"] and "shap_gradient" in record["per_method"]


def test_work_slots_bound_how_many_heavy_calls_run_at_once():
    running, peak, lock = [0], [0], threading.Lock()

    def job():
        with ui.state.work_slot():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=job) for _ in range(4 * ui.state.WORK_SLOTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == ui.state.WORK_SLOTS


def test_heavy_calls_are_served_in_the_order_their_runs_began(monkeypatch):
    """The session whose run began first gets the next free slot, whichever thread asks first."""
    began = threading.local()
    monkeypatch.setattr(ui.state, "_run_started", lambda: began.at)
    monkeypatch.setattr(ui.state, "_work", Slots(1))  # one at a time, so the order shows on any machine
    order: list[float] = []

    def session(at: float) -> None:
        began.at = at
        with ui.state.work_slot(poll_s=0.01):
            order.append(at)

    ui.state._work.acquire(0.0)  # the slot is busy
    threads = []
    for at in (30.0, 10.0, 20.0):  # asking in this order, runs that began in another
        threads.append(threading.Thread(target=session, args=(at,)))
        threads[-1].start()
        time.sleep(0.05)
    ui.state._work.release()
    for t in threads:
        t.join(timeout=5)
    assert order == [10.0, 20.0, 30.0]


class _Ctx:
    def __init__(self, requests):
        self.script_requests = requests


def test_superseded_reads_streamlits_pending_request(monkeypatch):
    from streamlit.runtime.scriptrunner_utils import script_run_context
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    requests = ScriptRequests()
    monkeypatch.setattr(script_run_context, "get_script_run_ctx", lambda suppress_warning=False: _Ctx(requests))
    assert not ui.state.superseded()  # nothing pending
    requests.request_rerun(RerunData(fragment_id_queue=["f"]))  # a fragment's own rerun does not preempt
    assert not ui.state.superseded()
    requests = ScriptRequests()
    requests.request_rerun(RerunData())  # a new upload or choice: a whole-script rerun
    assert ui.state.superseded()
    requests = ScriptRequests()
    requests.request_stop()  # the session closed
    assert ui.state.superseded()
    monkeypatch.setattr(script_run_context, "get_script_run_ctx", lambda suppress_warning=False: None)
    assert not ui.state.superseded()  # outside a script run


def test_a_superseded_session_gives_up_its_place_in_the_queue(monkeypatch):
    class HandedOver(Exception):
        pass

    def hand_over():
        raise HandedOver

    waiting = threading.Event()
    monkeypatch.setattr(ui.state, "superseded", lambda: waiting.is_set())
    monkeypatch.setattr(ui.state, "_hand_over", hand_over)
    computed, outcome = [], []

    def late_user():
        try:
            with ui.state.work_slot(poll_s=0.01):
                computed.append("late")
        except HandedOver:
            outcome.append("handed over")

    held = [ui.state._work.acquire(0.0) for _ in range(ui.state.WORK_SLOTS)]  # every slot busy
    t = threading.Thread(target=late_user)
    t.start()
    time.sleep(0.05)
    waiting.set()  # the user uploads another image while still queued
    t.join(timeout=5)
    for _ in held:
        ui.state._work.release()
    assert outcome == ["handed over"] and computed == []
    with ui.state.work_slot():  # and the slots are all free again
        pass
    assert ui.state._work.free == ui.state.WORK_SLOTS


def test_warm_up_loads_the_models_and_traces_the_methods(histo_weights, monkeypatch, caplog):
    monkeypatch.setitem(ui.state._warm, "ready", False)
    with caplog.at_level(logging.INFO, logger="breastxai.warm_up"):
        ui.state._warm_up(("histo",), ("gradcam", "saliency"))
    assert ui.state._warm["ready"] and not ui.state._warm["error"]
    # one line says when the models are ready (the load bench waits for it before its crowds)
    lines = [r.getMessage() for r in caplog.records if r.name == "breastxai.warm_up"]
    assert len(lines) == 1 and re.fullmatch(r"models ready: 2 methods prepared in \d+\.\d s", lines[0])
    assert "histo" in ui.state._classifiers
    assert {("histo", "gradcam", ()), ("histo", "saliency", ())} <= set(ui.state._explainers)
    assert ui.state._work.free == ui.state.WORK_SLOTS  # every slot given back


def test_each_computed_map_is_handed_over_as_soon_as_it_is_ready(monkeypatch):
    """run_analysis hands over each computed method's result once, as it comes (maps appear one by one)."""
    import streamlit as st

    monkeypatch.setattr(ui.state, "case_reference", lambda *a, **k: "case")
    monkeypatch.setattr(ui.state, "explain_method", lambda modality, key, method, *a, **k: f"map of {method}")
    monkeypatch.setattr(ui.state, "combine", lambda case, results: (case, results))
    st.session_state.pop("_explained", None)
    seen: list[str] = []
    x = np.zeros((50, 50, 3), np.float32)
    case, results = ui.state.run_analysis(
        "histo", "k1", x, ["gradcam", "ig", "saliency"], on_result=lambda m, r: seen.append(m), show_after_s=0
    )
    assert list(results) == ["gradcam", "ig", "saliency"]
    # after the first and the second method; the page draws the full panel after the last
    assert seen == ["gradcam", "ig"]
    seen.clear()
    ui.state.run_analysis(
        "histo", "k1", x, ["gradcam", "ig", "saliency"], on_result=lambda m, r: seen.append(m), show_after_s=0
    )
    assert seen == []  # nothing computed on a rerun, nothing handed over


def test_a_quick_run_draws_its_maps_once_and_a_slow_one_as_they_come(monkeypatch):
    """No intermediate pictures for a run that ends at once; maps one by one once it is slow."""
    import time

    import streamlit as st

    monkeypatch.setattr(ui.state, "case_reference", lambda *a, **k: "case")
    monkeypatch.setattr(ui.state, "combine", lambda case, results: (case, results))
    methods = ["gradcam", "ig", "saliency"]
    x = np.zeros((50, 50, 3), np.float32)

    def run(key: str, queue_full: bool, seconds_each: float) -> list[str]:
        monkeypatch.setattr(ui.state, "_will_wait", lambda *a: queue_full)
        monkeypatch.setattr(
            ui.state, "explain_method", lambda modality, key, method, *a, **k: time.sleep(seconds_each) or method
        )
        st.session_state.pop("_explained", None)
        seen: list[str] = []
        ui.state.run_analysis("histo", key, x, methods, on_result=lambda m, r: seen.append(m), show_after_s=0.2)
        return seen

    assert run("quick", queue_full=False, seconds_each=0.0) == []
    assert run("queued", queue_full=True, seconds_each=0.0) == ["gradcam", "ig"]
    # the first method took longer than show_after_s: from then on, each map as it comes
    assert run("slow", queue_full=False, seconds_each=0.25) == ["gradcam", "ig"]


def test_the_warm_up_steps_aside_while_a_user_computes(monkeypatch):
    """The warm-up's next step waits for a user's call to end, and for a quiet moment after."""
    import threading
    import time

    monkeypatch.setattr(ui.state, "QUIET_S", 0.3)
    inside, ended = threading.Event(), {}

    def user() -> None:
        with ui.state.work_slot():
            inside.set()
            time.sleep(0.4)
        ended["at"] = time.monotonic()

    t = threading.Thread(target=user)
    t.start()
    inside.wait(5)
    ui.state._yield_to_users(poll_s=0.01)
    resumed = time.monotonic()
    t.join()
    assert resumed - ended["at"] >= 0.3  # not while the user computed, nor right after
    assert ui.state._users["calls"] == 0
