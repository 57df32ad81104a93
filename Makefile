# srprint — two commands on a fresh machine:  make demo   /   make test
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.srprint-installed
# tcmalloc speeds up CPU inference 2-3x where it is installed (Debian: libtcmalloc-minimal4); optional.
TCMALLOC := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4))
RUN_ENV := $(if $(TCMALLOC),LD_PRELOAD=$(TCMALLOC),)

.PHONY: demo test docs install lint bench clean-venv browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(RUN_ENV) $(BIN)/srprint demo

# the report's browser test needs Debian's chromium: installed here when missing (a failed install only
# warns; the test then skips, or fails under CI=true)
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { command -v apt-get >/dev/null 2>&1 && \
	    { apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; }; } \
	  || echo "warning: could not install chromium; the browser test needs it"; }

# the documentation (docs/): Sphinx HTML with warnings as errors (the gallery runs on the demo zoo),
# the API's doctests, and the example notebook executed; `make test` runs it beside the suite
docs: $(STAMP)
	$(RUN_ENV) $(BIN)/python -m sphinx -W --keep-going -q -b html -d build/docs/doctrees docs build/docs/html
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider --doctest-modules src/srprint/api src/srprint/config.py
	$(RUN_ENV) OMP_NUM_THREADS=1 $(BIN)/python docs/run_notebook.py

# two pytest-xdist workers, one torch thread each (tests/conftest.py), share CI's 2 cores with the docs build,
# which runs beside them: the build keeps torch at one thread (docs/conf.py) and leaves a core mostly idle when
# run alone (CI on a fresh home: docs 10.5 min, then the suite 15 min, 28 min in all). One thread per process,
# so none spin-waits on another. The build runs in its own session, so Ctrl-C (or a failed suite) stops it
# too; its log is printed when it ends, and either failing fails the target
test: $(STAMP) browser
	@mkdir -p build; \
	setsid -w $(MAKE) --no-print-directory docs > build/docs.log 2>&1 & docs_pid=$$!; \
	trap 'kill -TERM -- -$$docs_pid 2>/dev/null; exit 130' INT TERM; \
	$(RUN_ENV) OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2; tests_rc=$$?; \
	wait $$docs_pid; docs_rc=$$?; cat build/docs.log; \
	if [ $$docs_rc -ne 0 ]; then echo "error: the docs build failed (exit $$docs_rc; log: build/docs.log)"; fi; \
	exit $$(( tests_rc != 0 || docs_rc != 0 ))

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts

clean-venv:
	rm -rf $(VENV)
