# The logic lives in scripts/; targets stay one line each.
VENV := .venv/bin
PYTEST_ARGS ?= -q

.PHONY: setup test compile chain run lint ape-compile ape-test

setup:
	@bash scripts/setup.sh

test: setup
	$(VENV)/pytest $(PYTEST_ARGS)

compile: setup
	$(VENV)/giftcert compile

chain: setup
	$(VENV)/giftcert chain

run: setup
	@bash scripts/run.sh

lint: setup
	$(VENV)/ruff check .

ape-compile: setup
	PATH="$(CURDIR)/$(VENV):$$PATH" $(VENV)/ape compile

ape-test: setup
	PATH="$(CURDIR)/$(VENV):$$PATH" $(VENV)/ape test
