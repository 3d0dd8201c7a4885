#!/usr/bin/env bash
# The README's second command: install (with the test tools), make sure PostgreSQL, Redis,
# RabbitMQ and Chromium are there, lint, check migrations and run the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not browser"`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh requirements-dev.txt
bash scripts/ensure_services.sh

PY=.venv/bin/python
echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> import rules (DESIGN.md; pyproject.toml [tool.importlinter])"
.venv/bin/lint-imports
echo "==> mypy"
.venv/bin/mypy
echo "==> migrations"
$PY manage.py makemigrations --check --dry-run
echo "==> pytest"
rm -rf test-artifacts
exec $PY -m pytest "$@"
