"""Training: augmentation, the fit loop and cross-validation, and the model card it writes.

``python -m core.train`` trains a shipped model.
"""
