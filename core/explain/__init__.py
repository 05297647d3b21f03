"""Explanations: the methods (:mod:`core.explain.methods`), the per-image case
(:mod:`core.explain.case`) and their quality scores (:mod:`core.explain.metrics`).

``python -m core.explain`` explains one image; ``python -m core.explain.compare`` compares the
methods over a data set.
"""
