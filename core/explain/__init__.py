"""Explanations: the methods (:mod:`core.explain.methods`), the per-image case
(:mod:`core.explain.case`) and their quality scores (:mod:`core.explain.metrics`).

``python -m core.explain`` explains one image; ``python -m core.batch.compare`` compares the
methods over the model's test images (a small batch run summarised by :mod:`core.explain.compare`).
"""
