"""Model cards: the JSON written beside each weights file, and the integrity check.

``weights/<modality>.keras`` is described by ``weights/<modality>.json``; its SHA-256 is
recorded there and checked every time the weights are loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from core.errors import WeightsError

WEIGHTS_DIR = Path(os.environ.get("BREASTXAI_WEIGHTS", Path(__file__).resolve().parents[2] / "weights"))


def weights_path(modality: str, weights_dir: str | os.PathLike | None = None) -> Path:
    return Path(weights_dir or WEIGHTS_DIR) / f"{modality}.keras"


def card_path(weights_file: str | os.PathLike) -> Path:
    return Path(weights_file).with_suffix(".json")


def eval_path(weights_file: str | os.PathLike) -> Path:
    return Path(weights_file).with_suffix(".eval.json")


def background_path(weights_file: str | os.PathLike) -> Path:
    return Path(weights_file).with_suffix(".background.npy")


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | os.PathLike) -> dict:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise WeightsError(f"'{path}' is missing.") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"'{path}' cannot be read: {exc}.") from None


def write_json(path: str | os.PathLike, data: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "w") as fh:
        json.dump(data, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def read_card(weights_file: str | os.PathLike) -> dict:
    return read_json(card_path(weights_file))


def verify_weights(weights_file: str | os.PathLike) -> dict:
    """Check the weights file against its card; return the card.

    Raises:
        WeightsError: the file or card is missing or unreadable, the card records no
            SHA-256, or the SHA-256 differs. The message names the file and what to do.
    """
    weights_file = Path(weights_file)
    restore = "Restore it from the repository or train it again with `python -m core.train`."
    if not weights_file.is_file():
        raise WeightsError(f"The weights file '{weights_file.name}' is missing from '{weights_file.parent}'. {restore}")
    card_file = card_path(weights_file)
    if not card_file.is_file():
        raise WeightsError(
            f"The model card '{card_file.name}' for '{weights_file.name}' is missing from "
            f"'{card_file.parent}', so the weights cannot be checked. {restore}"
        )
    card = read_card(weights_file)
    expected = card.get("weights", {}).get("sha256") if isinstance(card, dict) else None
    if not expected:
        raise WeightsError(
            f"The model card '{card_file.name}' records no SHA-256 for '{weights_file.name}', "
            f"so the weights cannot be checked. {restore}"
        )
    try:
        actual = sha256_file(weights_file)
    except OSError as exc:
        raise WeightsError(f"The weights file '{weights_file.name}' cannot be read: {exc.strerror or exc}.") from None
    if expected != actual:
        raise WeightsError(
            f"The weights file '{weights_file.name}' does not match its model card "
            f"(SHA-256 {actual[:12]}… instead of {str(expected)[:12]}…). It may be damaged or "
            f"replaced. {restore}"
        )
    return card
