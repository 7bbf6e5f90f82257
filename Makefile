# The two commands a new user runs: `make demo` and `make test`.
# Each creates or updates the local virtualenv .venv idempotently.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-out

.PHONY: demo demo-quick test test-fast lint format venv benchmarks clean

venv: $(STAMP)

# torch and onnxruntime first: their CPU builds on machines without an NVIDIA GPU (a local
# torch wheel where one is at hand), so pip pulls no CUDA wheels that cannot load there.
$(STAMP): pyproject.toml scripts/install_torch.sh scripts/install_onnxruntime.sh
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	sh scripts/install_torch.sh $(BIN)/python
	sh scripts/install_onnxruntime.sh $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: venv
	rm -rf $(DEMO_OUT)
	$(BIN)/celeba demo --out $(DEMO_OUT)

demo-quick: venv
	rm -rf $(DEMO_OUT)
	$(BIN)/celeba demo --quick --out $(DEMO_OUT)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: venv
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow" -n 2

clean:
	rm -rf $(VENV) $(DEMO_OUT) build dist *.egg-info
