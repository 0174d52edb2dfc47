# Two commands on a fresh machine: `make run` (the chat on a demo index) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COMPILED := $(VENV)/.compiled
INDEX ?= index

.PHONY: run test lint install demo-index clean-index

install: $(COMPILED)

# Reinstalls only when the dependency lists change. torch first, pinned, so that pip takes the
# CPU build and never a multi-GB CUDA one. pip compiles bytecode one file at a time (45 of the
# install's 78 s on 2 cores), so it compiles none: torch's files are compiled while pip installs
# the rest (mostly waiting on the index), and the rest below.
SITE = $(VENV)/lib/python3*/site-packages
TESTS = 'site-packages/.+/tests?/'
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile torch==2.13.0
	{ $(BIN)/python -m compileall -qq -x $(TESTS) $(SITE)/torch || true; } & torch=$$!; \
	  $(BIN)/python -m pip install --quiet --no-compile -c requirements.lock \
	    -e '.[web,live,mcp,ray,dev]'; installed=$$?; wait $$torch; test $$installed -eq 0
	touch $(STAMP)

# Every module compiled on both cores before its first import: where PYTHONDONTWRITEBYTECODE
# is set (it is on some machines), a process would otherwise compile what it imports at every
# start (7.5 s for `assistant serve`). `make test` does not wait for it (16 s): its processes
# write the bytecode of what they import, once. The libraries' own test folders (3,600 files, a
# third of the time) are left out: nothing imports them. The status is not read: a few files
# written for newer Pythons (torch's py312_intrinsics) never compile, under pip neither.
$(COMPILED): $(STAMP)
	$(BIN)/python -m compileall -qq -j 0 -x $(TESTS) $(SITE) || true
	touch $(COMPILED)

# An index's manifest exists from its creation; it counts articles once a batch is committed.
demo-index: $(COMPILED)
	grep -qs '"articles": [1-9]' $(INDEX)/manifest.json || $(BIN)/assistant ingest demo/ --index $(INDEX)

run: demo-index
	$(BIN)/assistant serve --index $(INDEX)

# Everything, the browser test included. Chromium is installed where this may (root, apt); where
# it cannot be, the tests go on and the browser test skips saying why (in CI, with $$CI set, it
# fails instead). For the quick loop: $(BIN)/python -m pytest -m "not slow" -n 2.
# Lint (ruff: its default rules and import order), then types (mypy on the package), both set
# in pyproject.toml: `make test`, and so CI, fails on either.
lint: $(STAMP)
	$(BIN)/ruff check assistant tests scripts
	$(BIN)/mypy

# ruff first (seconds). mypy (20 s from a cold cache, and a clean clone's is cold) then runs
# beside the tests at the lowest priority, on the CPU they leave idle, and its report is printed
# after theirs; the target fails if either fails. The tests run on two workers (pytest-xdist):
# tests/conftest.py keeps a module's tests on one worker, both Ray modules on the same one,
# and the tests that time themselves alone. Bytecode is written even where the environment
# says not to: pytest keeps its rewritten test modules (collection takes 9 s, not 15), and each
# process the tests start compiles a library module only if none did before it.
test: $(STAMP)
	$(BIN)/ruff check assistant tests scripts
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get -qq install -y chromium; } \
	  >/dev/null 2>&1 || \
	  echo "make test: no Chromium, and apt-get could not install it here (it needs root):" \
	       "the browser test will skip"
	@npm install --no-audit --no-fund --silent >/dev/null 2>&1 || \
	  echo "make test: npm could not install axe-core: the accessibility check will skip"
	@types=$$(mktemp); nice -n 19 $(BIN)/mypy >$$types 2>&1 & mypy=$$!; \
	  echo "$(BIN)/mypy (in the background) and $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15"; \
	  PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15; tests=$$?; \
	  wait $$mypy; typed=$$?; echo "$(BIN)/mypy:"; cat $$types; rm -f $$types; \
	  test $$tests -eq 0 && test $$typed -eq 0

clean-index:
	find $(INDEX) -mindepth 1 ! -name README.md ! -name .gitignore -exec rm -rf {} +
