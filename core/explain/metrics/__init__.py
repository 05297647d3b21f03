"""Scores of explanation maps: faithfulness (deletion/insertion), agreement between methods and
the model-randomisation sanity check.
"""
