"""Train the paper's CNN for one modality and write its weights and model card.

    python -m core.train --modality histo --data DIR --split patient --out weights/

The recipe follows the paper: 50×50 inputs, augmentation, 25 epochs with the batch size
raised from 25 to 75 (25 → 50 → 75 in thirds), Adam (an adaptive learning rate),
ReduceLROnPlateau and EarlyStopping on validation loss with the best weights restored.
Classes are weighted by inverse frequency. All seeds are fixed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from core.config import configure
from core.data.labelled import LabelledSet, load_labelled
from core.data.splits import make_split, patient_split
from core.errors import BreastXAIError, command
from core.evaluate.run import eval_record
from core.evaluate.scores import METRIC_NAMES, summarise
from core.modality import get_modality
from core.model.card import background_path, card_path, read_json, sha256_file, write_json
from core.model.classifier import Classifier
from core.model.network import FILTERS, LAST_CONV_LAYER, LOGITS_LAYER, build_model, count_flops
from core.train.augment import augment_film_lesions, augment_histo, augment_mammo
from core.train.calibrate import calibration_record
from core.train.familiarity import write_reference
from core.train.scale import scale_record


@dataclass
class TrainConfig:
    epochs: int = 25
    batch_sizes: tuple[int, ...] = (25, 50, 75)
    learning_rate: float = 1e-3
    reduce_lr_factor: float = 0.5
    reduce_lr_patience: int = 2
    min_learning_rate: float = 1e-5
    early_stopping_patience: int = 6
    # Epochs before early stopping may act: on a small data set the validation loss of the
    # first epochs swings while batch norm settles, and stopping there leaves a model that
    # answers one class (seen in mammography folds that stopped after 6 and 9 epochs).
    min_epochs: int = 0
    seed: int = 42
    class_weighting: str = "balanced"
    # Augmented copies of each training image per epoch. The mammography set has ~70
    # training lesions: one copy each would be 3 gradient steps an epoch.
    repeats: int = 1
    filters: tuple[int, ...] = FILTERS  # filters of each conv block
    # Exponential moving average of the weights over training steps (0 = off). Keras writes
    # the average into the model at the end of every fit() call, i.e. every epoch here, and
    # the validation loss that drives the schedule and early stopping is then measured on it.
    ema_momentum: float = 0.0

    def batch_size(self, epoch: int) -> int:
        """Batch size for a 0-based epoch: the schedule is spread evenly over the epochs."""
        step = int(epoch * len(self.batch_sizes) / max(self.epochs, 1))
        return self.batch_sizes[min(step, len(self.batch_sizes) - 1)]


def class_weights(y: np.ndarray) -> dict[int, float]:
    counts = np.bincount(y, minlength=2).astype(float)
    return {c: float(len(y) / (2 * counts[c])) if counts[c] else 1.0 for c in (0, 1)}


def _augment(data: LabelledSet, rng: np.random.Generator, repeats: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """One epoch of augmented training inputs (``repeats`` copies of each image) and labels."""
    if data.modality.name == "mammo" and data.regions is not None and data.region_margin > 1.0:
        x = np.concatenate([augment_film_lesions(data.regions, data.region_margin, rng) for _ in range(repeats)])
    elif data.modality.name == "mammo" and data.regions is not None:
        x = np.concatenate([augment_mammo(data.regions, rng) for _ in range(repeats)])
    else:
        x = np.concatenate([augment_histo(data.x, rng) for _ in range(repeats)])
    return x, np.tile(data.y, repeats)


def fit(train: LabelledSet, val: LabelledSet, config: TrainConfig, verbose: int = 1):
    """Train a fresh model; return it and the per-epoch history."""
    import keras

    if not 0.0 <= config.ema_momentum < 1.0:
        raise BreastXAIError(f"ema_momentum must be in [0, 1), not {config.ema_momentum}")
    keras.utils.set_random_seed(config.seed)
    model = build_model(train.modality, seed=config.seed, filters=config.filters)
    ema = config.ema_momentum > 0
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate, use_ema=ema, ema_momentum=config.ema_momentum or 0.99),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    reduce_lr = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss",
        factor=config.reduce_lr_factor,
        patience=config.reduce_lr_patience,
        min_lr=config.min_learning_rate,
    )
    stop = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=config.early_stopping_patience,
        restore_best_weights=True,
        start_from_epoch=config.min_epochs,
    )
    # The batch size changes between epochs, so each epoch is its own fit() call; the two
    # callbacks are driven by hand so that their state (plateau count, best weights) spans
    # the whole run instead of being reset by every fit().
    for cb in (reduce_lr, stop):
        cb.set_model(model)
        cb.on_train_begin()
    rng = np.random.default_rng(config.seed)
    weights = class_weights(train.y) if config.class_weighting == "balanced" else None
    # The validation loss is weighted like the training loss, so that early stopping and the
    # learning-rate schedule watch the objective being optimised, not one that favours the
    # majority class.
    validation: tuple = (val.x, val.y)
    if weights:
        validation += (np.array([weights[int(c)] for c in val.y], np.float32),)
    history: dict[str, list[float]] = {
        k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "batch_size", "seconds")
    }
    for epoch in range(config.epochs):
        start = time.perf_counter()
        batch_size = config.batch_size(epoch)
        x_epoch, y_epoch = _augment(train, rng, config.repeats)
        result = model.fit(
            x_epoch,
            y_epoch,
            batch_size=batch_size,
            epochs=1,
            shuffle=True,
            class_weight=weights,
            validation_data=None if ema else validation,
            verbose=verbose if sys.stdout.isatty() else 0,
        )
        logs = {k: float(v[-1]) for k, v in result.history.items()}
        if ema:  # fit() has just written the averaged weights into the model: validate those
            scores = model.evaluate(
                *validation[:2],
                sample_weight=validation[2] if len(validation) > 2 else None,
                batch_size=256,
                verbose=0,
                return_dict=True,
            )
            logs.update(val_loss=float(scores["loss"]), val_accuracy=float(scores["accuracy"]))
        lr = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        seconds = time.perf_counter() - start
        for k in ("loss", "accuracy", "val_loss", "val_accuracy"):
            history[k].append(round(logs[k], 5))
        history["learning_rate"].append(lr)
        history["batch_size"].append(batch_size)
        history["seconds"].append(round(seconds, 1))
        print(
            f"epoch {epoch + 1:2d}/{config.epochs}  batch {batch_size}  lr {lr:.2e}  "
            f"loss {logs['loss']:.4f}  acc {logs['accuracy']:.4f}  "
            f"val_loss {logs['val_loss']:.4f}  val_acc {logs['val_accuracy']:.4f}  ({seconds:.0f}s)",
            flush=True,
        )
        reduce_lr.on_epoch_end(epoch, logs)
        stop.on_epoch_end(epoch, logs)
        if model.stop_training:
            print(f"early stopping after epoch {epoch + 1}", flush=True)
            break
    stop.on_train_end()
    history["best_epoch"] = [int(stop.best_epoch) + 1]
    return model, history


def predict_positive(model, data: LabelledSet) -> np.ndarray:

    return Classifier(model, data.modality).predict_positive(data.x)


def background_summary(model_inputs: np.ndarray, y: np.ndarray, per_class: int = 8, seed: int = 42) -> np.ndarray:
    """K-means centroids of the training inputs, ``per_class`` for each class.

    SHAP's GradientExplainer needs a background that stands for the training data; the
    centroids are averages over many images, not copies of any one image.
    """
    from sklearn.cluster import KMeans

    centres = []
    for label in (0, 1):
        flat = model_inputs[y == label].reshape(int((y == label).sum()), -1)
        k = min(per_class, len(flat))
        km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(flat)
        centres.append(km.cluster_centers_.reshape((k, *model_inputs.shape[1:])))
    return np.concatenate(centres).astype(np.float32)


def _versions() -> dict[str, str]:
    import importlib.metadata as md
    import platform

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "scikit-learn"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def cross_validate(data: LabelledSet, config: TrainConfig, folds: int = 5) -> dict:
    """Patient-grouped, label-stratified k-fold cross-validation (mean ± sd over folds)."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    per_fold, oof = [], np.full(len(data), np.nan)
    for k, (train_idx, test_idx) in enumerate(splitter.split(data.x, data.y, data.groups)):
        inner = patient_split(data.groups[train_idx], seed=config.seed, test_fraction=0.0, val_fraction=0.15)
        tr, va = train_idx[inner.train], train_idx[inner.val]
        print(f"fold {k + 1}/{folds}: {len(tr)} train, {len(va)} val, {len(test_idx)} test", flush=True)
        model, _ = fit(data.subset(tr), data.subset(va), config, verbose=0)
        p = predict_positive(model, data.subset(test_idx))
        oof[test_idx] = p
        m = summarise(data.y[test_idx], p, data.groups[test_idx], n_boot=200, seed=config.seed)
        per_fold.append({k2: m[k2] for k2 in ("n", "n_positive", *METRIC_NAMES)})
    stats = {}
    for name in METRIC_NAMES:
        vals = np.array([f[name] for f in per_fold], float)
        stats[name] = {"mean": round(float(np.nanmean(vals)), 4), "sd": round(float(np.nanstd(vals, ddof=1)), 4)}
    pooled = summarise(data.y, oof, data.groups, seed=config.seed)
    return {
        "folds": folds,
        "grouping": "patient",
        "stratified_by": "label",
        "seed": config.seed,
        "per_fold": per_fold,
        "mean_sd": stats,
        "pooled_out_of_fold": pooled,
    }


