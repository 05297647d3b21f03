"""Region analysis of H&E images larger than a patch: tiles, slide mosaics and their pictures.

``python -m core.region`` runs it from the command line.
"""
