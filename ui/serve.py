"""Start the dashboard: ``python -m ui.serve [streamlit options]`` (what ``make run`` runs).

The same server as ``streamlit run app.py``, with two things a plain ``streamlit run`` cannot
do, because Streamlit runs ``app.py`` only when the first visitor arrives:

* the models are loaded and every method traced from the moment the process starts
  (in the background: the server answers at once), so the first user after a restart does
  not wait for TensorFlow's import (about 5 s on the 2-core development machine:
  ``python bench/cli.py``) and the tracing;
* glibc's malloc is held to :data:`MALLOC_ARENAS` arenas. glibc gives each busy thread an
  arena of its own, up to 8 per core, and memory freed in one is not reused by another:
  with the server's session threads that multiplies the peak. ``bench/load.py --suite``
  peaked at 1674–1770 MB with the default and at 1486–1527 MB with 2 arenas, no slower
  (both before numba's compiler was switched off, which lowered the peak further). The
  setting is read when the process starts, so the launcher starts itself again with it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

MALLOC_ARENAS = "2"
APP = Path(__file__).resolve().parent.parent / "app.py"


def main(args: list[str]) -> None:
    if os.environ.get("MALLOC_ARENA_MAX") is None:
        os.environ["MALLOC_ARENA_MAX"] = MALLOC_ARENAS
        os.execv(sys.executable, [sys.executable, "-m", "ui.serve", *args])
    from core.config import configure

    configure()
    log = logging.getLogger("breastxai")  # the app's own lines (e.g. "models ready ...") on stderr
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    from ui import state

    state.start_warm_up()  # a background thread; the app's own call finds it started
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *args]
    sys.exit(cli.main())


if __name__ == "__main__":
    main(sys.argv[1:])