def train(
    modality: str,
    data_dir: str,
    protocol: str,
    out_dir: str,
    config: TrainConfig,
    hold_out: tuple[str, ...] = (),
    cv_folds: int = 0,
    mammo_source: str = "auto",
) -> dict:
    start = time.perf_counter()
    m = get_modality(modality)
    print(f"loading {m.title} data from {data_dir} ...", flush=True)
    data = load_labelled(modality, data_dir, mammo_source)
    print(f"{len(data)} images, {len(set(data.groups.tolist()))} patients, {int(data.y.sum())} positive", flush=True)
    split = make_split(protocol, data.y, data.groups, config.seed, hold_out)
    train_set, val_set, test_set = data.subset(split.train), data.subset(split.val), data.subset(split.test)
    print(f"split '{protocol}': {len(train_set)} train, {len(val_set)} val, {len(test_set)} test", flush=True)
    model, history = fit(train_set, val_set, config)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = modality if protocol == "patient" else f"{modality}-{protocol}"
    weights_file = out / f"{stem}.keras"
    model.save(weights_file)
    p_test = predict_positive(model, test_set)
    test_metrics = summarise(test_set.y, p_test, test_set.groups, seed=config.seed)
    print("test:", {k: test_metrics[k] for k in ("n", *METRIC_NAMES)}, flush=True)

    card = {
        "modality": modality,
        "title": m.title,
        "classes": list(m.class_names),
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "weights": {"file": weights_file.name, "sha256": sha256_file(weights_file)},
        "model": _model_facts(model),
        "input": {"size": [50, 50], "channels": m.channels, "resize": "linear"},
        "data": {"source": data.source, "folder": Path(data_dir).name, **data.counts()},
        "split": {
            "protocol": protocol,
            "seed": split.seed,
            "test_fraction": 0.2,
            "held_out": list(split.held_out),
            "held_out_note": (
                "patients placed in the test part on purpose (--hold-out), e.g. complete slides kept "
                "unseen so that region analysis can be checked on whole slides"
                if split.held_out
                else ""
            ),
            "patients": split.patients(data.groups),
            "counts": {part: int(len(getattr(split, part))) for part in ("train", "val", "test")},
        },
        "hyperparameters": {
            "filters": list(config.filters),
            "epochs": config.epochs,
            "batch_size_schedule": list(config.batch_sizes),
            "optimizer": "adam",
            "learning_rate": config.learning_rate,
            "reduce_lr_on_plateau": {
                "factor": config.reduce_lr_factor,
                "patience": config.reduce_lr_patience,
                "min_lr": config.min_learning_rate,
            },
            "early_stopping": {
                "monitor": "val_loss",
                "patience": config.early_stopping_patience,
                "restore_best_weights": True,
                "from_epoch": config.min_epochs,
            },
            "validation_loss": "weighted with the training class weights"
            if config.class_weighting == "balanced"
            else "unweighted",
            "class_weight": class_weights(train_set.y),
            "augmentation": "flips and 90° rotations; "
            + ("H&E colour jitter" if modality == "histo" else "crop jitter around the lesion, gamma"),
            "augmented_copies_per_epoch": config.repeats,
            "seed": config.seed,
            "weight_average": {"ema_momentum": config.ema_momentum} if config.ema_momentum else None,
        },
        "history": history,
        "test_metrics": test_metrics,
        "versions": _versions(),
    }
    if protocol == "patient":
        bg = background_summary(train_set.x, train_set.y, seed=config.seed)
        np.save(background_path(weights_file), bg)
        card["background"] = {
            "file": background_path(weights_file).name,
            "shape": list(bg.shape),
            "what": "k-means centroids of the training inputs, 8 per class",
        }
        card["familiarity"] = write_reference(model, train_set.x, weights_file)
        card["calibration"] = calibration_record(
            val_set.y,
            predict_positive(model, val_set),
            len(set(val_set.groups.tolist())),
            test_set.y,
            p_test,
            len(set(test_set.groups.tolist())),
        )
        if modality == "histo":
            card["tissue_scale"] = scale_record(train_set.x)

        write_json(out / f"{stem}.eval.json", eval_record(test_set, p_test, card, part="test"))
    if cv_folds:
        print(f"{cv_folds}-fold patient-grouped cross-validation ...", flush=True)
        card["cross_validation"] = cross_validate(data, config, cv_folds)
        print("cv:", card["cross_validation"]["mean_sd"], flush=True)
    card["training_seconds"] = round(time.perf_counter() - start, 1)
    write_json(card_path(weights_file), card)
    _link_protocols(out, modality)
    print(f"wrote {weights_file} and {card_path(weights_file)} in {card['training_seconds']:.0f}s", flush=True)
    return card


