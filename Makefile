# `make run` and `make test` build .venv from nothing on first use.
# torch is installed first and pinned: unpinned, pip would fetch a multi-GB CUDA build.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-fast typecheck bench-venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/ragtui $(ARGS)

# Tests write bytecode even where the environment sets PYTHONDONTWRITEBYTECODE (this one does):
# without it every pytest process, xdist worker and app a test starts compiled ragtui and
# re-rewrote every test module and pytest plugin, ~20 s of test-fast's 72 s of CPU.
TEST_ENV := HF_HUB_OFFLINE=1 PYTHONDONTWRITEBYTECODE=

# In parallel too: the tests on a model or on the cluster go to one worker each (tests/conftest.py
# groups them), so each is loaded or started once. Serially: make test PYTEST_ARGS="-n 0".
test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n $(shell expr $$(nproc) + 1) --dist loadgroup $(PYTEST_ARGS)

# The tier to run while working: no model, no tmux, nothing slow (markers in pyproject.toml),
# one worker per core (the tests mostly wait on Redis, subprocesses and the UI).
# One worker more than cores: the tier waits on Redis, subprocesses and UI timers half its time.
test-fast: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -m "not model and not tmux and not cluster and not slow" -n $(shell expr $$(nproc) + 1) $(PYTEST_ARGS)

# mypy over ragtui/ (settings in pyproject.toml): the store's Protocol and its callers.
typecheck: $(STAMP)
	$(BIN)/mypy

# The session benchmark compares with LangChain and LlamaIndex: they get a venv of their
# own so that their dependencies never change what the app and its tests run with.
bench-venv: .venv-bench/.installed
.venv-bench/.installed: pyproject.toml
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet 'redis[hiredis]>=5.0' 'fakeredis[lua]>=2.26' platformdirs pytest
	.venv-bench/bin/pip install --quiet -e '.[bench]' --no-deps
	.venv-bench/bin/pip install --quiet langchain-community llama-index-storage-chat-store-redis
	touch $@

clean:
	rm -rf $(VENV) .venv-bench
