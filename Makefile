# boundbook: `make book` builds the whole book (executing every chapter), `make test` runs the
# test suite. Both create .venv and install everything on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test venv browser lint clean

$(STAMP): requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "make: need python3.11 (or python3) on PATH"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "boundbook" >/dev/null
	@touch $@

venv: $(STAMP)

book: venv
	$(BIN)/boundbook build

# Headless Chromium and its WebDriver for the browser tests (Debian's chromium and
# chromium-driver; needs root for apt-get). Without them the browser tests skip, saying why.
browser:
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium chromium-driver) >/dev/null 2>&1 \
	      || echo "make: could not install chromium/chromium-driver; browser tests will be skipped"; \
	  else echo "make: chromium or chromedriver missing and not root; browser tests will be skipped"; fi; }

test: venv browser
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf _build

# Ratio benchmarks (benchmarks/run.py, under ten minutes on two cores): benchmarks/results.json,
# then book/performance.md and its figure. PyHessian and curvlinops are benchmark-only.
.PHONY: bench bench-sweep
bench: venv
	$(BIN)/pip install --quiet --disable-pip-version-check -r benchmarks/requirements.txt -c requirements.txt
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/report.py

# A sweep of 8 seeds on 2 Dask workers against the same runs one after another (about 3 min).
bench-sweep: venv
	$(BIN)/python benchmarks/bench_sweep.py --results benchmarks/results.json
	$(BIN)/python benchmarks/report.py