def add_cross_validation(
    modality: str, data_dir: str, out_dir: str, config: TrainConfig, folds: int, mammo_source: str = "auto"
) -> dict:
    """Cross-validate the training recipe and record it in the shipped card, weights untouched.

    One test split of ~20 patients gives a wide interval; k patient-grouped folds over every
    patient say how much the figure moves with the patients drawn.
    """
    weights_file = Path(out_dir) / f"{modality}.keras"
    card_file = card_path(weights_file)
    if not card_file.exists():
        raise BreastXAIError(f"No model card at '{card_file}': train the model first.")
    start = time.perf_counter()
    data = load_labelled(modality, data_dir, mammo_source)
    print(
        f"{len(data)} images, {len(set(data.groups.tolist()))} patients; {folds}-fold patient-grouped cross-validation ...",
        flush=True,
    )
    result = cross_validate(data, config, folds)
    result["seconds"] = round(time.perf_counter() - start, 1)
    card = read_json(card_file)
    card["cross_validation"] = result
    write_json(card_file, card)
    print("cv:", result["mean_sd"], flush=True)
    print(f"wrote the cross-validation into {card_file} in {result['seconds']:.0f}s", flush=True)
    return result


def _model_facts(model) -> dict:

    return {
        "name": model.name,
        "layers": [layer.name for layer in model.layers],
        "parameters": int(model.count_params()),
        "flops_per_image": count_flops(model),
        "last_conv_layer": LAST_CONV_LAYER,
        "logits_layer": LOGITS_LAYER,
    }


