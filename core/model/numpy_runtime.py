"""The shipped CNN's forward pass, and the gradient of its head, in NumPy.

Why it exists: a one-shot command such as ``python -m core.explain --methods gradcam``
spends about 5 s importing TensorFlow to do about 20 MFLOPs of work per image. The
paper's network is a plain stack of 3×3 convolutions, batch norm, ReLU, max-pooling and
two dense layers, so its inference and the one gradient Grad-CAM needs (of the log-odds
with respect to a late feature map, through max-pooling and the dense head only) are a few
lines each here, read straight from the ``.keras`` file (a zip of ``config.json`` and
``model.weights.h5``) without Keras.

Only the layer types that network uses are supported; anything else raises
:class:`UnsupportedNetwork` and the caller loads the model with Keras instead. The test
suite checks probabilities, features and Grad-CAM inputs against Keras on the shipped
weights.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.model.names import LOGITS_LAYER

# Layers the head after a Grad-CAM layer may hold: the gradient goes back through these.
HEAD_KINDS = ("MaxPooling2D", "Flatten", "Dense", "Activation", "Dropout")
ELEMENTWISE = ("BatchNormalization", "Activation")


class UnsupportedNetwork(ValueError):
    """The saved model uses a layer or setting this runtime does not implement."""


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str  # the Keras class name
    config: dict
    weights: tuple[np.ndarray, ...]


def _snake(class_name: str) -> str:
    """Keras's own rule (``Conv2D`` → ``conv2d``, ``MaxPooling2D`` → ``max_pooling2d``)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _read_keras_file(path: Path) -> tuple[dict, dict[str, tuple[np.ndarray, ...]]]:
    """The model's config and its weights, keyed by the name Keras stored each layer under."""
    import h5py

    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
        blob = z.read("model.weights.h5")
    stored: dict[str, tuple[np.ndarray, ...]] = {}
    with h5py.File(io.BytesIO(blob), "r") as h5:
        for key, group in h5["layers"].items():
            variables = group.get("vars", {})
            stored[key] = tuple(np.asarray(variables[str(i)], np.float32) for i in range(len(variables)))
    return config, stored


def _layers(config: dict, stored: dict[str, tuple[np.ndarray, ...]]) -> list[Layer]:
    """The layers in order, each with its weights.

    Keras saves a layer's variables under its class name in snake case, numbered in the
    order the layers appear (``conv2d``, ``conv2d_1``, …), not under the layer's own name.
    """
    if config.get("class_name") != "Functional":
        raise UnsupportedNetwork(f"a {config.get('class_name')} model; only functional models are read")
    seen: dict[str, int] = {}
    layers = []
    previous = None
    for spec in config["config"]["layers"]:
        kind, cfg = spec["class_name"], spec["config"]
        if previous is not None and _inputs_of(spec.get("inbound_nodes") or []) != [previous]:
            raise UnsupportedNetwork(f"layer {spec['name']!r} does not take the layer before it alone (not a chain)")
        base = _snake(kind)
        n = seen.get(base, 0)
        seen[base] = n + 1
        key = base if n == 0 else f"{base}_{n}"
        layers.append(Layer(spec["name"], kind, cfg, stored.get(key, ())))
        previous = spec["name"]
    return layers


def _inputs_of(inbound: object) -> list[str]:
    """The names of the layers whose outputs a layer's saved call takes (``keras_history``)."""
    if isinstance(inbound, dict):
        if "keras_history" in inbound:
            return [inbound["keras_history"][0]]
        return [name for value in inbound.values() for name in _inputs_of(value)]
    if isinstance(inbound, list):
        return [name for value in inbound for name in _inputs_of(value)]
    return []


def _check(layer: Layer) -> None:
    c = layer.config
    count = {"Conv2D": 1, "Dense": 1, "BatchNormalization": 4}.get(layer.kind, 0) + int(bool(c.get("use_bias")))
    if len(layer.weights) != count:
        raise UnsupportedNetwork(f"{layer.name}: {len(layer.weights)} stored weights, expected {count}")
    if c.get("data_format", "channels_last") != "channels_last":
        raise UnsupportedNetwork(f"{layer.name}: channels_first")
    if layer.kind == "Conv2D":
        if tuple(c["strides"]) != (1, 1) or tuple(c.get("dilation_rate", (1, 1))) != (1, 1) or c.get("groups", 1) != 1:
            raise UnsupportedNetwork(f"{layer.name}: only stride 1, undilated, ungrouped convolutions")
        if c["activation"] not in ("linear", "relu") or c["padding"] not in ("same", "valid"):
            raise UnsupportedNetwork(f"{layer.name}: activation {c['activation']}, padding {c['padding']}")
    elif layer.kind == "BatchNormalization":
        if c["axis"] not in (-1, 3) or not (c["center"] and c["scale"]):
            raise UnsupportedNetwork(f"{layer.name}: batch norm over axis {c['axis']}")
    elif layer.kind == "MaxPooling2D":
        if c["padding"] != "valid" or tuple(c["strides"]) != tuple(c["pool_size"]):
            raise UnsupportedNetwork(f"{layer.name}: only non-overlapping 'valid' pooling")
    elif layer.kind in ("Dense", "Activation"):
        if c["activation"] not in ("linear", "relu", "softmax"):
            raise UnsupportedNetwork(f"{layer.name}: activation {c['activation']}")
    elif layer.kind not in ("InputLayer", "Flatten", "Dropout"):
        raise UnsupportedNetwork(f"{layer.name}: {layer.kind} layers are not implemented")


