# fanout developer commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: install demo test test-real lint docs bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# A few hundred jobs from jobs/examples/ against the bundled simulator
# (or Together itself when TOGETHER_API_KEY is set), then three evals of a reasoning and a
# non-reasoning model of one base, both serverless on Together: mixed reasoning tasks,
# function calling, structured output.
DEMO_EVAL = $(if $(TOGETHER_API_KEY),,--sim) \
	--model Qwen/Qwen3-235B-A22B-Instruct-2507-tput --model Qwen/Qwen3-235B-A22B-Thinking-2507 \
	--db demo.db --max-tokens 3000

demo: $(STAMP)
	@if [ -n "$$TOGETHER_API_KEY" ]; then \
	  $(BIN)/fanout run jobs/examples/demo.jsonl --model meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo \
	    --db demo.db --out demo.results.jsonl; \
	else \
	  $(BIN)/fanout run jobs/examples/demo.jsonl --sim --model meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo \
	    --db demo.db --out demo.results.jsonl; \
	fi
	@$(BIN)/fanout status --db demo.db
	$(BIN)/fanout eval jobs/evals/mixed.jsonl $(DEMO_EVAL) --out-dir demo-eval
	@echo; echo "== Function calling (tool_call scorer) =="
	$(BIN)/fanout eval jobs/evals/function_calling.jsonl $(DEMO_EVAL) --out-dir demo-eval-tools
	@echo; echo "== Structured output (json_schema scorer: validity) =="
	$(BIN)/fanout eval jobs/evals/structured_output.jsonl $(DEMO_EVAL) --out-dir demo-eval-json

test: $(STAMP)
	$(BIN)/pytest -q

# Real peers (tests/real, issue 5): a llama.cpp server on a 135M model shipped in a wheel,
# and the openai/together SDKs against `fanout sim`. The install compiles llama.cpp (5 to 9
# minutes on 2 cores) as a portable x86-64/ARM build, not for this CPU (GGML_NATIVE=OFF):
# a native build on a host that reports AMX segfaults in ggml's AMX matmul on the first
# prompt of more than one token (seen on 2026-12-01). pip's wheel cache is keyed by the
# package, not by CMAKE_ARGS, so it is bypassed: a cached native wheel would come back.
REAL_STAMP = $(VENV)/.installed-real
$(REAL_STAMP): $(STAMP) pyproject.toml
	@echo "Installing the real extra (compiling llama.cpp takes 3 to 9 minutes)"
	CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=2 \
	  $(BIN)/pip install -q --no-cache-dir -e '.[dev,real]'
	touch $(REAL_STAMP)

test-real: $(REAL_STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/real

lint: $(STAMP)
	$(BIN)/ruff check fanout togethersim runner jobs evals tests bench
	$(BIN)/ruff format --check fanout togethersim runner jobs evals tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider tests/test_layers.py

# docs/cli.md from the commands' --help (tests/face/test_docs.py fails when it is stale)
docs: $(STAMP)
	$(BIN)/python -m fanout.cli._reference docs/cli.md

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm demo.db.lock demo.results.jsonl demo-eval demo-eval-tools demo-eval-json
