"""The launcher: it starts itself again with two malloc arenas, warms up, then runs the app."""

import os
import sys

import pytest

import ui.serve


def test_the_launcher_starts_itself_again_with_two_malloc_arenas(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "restored after the test")
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    started = []

    def execv(path, argv):
        started.append((path, argv, os.environ.get("MALLOC_ARENA_MAX")))
        raise SystemExit(0)  # the real one never returns

    monkeypatch.setattr(ui.serve.os, "execv", execv)
    with pytest.raises(SystemExit):
        ui.serve.main(["--server.port", "8600"])
    assert started == [
        (sys.executable, [sys.executable, "-m", "ui.serve", "--server.port", "8600"], ui.serve.MALLOC_ARENAS)
    ]


def test_then_it_warms_the_models_and_hands_the_app_to_streamlit(monkeypatch):
    import streamlit.web.cli

    import ui.state

    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    monkeypatch.setattr(sys, "argv", ["serve"])
    warmed, ran = [], []
    monkeypatch.setattr(ui.state, "start_warm_up", lambda: warmed.append(True))
    monkeypatch.setattr(streamlit.web.cli, "main", lambda: ran.append(list(sys.argv)) or 0)
    with pytest.raises(SystemExit) as end:
        ui.serve.main(["--server.port", "8600"])
    assert end.value.code == 0 and warmed == [True]
    assert ran == [["streamlit", "run", str(ui.serve.APP), "--server.port", "8600"]]
    assert ui.serve.APP.name == "app.py" and ui.serve.APP.exists()
