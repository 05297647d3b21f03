"""Process-wide settings, applied once by whoever owns the process: the app and the CLIs.

Importing a ``core`` module changes nothing outside it; an entry point calls
:func:`configure` first. What it sets, and why:

* the decoding libraries log what they find wrong in a file (tag values included), and an
  uploaded file's contents must never reach the server's logs, so their loggers are
  silenced;
* Pillow warns about large images that the decoder checks and refuses itself with a
  message, so the warning would only be noise;
* TensorFlow's C++ start-up chatter is silenced, and its thread pools are sized when the
  caller says how many threads the process may use (several server sessions or workers on
  two cores must not oversubscribe them);
* numba's compiler is switched off (``NUMBA_DISABLE_JIT``), so shap's masker and Partition
  helpers run as plain Python. At this input size compiling them costs more than it saves:
  a fresh ``core.explain`` with every method takes seconds less (``python bench/cli.py``),
  with the same maps and scores, and a warm Partition call about 0.05 s more (``--warm``).
  A server thread that compiles also holds the GIL for seconds, stalling every other
  session. It must be set before numba is imported, which is why an entry point calls
  :func:`configure` first.
"""

from __future__ import annotations

import logging
import os
import warnings

_QUIET_LOGGERS = ("tifffile", "pydicom", "PIL")


def configure(*, tf_threads: int | None = None) -> None:
    """Apply the process-wide settings; calling it again changes nothing more."""
    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("NUMBA_DISABLE_JIT", "1")
    if tf_threads is not None:
        set_tf_threads(tf_threads)


def set_tf_threads(threads: int, inter_op: int | None = None) -> None:
    """Size TensorFlow's intra- and inter-op pools; only possible before TF runs anything.

    ``inter_op`` (default: half of ``threads``, at least 1) bounds how many graph functions
    run at once: a server whose threads call the model side by side needs one per thread,
    or their calls queue behind each other.
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op or max(1, threads // 2))
    except RuntimeError:  # TensorFlow has already started its pools: keep them
        pass
