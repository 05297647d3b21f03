"""Eight concurrent browser sessions against one running app (``bench/load.py``).

Each session analyses a different real image with every explanation method; all must
succeed, each must show the prediction ``core.model.classifier`` gives for its own image, and no
browser may ask anything of a host other than the loopback server. Timing figures are
printed by the benchmark, not asserted here.
"""

from __future__ import annotations

import pytest
from conftest import DATA, need

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SESSIONS = 8


def test_eight_concurrent_sessions_each_see_their_own_result(
    histo_weights, mammo_weights, histo_dir, mammo_dir, capsys
):
    from bench import load

    need(load.Path(load.CHROMIUM), f"Chromium not found at {load.CHROMIUM} (apt-get install chromium)")
    result = load.run(sessions=SESSIONS, data=str(DATA), which="all", timeout_s=900)
    with capsys.disabled():
        print("\n" + load.format_report(result))
    outcomes = result["outcomes"]
    assert len(outcomes) == SESSIONS
    assert len({o["image"] for o in outcomes}) == SESSIONS  # every session a different image
    assert len({o["expected"] for o in outcomes}) == SESSIONS  # and a different expected answer
    failed = [o for o in outcomes if not o["ok"]]
    assert not failed, failed
    for o in outcomes:
        assert o["shown"] == o["expected"]
        assert o["tiles"] == len(result["methods"])
    assert result["outbound_requests"] == []
