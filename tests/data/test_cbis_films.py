"""Film readers: CBIS-DDSM mass films with COCO boxes and TCIA pathology, and plain COCO exports."""

from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict

import numpy as np
import pytest
from PIL import Image

from core.data.cbis_films import CBIS_MASS_CSVS, read_film_lesions
from core.errors import DataError


def _expected(root):
    """Counts derived from the data set's own files: the CSV rows and the COCO boxes."""
    labels = defaultdict(set)
    for name in CBIS_MASS_CSVS:
        with open(root / name, newline="") as fh:
            for row in csv.DictReader(fh):
                key = (row["patient_id"], row["left or right breast"].upper(), row["image view"].upper())
                labels[key].add(row["pathology"].upper() == "MALIGNANT")
    coco = json.loads((root / "train" / "_annotations.coco.json").read_text())
    boxes = defaultdict(int)
    for ann in coco["annotations"]:
        boxes[ann["image_id"]] += 1
    ambiguous, by_class = [], [0, 0]
    for im in coco["images"]:
        number, side, view = im["file_name"][:-4].rsplit("_", 2)
        kinds = labels[(f"P_{number}", side, view)]
        if len(kinds) > 1:
            ambiguous.append(im["file_name"])
        else:
            by_class[int(next(iter(kinds)))] += boxes[im["id"]]
    return ambiguous, by_class, coco


def test_cbis_reader_joins_pathology_and_skips_mixed_films(cbis_films_dir):
    found = read_film_lesions(cbis_films_dir)
    ambiguous, by_class, coco = _expected(cbis_films_dir)
    counts = found.counts()
    assert sorted(found.skipped_films) == sorted(ambiguous) and ambiguous
    assert (counts["benign"], counts["malignant"]) == tuple(by_class)
    assert counts["lesions"] + counts["skipped_ambiguous_lesions"] == len(coco["annotations"])
    sizes = {im["file_name"]: (im["width"], im["height"]) for im in coco["images"]}
    for lesion in found.lesions:
        x, y, w, h = lesion.box
        width, height = sizes[lesion.path.rsplit("/", 1)[-1]]
        assert 0 <= x and 0 <= y and x + w <= width + 1 and y + h <= height + 1
        assert lesion.split == "train" and lesion.side in ("LEFT", "RIGHT") and lesion.view in ("CC", "MLO")
        assert lesion.path.endswith(f"{lesion.patient}_{lesion.side}_{lesion.view}.jpg")


def _coco_root(tmp_path, categories, boxes, split="test"):
    folder = tmp_path / split
    folder.mkdir(parents=True)
    Image.fromarray(np.full((100, 80), 128, np.uint8)).save(folder / "case7_a.png")
    coco = {
        "categories": [{"id": i, "name": n} for i, n in enumerate(categories)],
        "images": [{"id": 1, "file_name": "case7_a.png", "width": 80, "height": 100}],
        "annotations": [{"id": k, "image_id": 1, "category_id": c, "bbox": b} for k, (c, b) in enumerate(boxes)],
    }
    (folder / "_annotations.coco.json").write_text(json.dumps(coco))
    return tmp_path


def test_plain_coco_categories_are_the_labels(tmp_path):
    root = _coco_root(tmp_path, ["Benign", "MALIGNANT"], [(1, [10, 10, 20, 30]), (0, [40, 50, 10, 10])])
    found = read_film_lesions(root)
    assert [(les.label, les.patient, les.split) for les in found.lesions] == [
        (1, "case7", "test"),
        (0, "case7", "test"),
    ]


def test_plain_coco_needs_label_categories_and_boxes_inside_the_film(tmp_path):
    with pytest.raises(DataError, match="neither benign nor malignant"):
        read_film_lesions(_coco_root(tmp_path / "a", ["Mass"], [(0, [10, 10, 20, 30])]))
    with pytest.raises(DataError, match="does not lie inside"):
        read_film_lesions(_coco_root(tmp_path / "b", ["benign"], [(0, [70, 10, 20, 30])]))


def test_a_root_with_train_and_test_reads_both(cbis_films_dir, tmp_path):
    for name in CBIS_MASS_CSVS:
        shutil.copy(cbis_films_dir / name, tmp_path / name)
    coco = json.loads((cbis_films_dir / "train" / "_annotations.coco.json").read_text())
    first = coco["images"][:2]
    for split, image in zip(("train", "test"), first):
        (tmp_path / split).mkdir()
        shutil.copy(cbis_films_dir / "train" / image["file_name"], tmp_path / split / image["file_name"])
        part = {
            **coco,
            "images": [image],
            "annotations": [a for a in coco["annotations"] if a["image_id"] == image["id"]],
        }
        (tmp_path / split / "_annotations.coco.json").write_text(json.dumps(part))
    found = read_film_lesions(tmp_path)
    assert {les.split for les in found.lesions} <= {"train", "test"}
    assert len(found.lesions) + found.skipped_lesions == sum(
        a["image_id"] in {im["id"] for im in first} for a in coco["annotations"]
    )
