"""The project's own error types.

Every message is written for the person at the screen (a pathologist, a radiologist or a
reviewer): it says what is wrong and what to do, without a stack trace.
"""


class BreastXAIError(Exception):
    """Base class: anything the app or a CLI can report in one line."""


class ImageError(BreastXAIError):
    """An uploaded or data-set file cannot be used as an image for the model."""


class DataError(BreastXAIError):
    """A data-set folder does not have the expected layout or labels."""


class WeightsError(BreastXAIError):
    """A weights file is missing, unreadable, or does not match its model card."""
