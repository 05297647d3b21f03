"""BreastXAI's engine, one package per stage of the data flow.

file → image (:mod:`core.imaging`) → data sets (:mod:`core.data`) and the model
(:mod:`core.model`) → explanations (:mod:`core.explain`) and region maps (:mod:`core.region`)
→ case reports (:mod:`core.report`) → evaluation (:mod:`core.evaluate`) → training
(:mod:`core.train`) → cohort jobs (:mod:`core.batch`). A stage imports only the stages
before it in this list (``import-linter`` checks it, from ``pyproject.toml``), and nothing
here knows about Streamlit.
"""
