# Two commands on a fresh machine: `make run` (the chat on a demo index) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
INDEX ?= index

.PHONY: run test install demo-index clean-index

install: $(STAMP)

# Reinstalls only when the dependency lists change. torch first, pinned, so that pip takes the
# CPU build and never a multi-GB CUDA one.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# An index's manifest exists from its creation; it counts articles once a batch is committed.
demo-index: $(STAMP)
	grep -qs '"articles": [1-9]' $(INDEX)/manifest.json || $(BIN)/assistant ingest demo/ --index $(INDEX)

run: demo-index
	$(BIN)/assistant serve --index $(INDEX)

test: $(STAMP)
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	$(BIN)/python -m pytest -q

clean-index:
	find $(INDEX) -mindepth 1 ! -name README.md ! -name .gitignore -exec rm -rf {} +