def _activate(x: np.ndarray, name: str) -> np.ndarray:
    if name == "relu":
        return np.maximum(x, 0.0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return x


def conv2d(x: np.ndarray, kernel: np.ndarray, padding: str) -> np.ndarray:
    """(N, H, W, C) ⊛ (kh, kw, C, F) → (N, H', W', F), stride 1, as ``keras.layers.Conv2D``."""
    kh, kw, c, f = kernel.shape
    if padding == "same":
        x = np.pad(x, ((0, 0), ((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0)))
    n, h, w = x.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1
    # Each output pixel's kh×kw×C neighbourhood as one row (im2col), then one matrix product.
    cols = np.empty((n, h, w, kh, kw, c), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, :, i, j] = x[:, i : i + h, j : j + w]
    return (cols.reshape(-1, kh * kw * c) @ kernel.reshape(-1, f)).reshape(n, h, w, f)


def max_pool(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    ph, pw = size
    n, h, w, c = x.shape
    h, w = h // ph, w // pw
    return x[:, : h * ph, : w * pw].reshape(n, h, ph, w, pw, c).max(axis=(2, 4))


def max_pool_backward(x: np.ndarray, grad: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The gradient of :func:`max_pool` at input ``x``: each window's gradient goes to its maximum.

    A window with several equal maxima (all zeros after a ReLU) sends it to the first in
    row-major order. Grad-CAM and Grad-CAM++ sum the gradient over positions, so which of
    the tied positions receives it does not change their maps.
    """
    ph, pw = size
    n, h, w, c = x.shape
    oh, ow = h // ph, w // pw
    windows = x[:, : oh * ph, : ow * pw].reshape(n, oh, ph, ow, pw, c).transpose(0, 1, 3, 5, 2, 4)
    first = windows.reshape(n, oh, ow, c, ph * pw).argmax(axis=-1)  # argmax keeps the first of ties
    routed = np.zeros((n, oh, ow, c, ph * pw), np.float32)
    np.put_along_axis(routed, first[..., None], grad[..., None], axis=-1)
    back = np.zeros_like(x)
    back[:, : oh * ph, : ow * pw] = (
        routed.reshape(n, oh, ow, c, ph, pw).transpose(0, 1, 4, 2, 5, 3).reshape(n, oh * ph, ow * pw, c)
    )
    return back


class NumpyNetwork:
    """A saved Keras CNN of the supported layer types, run in NumPy (inference only).

    ``predict`` gives the class probabilities; :meth:`activations_and_gradient` gives a
    layer's output and the gradient of the target's log-odds with respect to it.
    """

    def __init__(self, name: str, layers: list[Layer]):
        for layer in layers:
            _check(layer)
        names = [layer.name for layer in layers]
        if layers[0].kind != "InputLayer" or LOGITS_LAYER not in names:
            raise UnsupportedNetwork(f"the model needs an input layer and a {LOGITS_LAYER!r} dense layer")
        after = layers[names.index(LOGITS_LAYER) + 1 :]
        if len(after) != 1 or after[0].kind != "Activation" or after[0].config["activation"] != "softmax":
            # predict() is the softmax of the logits: nothing else may follow them
            raise UnsupportedNetwork(f"the {LOGITS_LAYER!r} layer must be followed by a softmax and nothing else")
        self.name = name
        self.layers = tuple(layers)
        shape = layers[0].config.get("batch_shape") or layers[0].config.get("batch_input_shape")
        self.input_shape = tuple(int(d) for d in shape[1:])
        self.n_classes = int(next(layer for layer in layers if layer.name == LOGITS_LAYER).config["units"])
        self._names = names

    @classmethod
    def load(cls, path: str | os.PathLike) -> NumpyNetwork:
        """Read a ``.keras`` file. Raises :class:`UnsupportedNetwork` for other architectures."""
        try:
            config, stored = _read_keras_file(Path(path))
        except (KeyError, OSError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise UnsupportedNetwork(f"{Path(path).name} is not a readable .keras file: {exc}") from None
        return cls(config["config"].get("name", "model"), _layers(config, stored))

    def _apply(self, layer: Layer, x: np.ndarray) -> np.ndarray:
        c, w = layer.config, layer.weights
        if layer.kind == "Conv2D":
            y = conv2d(x, w[0], c["padding"])
            return _activate(y + w[1] if c.get("use_bias") else y, c["activation"])
        if layer.kind == "BatchNormalization":
            gamma, beta, mean, var = w
            scale = gamma / np.sqrt(var + np.float32(c["epsilon"]))
            return x * scale + (beta - mean * scale)
        if layer.kind == "MaxPooling2D":
            return max_pool(x, tuple(c["pool_size"]))
        if layer.kind == "Flatten":
            return x.reshape(len(x), int(np.prod(x.shape[1:])))  # an empty batch keeps its width
        if layer.kind == "Dense":
            y = x @ w[0]
            return _activate(y + w[1] if c.get("use_bias") else y, c["activation"])
        if layer.kind == "Activation":
            return _activate(x, c["activation"])
        return x  # InputLayer, Dropout (inference)

    def outputs(self, x: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The named layers' outputs for (N, H, W, C) inputs; the pass stops at the last one asked for."""
        missing = [n for n in names if n not in self._names]
        if missing:
            raise ValueError(f"no layer {missing[0]!r}; the model has {self._names}")
        last = max(self._names.index(n) for n in names)
        out, h = {}, np.asarray(x, np.float32)
        for layer in self.layers[: last + 1]:
            h = self._apply(layer, h).astype(np.float32, copy=False)
            if layer.name in names:
                out[layer.name] = h
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) → (N, K) class probabilities."""
        logits = self.outputs(x, (LOGITS_LAYER,))[LOGITS_LAYER]
        return _activate(logits.astype(np.float64), "softmax").astype(np.float32)

    def default_cam_layer(self) -> str:
        """The last convolution's output after the batch norm and ReLU that follow it (as
        :func:`core.explain.methods.gradcam.default_layer` chooses on the Keras model)."""
        convs = [i for i, layer in enumerate(self.layers) if layer.kind == "Conv2D"]
        if not convs:
            raise ValueError("Grad-CAM needs a convolution layer; the model has none")
        i = convs[-1]
        while i + 1 < len(self.layers) and self.layers[i + 1].kind in ELEMENTWISE:
            i += 1
        return self.layers[i].name

    def activations_and_gradient(self, x: np.ndarray, targets: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
        """``layer``'s output A and ∂ log-odds(target) / ∂ A, both (N, h, w, k).

        The log-odds is ``logit_t − logsumexp(other logits)``, the score every gradient
        method explains (see :mod:`core.explain.methods.base`).

        Raises:
            ValueError: ``layer`` is unknown, or a layer between it and the logits is not one
                the backward pass implements (max-pooling, flatten, dense, ReLU, dropout).
        """
        if layer not in self._names:
            raise ValueError(f"layer {layer!r} is not in the model; choose one of {self._names}")
        start, end = self._names.index(layer), self._names.index(LOGITS_LAYER)
        head = self.layers[start + 1 : end + 1]
        for h in head:
            if h.kind not in HEAD_KINDS or h.config.get("activation", "linear") not in ("linear", "relu"):
                raise ValueError(f"the gradient cannot pass back through {h.name} ({h.kind}) in NumPy")
        # forward, keeping every head layer's input
        acts = self.outputs(x, (layer,))[layer]
        inputs, h = [], acts
        for lyr in head:
            inputs.append(h)
            h = self._apply(lyr, h).astype(np.float32, copy=False)
        logits = h.astype(np.float64)
        t = np.asarray(targets, int)
        # ∂ log-odds / ∂ logits: +1 for the target, −softmax over the other classes for the rest
        others = logits.copy()
        others[np.arange(len(t)), t] = -np.inf
        g = -np.exp(others - others.max(axis=1, keepdims=True))
        g /= -g.sum(axis=1, keepdims=True)
        g[np.arange(len(t)), t] = 1.0
        g = g.astype(np.float32)
        for lyr, inp in zip(reversed(head), reversed(inputs), strict=True):
            g = self._backward(lyr, inp, g)
        return acts, g

    def _backward(self, layer: Layer, inp: np.ndarray, grad: np.ndarray) -> np.ndarray:
        c = layer.config
        if layer.kind == "Dense":
            if c["activation"] == "relu":
                grad = grad * ((inp @ layer.weights[0] + (layer.weights[1] if c.get("use_bias") else 0)) > 0)
            return grad @ layer.weights[0].T
        if layer.kind == "Activation":
            return grad * (inp > 0) if c["activation"] == "relu" else grad
        if layer.kind == "Flatten":
            return grad.reshape(inp.shape)
        if layer.kind == "MaxPooling2D":
            return max_pool_backward(inp, grad, tuple(c["pool_size"]))
        return grad  # Dropout: the identity at inference
