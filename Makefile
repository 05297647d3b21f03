# The two commands a new machine needs:
#   make run    set up .venv and start the dashboard
#   make test   set up .venv (and Chromium for the browser tests) and run every test
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint bench chromium results screenshots

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip -q
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $(STAMP)

# `streamlit run app.py`, with the models warming from the server's start (ui/serve.py)
run: $(STAMP)
	$(BIN)/python -m ui.serve

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo apt-get install -y -q chromium; fi; }

# Format, lint and the import rules (stages point down; core never imports streamlit).
lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(STAMP) chromium lint
	$(BIN)/python -m pytest

test-fast: $(STAMP) lint
	$(BIN)/python -m pytest -m "not slow and not browser"

bench: $(STAMP)
	$(BIN)/python bench/explain.py
	$(BIN)/python bench/region.py
	$(BIN)/python bench/cli.py

# Recompute every derived result committed beside the weights (eval, compare, region)
# from the data sets; the README's figures are what these commands print. Mammography's
# Compare run scores every lesion of the test part (263 in the card's split), not a draw.
DATA ?= ../shared/data
results: $(STAMP)
	$(BIN)/python -m core.evaluate --modality histo --data $(DATA)/histo/IDC_regular_ps50_idx5 --save
	$(BIN)/python -m core.evaluate --modality mammo --data $(DATA)/mammo/cbis_ddsm_mass --save
	$(BIN)/python -m core.evaluate --modality mammo --data $(DATA)/mammo/mini_mias \
	  --save-to weights/mammo.external.json --label "external test: mini-MIAS, another institution"
	$(BIN)/python -m core.batch.compare --modality histo --data $(DATA)/histo/IDC_regular_ps50_idx5 --n 20 --sanity-images 2
	$(BIN)/python -m core.batch.compare --modality mammo --data $(DATA)/mammo/cbis_ddsm_mass --n 263 --sanity-images 2
	for p in 8950 9023 9041 9124; do $(BIN)/python -m core.region --mosaic $(DATA)/histo/IDC_regular_ps50_idx5/$$p --json; done
	$(BIN)/python -m core.evaluate.paper

# Refresh the README's screenshots from the browser tests' artefacts.
screenshots: $(STAMP) chromium
	$(BIN)/python -m pytest -q tests/ui/test_browser.py
	cp artifacts/screenshots/*.png docs/screenshots/
