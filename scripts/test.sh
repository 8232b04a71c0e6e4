#!/usr/bin/env bash
# Set up everything, start real Kafka and Elasticsearch on localhost, run lint and every test
# tier (unit, integration, e2e), and stop the services again even when tests fail.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --dev

echo "==> lint"
.venv/bin/ruff check senri tests benchmarks
.venv/bin/ruff format --check senri tests benchmarks
.venv/bin/mypy

echo "==> services"
trap '.venv/bin/python -m senri.services down || true' EXIT
.venv/bin/python -m senri.services up

echo "==> tests"
.venv/bin/python -m pytest "$@"
