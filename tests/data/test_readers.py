"""Data-set readers on the real files: names, labels, patients, edge patches, both mammo layouts, CBIS CSVs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from core.data.histo import find_patches, load_patch, parse_patch_name
from core.data.mammo import (
    crop_square,
    find_cbis_lesions,
    find_film_lesions,
    find_mammo_lesions,
    find_roi_lesions,
    lesion_region,
    read_cbis_rows,
)
from core.errors import DataError


def read_manifest(histo_dir: Path) -> list[dict]:
    """The data set's own list of its files: the expected counts come from here."""
    with open(histo_dir.parent / "MANIFEST.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_parse_patch_name():
    assert parse_patch_name("8863_idx5_x1001_y1051_class0.png") == ("8863", 1001, 1051, 0)
    assert parse_patch_name("some/dir/14082_idx5_x51_y2101_class1.png") == ("14082", 51, 2101, 1)
    with pytest.raises(DataError):
        parse_patch_name("8863_x1_y1_class0.png")


def test_histo_reader_counts_labels_and_patients(histo_dir):
    rows = read_manifest(histo_dir)
    patches = find_patches(histo_dir)
    assert len(patches) == len(rows)
    assert {p.patient for p in patches} == {r["patient_id"] for r in rows}
    assert sum(p.label for p in patches) == sum(r["class"] == "1" for r in rows)
    for p in patches[:500]:
        folder_label = int(Path(p.path).parent.name)
        assert p.label == folder_label
        assert Path(p.path).parent.parent.name == p.patient


def test_histo_reader_one_patient_folder(histo_dir):
    patches = find_patches(histo_dir / "9262")
    assert {p.patient for p in patches} == {"9262"}
    assert len(patches) == 9


def test_edge_patches_are_padded_with_white_not_stretched(histo_dir):
    small = []
    manifest = histo_dir.parent / "MANIFEST.csv"
    with open(manifest) as fh:
        for row in csv.DictReader(fh):
            if (row["width"], row["height"]) != ("50", "50"):
                small.append(row)
    assert small, "the data set has slide-edge patches"
    row = small[0]
    path = histo_dir / row["patient_id"] / row["class"] / row["file"]
    x = load_patch(str(path))
    assert x.shape == (50, 50, 3) and x.dtype == np.float32
    w, h = int(row["width"]), int(row["height"])
    # the padded part is white, the tissue part keeps its pixels
    if h < 50:
        assert np.all(x[h:, :, :] == 1.0)
    if w < 50:
        assert np.all(x[:, w:, :] == 1.0)


def test_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        find_patches(tmp_path / "nope")
    with pytest.raises(DataError, match="No IDC patches"):
        find_patches(tmp_path)


def test_mammo_roi_reader(mammo_dir):
    lesions = find_roi_lesions(mammo_dir)
    assert len(lesions) == 100
    assert sum(lesion.label for lesion in lesions) == 43
    assert len({lesion.patient for lesion in lesions}) == 88
    assert all(Path(lesion.path).exists() for lesion in lesions)
    assert find_mammo_lesions(mammo_dir, "roi")[0] == lesions[0]
    # with whole films and their annotations beside the crops, auto frames lesions from the films
    assert all(lesion.source == "mini-MIAS film" for lesion in find_mammo_lesions(mammo_dir))


def test_mammo_film_reader_uses_annotations(mammo_dir):
    lesions = find_film_lesions(mammo_dir)
    films = {Path(lesion.path).name for lesion in lesions}
    assert len(films) == 97
    located = [lesion for lesion in lesions if lesion.side > 0]
    whole = [lesion for lesion in lesions if lesion.side == 0]
    assert located and whole  # spread calcifications have no centre: used whole
    mdb005 = [lesion for lesion in lesions if lesion.id.startswith("mdb005")]
    assert len(mdb005) == 2 and mdb005[0].cx == pytest.approx(238.5) and mdb005[0].cy == pytest.approx(445.5)
    region = lesion_region(mdb005[0])
    assert region.shape == (64, 64, 1)
    # the mixed-severity film keeps each lesion's own label
    mdb144 = sorted(lesion.label for lesion in lesions if lesion.id.startswith("mdb144"))
    assert mdb144 == [0, 1]


def test_crop_square_pads_outside_with_black():
    img = np.ones((10, 10, 1), np.float32)
    out = crop_square(img, 0, 0, 6)
    assert out.shape == (6, 6, 1)
    assert out[:3, :3].sum() == 0 and out[3:, 3:].min() == 1


def test_cbis_csvs_parse(cbis_dir):
    rows = read_cbis_rows(cbis_dir)
    assert len(rows) == 1318 + 378 + 1546 + 326
    assert {r["label"] for r in rows} == {0, 1}
    malignant = sum(r["label"] for r in rows)
    assert malignant == 637 + 147 + 544 + 129
    assert all(r["cropped image file path"].endswith(".dcm") for r in rows)
    # patients in both the official train and test CSVs are one patient id here
    train = {r["patient_id"] for r in rows if "train" in r["csv"]}
    test = {r["patient_id"] for r in rows if "test" in r["csv"]}
    assert len(train & test) == 31


def test_cbis_without_images_says_where_to_get_them(cbis_dir):
    with pytest.raises(DataError, match="TCIA"):
        find_cbis_lesions(cbis_dir)


def test_cbis_with_dicom_images(cbis_dir, tmp_path):
    """A TCIA-style download folder holding one synthetic DICOM for one CSV row."""
    pydicom = pytest.importorskip("pydicom")
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    row = read_cbis_rows(cbis_dir)[0]
    rel = Path(row["cropped image file path"])
    target = tmp_path / rel.parts[0] / "07-20-2016-DDSM-1" / "1.000000-cropped images-1" / "1-1.dcm"
    target.parent.mkdir(parents=True)
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = FileDataset(str(target), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.Rows, ds.Columns = 64, 64
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = (np.arange(64 * 64, dtype=np.uint16) * 10).tobytes()
    ds.save_as(str(target), enforce_file_format=True)
    for name in ("mass_case_description_train_set.csv",):
        (tmp_path / name).write_text((cbis_dir / name).read_text())
    lesions = find_cbis_lesions(tmp_path)
    assert len(lesions) == 1 and lesions[0].path == str(target)
    assert lesions[0].label == row["label"] and lesions[0].patient == row["patient_id"]
    region = lesion_region(lesions[0])
    assert region.shape == (64, 64, 1) and 0 <= region.min() < region.max() <= 1
    assert pydicom
