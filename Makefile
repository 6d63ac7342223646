# Quick start: `make demo` (set up .venv, install, run the Hanoi scenario end to end)
#              `make test` (same set-up, run the test suite)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SEEDS ?= ../shared/seeds
MODEL ?= models/hanoi_2019.toml
DRAWS ?= 1000

.PHONY: setup browser demo test test-fast bench lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,fast]"
	touch $(STAMP)

setup: $(STAMP)

# headless Chromium and ChromeDriver for the browser tests of `forecast explore` (Debian's packages; needs root);
# without them those tests skip
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver) || \
		echo "make browser: could not install chromium and chromium-driver: the browser tests will skip"

demo: $(STAMP)
	$(BIN)/forecast check $(MODEL) --sources $(SEEDS)
	$(BIN)/forecast run $(MODEL) --draws $(DRAWS) --out reports/out/hanoi_2019
	$(BIN)/forecast whatif $(MODEL) --scenario summit_succeeded --draws $(DRAWS)
	$(BIN)/forecast report $(MODEL) --sources $(SEEDS) --draws $(DRAWS) -o reports/out/hanoi_2019.pdf \
		--png reports/out/hanoi_2019_pages

# two workers (the two cores), whole files per worker: a file's module fixtures (the Hanoi posterior) run once
test: $(STAMP) browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --dist loadfile

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --report  # (e), the Hanoi report cold and warm, runs after the 10-minute budget

lint: $(STAMP)
	$(BIN)/ruff check forecast tests benchmarks

clean:
	rm -rf $(VENV) reports/out/*.pdf reports/out/hanoi_2019 reports/out/hanoi_2019_pages
