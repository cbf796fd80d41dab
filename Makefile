# parzen: the two commands.
#   make demo   set up .venv when missing, then run the main tuning job
#   make test   set up .venv when missing, then run the whole test suite
#
# TORCH is the torch requirement installed into .venv. Users get a normal
# range; CI pins the CPU build that is available offline (see .ci/run).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch>=2.1
BIN := $(VENV)/bin
STAMP := $(VENV)/.parzen-installed

.PHONY: demo test venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The main job: TPE tunes an MLP on the bundled digits images; the study is kept
# in ./parzen.db as 'digits-demo' (a second `make demo` resumes it and adds 20
# trials); its own name leaves 'digits-mlp' to `parzen tune --dataset digits`.
demo: $(STAMP)
	$(BIN)/parzen tune --dataset digits --model mlp --sampler tpe --n-trials 20 --max-epochs 10 --study digits-demo
	$(BIN)/parzen best digits-demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
