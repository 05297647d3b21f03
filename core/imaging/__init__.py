"""File → image → model input: decoders, the decoded-image type, preprocessing, lesion squares,
the modality guess and the picture toolkit.
"""
