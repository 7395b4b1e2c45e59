PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Two installs: the library alone (what the demo runs: numpy, sympy, the drawing
# packages) and, for tests and tools, the dev extras on top (PyTorch, Playwright, Jupyter,
# scikit-learn, mypy ...). `make demo` never pulls the dev extras.
BASE := $(VENV)/.installed-base
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest docs docs-serve bench fuzz clean

$(BASE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(BASE)

$(STAMP): $(BASE)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(BASE)
	$(VENV)/bin/chainrule

# The tests run in one process per CPU (pytest-xdist), at most four: most of the suite is
# Python-bound, and a 2-core CI machine takes about 1.5x less time than with one process
# (worksteal: a worker that runs out of tests takes half of the other's queue).
# TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -gt 4 ] && n=4; echo $$n)

pytest: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy src/chainrule

test: pytest lint typecheck docs

# The documentation site (MkDocs + Material), built with --strict into build/site; its examples
# run in the test suite (tests/test_docs_examples.py) and its pages load in a browser test.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

docs-serve: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve --dev-addr 127.0.0.1:8000

bench: $(STAMP)
	$(PY) benchmarks/scalar.py
	$(PY) benchmarks/micrograd_demo.py
	$(PY) benchmarks/draw.py
	$(PY) benchmarks/torch_bridge.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/training.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/compiled.py
	$(PY) benchmarks/explore.py
	$(PY) benchmarks/explore_build.py
	$(PY) benchmarks/grading.py
	$(PY) benchmarks/startup.py

# The test suite's fuzzing properties for 10^6 inputs on every core; records the rate and the
# findings in benchmarks/RESULTS.md. FUZZ_ARGS="--minutes 20" stops earlier.
fuzz: $(STAMP)
	$(PY) -m fuzz.run --inputs 1000000 $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
