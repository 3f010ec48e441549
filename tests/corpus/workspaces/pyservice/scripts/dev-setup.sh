#!/bin/sh
# Creates a virtualenv and installs the dev dependencies.
set -eu
python3 -m venv .venv
. .venv/bin/activate
pip install -e '.[dev]'
echo "run: make dev, then open http://localhost:8000/health"
