# exformer: the two commands that matter on a fresh Debian machine.
#   make demo   set up everything, then run notebooks/quickstart.ipynb headless (executed copy + HTML in build/)
#   make test   set up everything (plus browser-test tools), then run every test
# Also: make lab (JupyterLab on the quickstart), make setup, make bench.
.PHONY: demo test lab setup bench

demo:
	bash scripts/setup.sh
	bash scripts/quickstart.sh

test:
	bash scripts/setup.sh --tests
	bash scripts/test.sh

lab: setup
	bash -c '. scripts/env.sh && jupyter lab notebooks/quickstart.ipynb'

setup:
	bash scripts/setup.sh

bench: setup
	bash -c '. scripts/env.sh && python benches/engine_bench.py'
