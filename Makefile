.DEFAULT_GOAL := help
PY := .venv/bin/python

help: ## Show this help
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: ## Set up and run sandbox, web, worker and beat (SQLite + filesystem broker)
	python3 dev.py run

test: ## Lint, checks and the whole suite on PostgreSQL+Redis and on SQLite
	python3 dev.py test

fmt: ## Format and fix lint
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

sandbox: ## Run only the provider sandbox on SANDBOX_PORT (default 8765)
	$(PY) -m sandbox

bench: ## Scale benchmark of the audit admin (PostgreSQL; see bench/)
	$(PY) bench/scale_audit.py

.PHONY: help run test fmt sandbox bench
