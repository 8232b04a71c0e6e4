# One command per workflow; CI runs exactly `make test`.
.PHONY: setup dev demo test lint format bench services-up services-down clean

setup:            ## runtime: .venv, Python packages, espeak-ng, model weights
	scripts/setup.sh

dev:              ## plus test, lint and service tools
	scripts/setup.sh --dev

demo: setup       ## generate the sample world and run the embedded demo graph
	.venv/bin/senri demo

test:             ## set up, start Kafka + Elasticsearch, lint, run all test tiers, stop services
	scripts/test.sh

lint: dev
	.venv/bin/ruff check senri tests benchmarks
	.venv/bin/ruff format --check senri tests benchmarks
	.venv/bin/mypy

format: dev
	.venv/bin/ruff format senri tests benchmarks
	.venv/bin/ruff check --fix senri tests benchmarks

bench: dev        ## benchmarks that print their figures
	.venv/bin/python benchmarks/engine_overhead.py

services-up: dev
	.venv/bin/senri services up

services-down:
	.venv/bin/senri services down

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
