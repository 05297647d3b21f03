"""The process-wide settings that every entry point applies first."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT

PROBE = """
from core.config import configure
configure()
import numba.core.dispatcher
import shap.explainers._partition as partition
import shap.maskers._image as image
print(any(isinstance(f, numba.core.dispatcher.Dispatcher) for f in (partition.lower_credit, image._jit_build_partition_tree)))
"""


def test_shap_helpers_run_uncompiled_after_configure():
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_JIT"}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_setting_the_caller_made_is_kept(monkeypatch):
    from core.config import configure

    monkeypatch.setenv("NUMBA_DISABLE_JIT", "0")
    configure()
    assert os.environ["NUMBA_DISABLE_JIT"] == "0"
