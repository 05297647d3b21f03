"""Batch results as Parquet parts under one folder, read back and summarised.

``<out>/part-00000.parquet``, ``part-00001.parquet``, … each hold whole rows of
:data:`SCHEMA`: one row per image and method (``method`` = ``"none"`` for a
predictions-only run, and for an image whose file could not be read, whose row carries the
``error``). Parts are written by the driver as results arrive, each to a hidden temporary
file first and then linked into place, so a part is either complete or absent and an
interrupted run loses at most the rows it had not yet flushed. ``<out>/run.json`` records
what the numbers depend on (modality, weights, seed, curve steps); a rerun into the same
folder must match it, and skips the images (and methods) already written. A run asked to
keep its maps (``--maps``) writes each part's maps beside it as ``part-00000.maps.npz``
(image ids, methods, the (H, W) attributions as float16, and whether each is signed),
after the part itself: a run killed between the two leaves that part's images without
maps, which the readers of maps allow for.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import BreastXAIError
from core.modality import DECISION_THRESHOLD

NO_METHOD = "none"  # the method of a predictions-only row and of an unreadable image's row
IMAGE_ERROR = "error"  # in ResultStore.done(): the image itself could not be scored
MANIFEST = "run.json"
PART_PREFIX = "part-"
MAPS_SUFFIX = ".maps.npz"

SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("patient_id", pa.string()),
        ("label", pa.int64()),
        ("path", pa.string()),
        ("probability", pa.float64()),  # of the positive class (IDC / malignant); NaN on error
        ("predicted", pa.int64()),  # predicted class index; -1 on error
        ("method", pa.string()),
        ("deletion_auc", pa.float64()),  # lower is better
        ("insertion_auc", pa.float64()),  # higher is better
        ("random_deletion_auc", pa.float64()),  # the seeded random map's scores: the reference
        ("random_insertion_auc", pa.float64()),
        # Against the lesion box, when the image has one (CBIS-DDSM, mini-MIAS films); NaN otherwise.
        ("relevance_mass", pa.float64()),  # share of the map's positive attribution inside the box
        ("pointing_hit", pa.float64()),  # 1 when the map's peak lies in the box, else 0
        ("box_share", pa.float64()),  # the box's share of the input: a uniform map's relevance mass
        ("seconds", pa.float64()),  # the method's map (or, for "none", the prediction)
        ("case_seconds", pa.float64()),  # the whole image: reading, prediction, reference, methods
        ("error", pa.string()),  # null when the row is fine
    ]
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)
FLOAT_COLUMNS = tuple(f.name for f in SCHEMA if pa.types.is_floating(f.type))


def to_table(batch: dict[str, np.ndarray]) -> pa.Table:
    """A scorer's output batch as a table of :data:`SCHEMA` (an empty ``error`` becomes null)."""
    arrays = []
    for field in SCHEMA:
        values = np.asarray(batch[field.name])
        if field.name == "error":
            arrays.append(pa.array([str(v) if v else None for v in values.tolist()], pa.string()))
        elif pa.types.is_string(field.type):
            arrays.append(pa.array([str(v) for v in values.tolist()], pa.string()))
        else:
            arrays.append(pa.array(values.astype(field.type.to_pandas_dtype()), field.type))
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def part_files(folder: str | os.PathLike) -> list[Path]:
    """The complete parts under ``folder``, in the order they were written."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PART_PREFIX}*.parquet") if p.is_file())


def read_results(folder: str | os.PathLike) -> pd.DataFrame:
    """Every row written under ``folder``, one per (image, method), as a DataFrame.

    Should a row have been written twice (two runs into one folder at once), the later
    part's copy is kept. A folder without parts gives an empty frame with the columns.
    """
    tables = [pq.read_table(p, schema=SCHEMA) for p in part_files(folder)]
    if not tables:
        return SCHEMA.empty_table().to_pandas()
    df = pa.concat_tables(tables).to_pandas()
    df = df.drop_duplicates(subset=["image_id", "method"], keep="last")
    return df.reset_index(drop=True)


def maps_file(part: Path) -> Path:
    """The maps shard written beside a part (``part-00000.parquet`` → ``part-00000.maps.npz``)."""
    return part.with_name(part.name.removesuffix(".parquet") + MAPS_SUFFIX)


def read_maps(folder: str | os.PathLike) -> dict[tuple[str, str], tuple[np.ndarray, bool]]:
    """(image id, method) → (attribution (H, W) float32, signed) for every map kept under ``folder``.

    Parts without a shard (a run without ``--maps``, or one killed between part and
    shard) contribute nothing; a map written twice keeps the later part's copy.
    """
    out: dict[tuple[str, str], tuple[np.ndarray, bool]] = {}
    for part in part_files(folder):
        shard = maps_file(part)
        if not shard.is_file():
            continue
        with np.load(shard, allow_pickle=False) as z:
            for image_id, method, attribution, signed in zip(
                z["image_id"].tolist(), z["method"].tolist(), z["maps"], z["signed"].tolist()
            ):
                out[(image_id, method)] = (attribution.astype(np.float32), bool(signed))
    return out


class ResultStore:
    """The output folder of one batch run: its manifest, what is done, and the parts.

    Args:
        folder: created if missing.
        manifest: what the numbers depend on (modality, weights_sha256, seed, steps); an
            existing folder must have been written with the same values.
        part_rows: rows buffered before a part is written.
        part_seconds: seconds after which buffered rows are written anyway.

    Raises:
        BreastXAIError: the folder holds results of a run with other settings.
    """

    def __init__(
        self, folder: str | os.PathLike, manifest: dict, part_rows: int = 512, part_seconds: float = 30.0
    ) -> None:
        self.folder = Path(folder)
        self.part_rows = part_rows
        self.part_seconds = part_seconds
        self._buffer: list[pa.Table] = []
        self._maps: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._buffered = 0
        self._last_write = time.monotonic()
        self.rows_written = 0
        self.parts_written = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        self._check_manifest(manifest)

    def _check_manifest(self, manifest: dict) -> None:
        path = self.folder / MANIFEST
        if path.exists():
            try:
                old = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise BreastXAIError(f"'{path}' cannot be read ({exc}); remove it or choose another --out.") from None
            differ = [k for k in manifest if k in old and old[k] != manifest[k]]
            if differ:
                what = ", ".join(f"{k} {old[k]!r} there, {manifest[k]!r} now" for k in differ)
                raise BreastXAIError(
                    f"'{self.folder}' holds results of another run ({what}); choose another --out to keep both."
                )
            return
        if part_files(self.folder):
            raise BreastXAIError(f"'{self.folder}' holds Parquet parts but no {MANIFEST}; choose another --out.")
        body = {**manifest, "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
        tmp = self.folder / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(body, indent=1) + "\n")
        os.replace(tmp, path)

    def done(self) -> dict[str, set[str]]:
        """Image id → the methods written for it (with :data:`IMAGE_ERROR` for an unreadable image)."""
        out: dict[str, set[str]] = {}
        for p in part_files(self.folder):
            t = pq.read_table(p, columns=["image_id", "method", "error"])
            for image_id, method, error in zip(*(t.column(c).to_pylist() for c in ("image_id", "method", "error"))):
                have = out.setdefault(image_id, set())
                have.add(IMAGE_ERROR if method == NO_METHOD and error else method)
        return out

    def add(self, batch: dict[str, np.ndarray]) -> int:
        """Buffer one output batch; writes a part when enough rows or time have gathered. Returns its rows."""
        table = to_table(batch)
        if table.num_rows:
            self._buffer.append(table)
            self._buffered += table.num_rows
            if "map" in batch:
                maps = np.asarray(batch["map"])
                kept = np.isfinite(maps.reshape(len(maps), -1)).all(axis=1)
                if kept.any():
                    self._maps.append(
                        (
                            np.asarray(batch["image_id"], dtype=str)[kept],
                            np.asarray(batch["method"], dtype=str)[kept],
                            maps[kept].astype(np.float16),
                            np.asarray(batch["signed"], bool)[kept],
                        )
                    )
        if self._buffered >= self.part_rows or (
            self._buffered and time.monotonic() - self._last_write >= self.part_seconds
        ):
            self.flush()
        return table.num_rows

    def flush(self) -> Path | None:
        """Write the buffered rows as the next part (nothing if none is buffered)."""
        if not self._buffered:
            return None
        table = pa.concat_tables(self._buffer)
        tmp = self.folder / f".{PART_PREFIX}{os.getpid()}-{time.monotonic_ns()}.parquet.tmp"
        pq.write_table(table, tmp)
        index = len(part_files(self.folder))
        while True:  # link() never replaces: a part another run has just written stays
            path = self.folder / f"{PART_PREFIX}{index:05d}.parquet"
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                index += 1
        tmp.unlink()
        if self._maps:
            shard = maps_file(path)
            tmp = shard.with_name(f".{shard.name}.{os.getpid()}.tmp.npz")
            np.savez(
                tmp,
                **{k: np.concatenate(v) for k, v in zip(("image_id", "method", "maps", "signed"), zip(*self._maps))},
            )
            os.replace(tmp, shard)
        self._buffer, self._maps, self._buffered = [], [], 0
        self._last_write = time.monotonic()
        self.rows_written += table.num_rows
        self.parts_written += 1
        return path


@dataclass(frozen=True)
class Summary:
    """What the pages show of a batch run."""

    methods: pd.DataFrame  # one row per method
    patients: pd.DataFrame  # one row per patient
    images: int  # distinct images
    errors: int  # images that could not be scored at all


def summarise(df: pd.DataFrame) -> Summary:
    """Per-method means and medians with "beats random", and per-patient prediction rows.

    Methods (rows with an error left out): ``images``, ``mean_``/``median_`` of each AUC and
    of the random map's, ``beats_random_deletion`` (mean deletion AUC below the random
    map's), ``beats_random_insertion`` (mean insertion AUC above it), the share of images
    on which the method beats the random map (``share_beats_random_*``), ``median_seconds``
    and ``errors``. Patients: ``n``, ``n_positive``, ``mean_probability``, ``accuracy`` at
    the decision threshold, and ``errors`` (images that could not be scored).
    """
    ok = df[df["error"].isna()]
    method_rows = []
    for method, g in ok[ok["method"] != NO_METHOD].groupby("method", sort=False):
        row: dict = {"method": method, "images": int(g["image_id"].nunique())}
        for col in ("deletion_auc", "insertion_auc", "random_deletion_auc", "random_insertion_auc"):
            row[f"mean_{col}"] = float(g[col].mean())
            row[f"median_{col}"] = float(g[col].median())
        row["beats_random_deletion"] = bool(row["mean_deletion_auc"] < row["mean_random_deletion_auc"])
        row["beats_random_insertion"] = bool(row["mean_insertion_auc"] > row["mean_random_insertion_auc"])
        row["share_beats_random_deletion"] = float((g["deletion_auc"] < g["random_deletion_auc"]).mean())
        row["share_beats_random_insertion"] = float((g["insertion_auc"] > g["random_insertion_auc"]).mean())
        row["median_seconds"] = float(g["seconds"].median())
        row["errors"] = int(((df["method"] == method) & df["error"].notna()).sum())
        method_rows.append(row)
    methods = pd.DataFrame(method_rows)

    # One row per image for the predictions: any scored row of the image carries them.
    images = df.sort_values("error", na_position="first").drop_duplicates("image_id")
    failed = images["probability"].isna()
    scored = images[~failed]
    correct = (scored["probability"] >= DECISION_THRESHOLD) == (scored["label"] == 1)
    patients = (
        scored.assign(correct=correct)
        .groupby("patient_id")
        .agg(
            n=("image_id", "size"),
            n_positive=("label", "sum"),
            mean_probability=("probability", "mean"),
            accuracy=("correct", "mean"),
        )
        .reindex(sorted(images["patient_id"].unique()))
    )
    patients["errors"] = images[failed].groupby("patient_id").size().reindex(patients.index, fill_value=0)
    patients["n"] = patients["n"].fillna(0).astype(int)
    patients["n_positive"] = patients["n_positive"].fillna(0).astype(int)
    patients = patients.rename_axis("patient_id").reset_index()
    return Summary(methods, patients, images=int(len(images)), errors=int(failed.sum()))


__all__ = [
    "COLUMNS",
    "IMAGE_ERROR",
    "NO_METHOD",
    "SCHEMA",
    "ResultStore",
    "Summary",
    "maps_file",
    "part_files",
    "read_maps",
    "read_results",
    "summarise",
    "to_table",
]
