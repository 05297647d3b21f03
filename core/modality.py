"""What differs between the two modalities: channels, class names and wording.

Channel conventions (one per modality, used by the decoder, training and the app):

* ``histo`` — H&E patches as RGB, values in [0, 1] (pixel / max of its bit depth).
* ``mammo`` — mammograms as one grey channel with the values the decoder gives, in [0, 1]
  (pixel / max of its bit depth; a DICOM film min–max scaled over the whole film). A lesion
  crop is not contrast-stretched on its own: a stretch per crop erased how dense the mass
  is against its surroundings, and patient-grouped cross-validation scored the unstretched
  crops higher (``docs/experiments.md``).
"""

from __future__ import annotations

from dataclasses import dataclass

# The probability of the positive class at or above which a model's answer is positive,
# everywhere: predictions, metrics, region flags and the gallery's correct/wrong.
DECISION_THRESHOLD = 0.5
INPUT_SIZE = 50


@dataclass(frozen=True)
class Modality:
    name: str
    title: str
    channels: int
    negative: str
    positive: str

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (INPUT_SIZE, INPUT_SIZE, self.channels)

    @property
    def class_names(self) -> tuple[str, str]:
        return (self.negative, self.positive)


HISTO = Modality("histo", "Histopathology patch (H&E)", 3, "no IDC", "IDC")
MAMMO = Modality("mammo", "Mammogram lesion", 1, "benign", "malignant")

MODALITIES: dict[str, Modality] = {m.name: m for m in (HISTO, MAMMO)}


def get_modality(name: str) -> Modality:
    try:
        return MODALITIES[name]
    except KeyError:
        raise ValueError(f"unknown modality {name!r}; choose one of {sorted(MODALITIES)}") from None
