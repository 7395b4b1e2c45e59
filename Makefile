PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest bench fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/chainrule

pytest: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy src/chainrule

test: pytest lint typecheck

bench: $(STAMP)
	$(PY) benchmarks/scalar.py
	$(PY) benchmarks/micrograd_demo.py
	$(PY) benchmarks/draw.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/training.py
	$(PY) benchmarks/explore.py

# The test suite's fuzzing properties for 10^6 inputs on every core; records the rate and the
# findings in benchmarks/RESULTS.md. FUZZ_ARGS="--minutes 20" stops earlier.
fuzz: $(STAMP)
	$(PY) -m fuzz.run --inputs 1000000 $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
