"""Evaluation: scores with intervals, the evaluation of a shipped model on unseen patients, and
the paper's claims beside ours.

``python -m core.evaluate`` scores a model; ``python -m core.evaluate.paper`` prints the
comparison with the paper.
"""
