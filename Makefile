# Tulay: `make run` starts web + worker on the embedded defaults; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
# The dev server prints the demo logins: this machine only, unless HOST says otherwise (0.0.0.0).
HOST ?= 127.0.0.1
SYSTEM_PACKAGES := apertium apertium-eng-spa chromium fonts-noto-core
LANGS := en es fr pt ar hi bn ne tl id vi my am sw ru uk zh ur

.PHONY: run test lint coverage system-deps catalogs extract bench clean

# Debian packages: Apertium (a real offline MT engine) and Chromium (browser tests). Installed
# only when missing, and only where we may (root); otherwise say what to install.
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "tulay: please install Debian packages:$$missing (needs root)"; fi; fi

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# Dependencies only (the code runs from this checkout); constraints.txt pins torch to the
	# CPU build (argostranslate -> stanza -> torch), or pip would fetch GBs of CUDA wheels.
	$(BIN)/python -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	  print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(BIN)/pip install -q -c constraints.txt -r $(VENV)/requirements.txt
	touch $@

catalogs: $(STAMP)
	$(BIN)/flask --app app translate compile

# Re-extract reporter-facing strings into messages.pot and merge them into every catalog.
extract: $(STAMP)
	$(BIN)/pybabel extract -F translations/babel.cfg -k N_ -k _l -k lazy_gettext --no-location \
	  --sort-output -o translations/messages.pot .
	for l in $(LANGS); do \
	  if [ -f translations/$$l/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i translations/messages.pot -d translations -l $$l --no-fuzzy-matching; \
	  else $(BIN)/pybabel init -i translations/messages.pot -d translations -l $$l; fi; done

run: system-deps $(STAMP)
	$(BIN)/python -m app.devserver --host $(HOST) --port $(PORT)

test: system-deps $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style, types and the import contracts (channels -> casework <- app); CI runs this first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Branch coverage of the last `make test PYTEST_ARGS=--cov`; the domain (casework) must stay >= 85 %.
coverage: $(STAMP)
	$(BIN)/coverage report
	@echo "casework branch coverage: $$($(BIN)/coverage report --include='casework/*' --format=total) % (floor: 85 %)"
	@$(BIN)/coverage report --include='casework/*' --fail-under=85 --format=total >/dev/null

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache
