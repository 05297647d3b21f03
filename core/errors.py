"""The project's own error types.

Every message is written for the person at the screen (a pathologist, a radiologist or a
reviewer): it says what is wrong and what to do, without a stack trace.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

EXIT_ERROR = 2


class BreastXAIError(Exception):
    """Base class: anything the app or a CLI can report in one line."""


class ImageError(BreastXAIError):
    """An uploaded or data-set file cannot be used as an image for the model."""


class DataError(BreastXAIError):
    """A data-set folder does not have the expected layout or labels."""


class WeightsError(BreastXAIError):
    """A weights file is missing, unreadable, or does not match its model card."""


def fail(message: str) -> int:
    """Print a one-line error for the person at the terminal; returns the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return EXIT_ERROR


def command(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """A command line's ``main``: what goes wrong becomes one ``error:`` line and exit status 2."""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except (BreastXAIError, ValueError) as exc:
            return fail(str(exc))
        except (OSError, MemoryError) as exc:
            return fail(f"{exc.__class__.__name__}: {exc}")

    return run