def _link_protocols(out: Path, modality: str) -> None:
    """Copy the paper-protocol test metrics into the shipped card, whichever ran last."""
    main, paper = out / f"{modality}.json", out / f"{modality}-paper.json"
    if main.exists() and paper.exists():
        card, other = read_json(main), read_json(paper)
        card["paper_protocol"] = {
            "split": {k: other["split"][k] for k in ("protocol", "seed", "counts")},
            "test_metrics": other["test_metrics"],
            "weights": other["weights"],
            "training_seconds": other.get("training_seconds"),
            "data_images": other.get("data", {}).get("n_images"),
        }
        write_json(main, card)


def _block_widths(text: str) -> tuple[int, ...]:
    """``--filters``: one positive whole number per conv block, comma-separated."""
    try:
        widths = tuple(int(f) for f in text.split(","))
    except ValueError:
        widths = ()
    if len(widths) != len(FILTERS) or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"needs {len(FILTERS)} positive whole numbers, one per conv block: {text!r}")
    return widths


@command
def main(argv: list[str] | None = None) -> int:
    configure()
    ap = argparse.ArgumentParser(
        prog="python -m core.train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--modality", required=True, choices=["histo", "mammo"])
    ap.add_argument("--data", required=True, help="data-set folder in its published layout")
    ap.add_argument("--split", default="patient", choices=["patient", "paper"])
    ap.add_argument("--out", default="weights", help="folder for <modality>.keras and its card")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument(
        "--batch-sizes", default="25,50,75", help="batch-size schedule spread evenly over the epochs (default 25,50,75)"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--patience", type=int, default=6, help="early-stopping patience in epochs")
    ap.add_argument("--min-epochs", type=int, default=0, help="epochs before early stopping may stop the run")
    ap.add_argument(
        "--lr-patience", type=int, default=2, help="epochs without a better validation loss before the rate halves"
    )
    ap.add_argument("--hold-out", default="", help="comma-separated patient ids forced into the test part")
    ap.add_argument("--cv", type=int, default=0, help="also run k-fold patient-grouped cross-validation")
    ap.add_argument(
        "--cv-only", action="store_true", help="run only the cross-validation and add it to the existing card"
    )
    ap.add_argument(
        "--repeats", type=int, default=0, help="augmented copies per image per epoch (default: 1 histo, 20 mammo)"
    )
    ap.add_argument(
        "--filters",
        type=_block_widths,
        default=FILTERS,
        help=f"filters of each conv block (default {','.join(map(str, FILTERS))}, the paper CNN as shipped)",
    )
    ap.add_argument(
        "--ema",
        type=float,
        default=0.0,
        help="momentum of an exponential moving average of the weights, e.g. 0.995 (default 0: off)",
    )
    ap.add_argument("--mammo-source", default="auto", choices=["auto", "roi", "films", "cbis", "cbis_films"])
    args = ap.parse_args(argv)
    repeats = args.repeats or (20 if args.modality == "mammo" else 1)
    batch_sizes = tuple(int(b) for b in args.batch_sizes.split(",") if b)
    config = TrainConfig(
        epochs=args.epochs,
        batch_sizes=batch_sizes,
        seed=args.seed,
        repeats=repeats,
        early_stopping_patience=args.patience,
        min_epochs=args.min_epochs,
        reduce_lr_patience=args.lr_patience,
        filters=args.filters,
        ema_momentum=args.ema,
    )
    hold_out = tuple(p for p in args.hold_out.split(",") if p)
    if args.cv_only and not args.cv:
        ap.error("--cv-only needs --cv K")
    if args.cv_only:
        add_cross_validation(args.modality, args.data, args.out, config, args.cv, args.mammo_source)
    else:
        train(args.modality, args.data, args.split, args.out, config, hold_out, args.cv, args.mammo_source)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
