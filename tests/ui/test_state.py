"""The pages' cached state: cache keys that follow what they stand for."""

from __future__ import annotations

import json
import os
import threading
import time

import ui.state


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
