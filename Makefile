# Two commands do all the set-up on a fresh machine with Python >= 3.11:
#   make demo   -- the main job on the built-in synthetic data
#   make test   -- the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench bench-national clean

$(STAMP): pyproject.toml pseudonym/_hmac.c
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "reglink needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/reglink demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Performance, printed as tables (never timed unit tests). bench-national generates 1.2M children: minutes.
bench: $(STAMP)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/pseudonymise.py
	$(BIN)/python bench/febrl.py

bench-national: $(STAMP)
	$(BIN)/python bench/synth.py

clean:
	rm -rf $(VENV) build *.egg-info
