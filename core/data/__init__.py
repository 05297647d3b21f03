"""Data-set readers in their published layouts, behind one modality → reader registry
(:mod:`core.data.labelled`), and patient splits.
"""
