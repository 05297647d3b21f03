"""BreastXAI's engine, one package per stage of the data flow.

file → image (:mod:`core.imaging`) → data sets (:mod:`core.data`) and the model
(:mod:`core.model`) → explanations (:mod:`core.explain`) and region maps (:mod:`core.region`)
→ evaluation (:mod:`core.evaluate`) and training (:mod:`core.train`) → reports
(:mod:`core.report`). Imports point down this list only (``import-linter`` checks it), and
nothing here knows about Streamlit.
"""
