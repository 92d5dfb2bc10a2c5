#!/usr/bin/env bash
# Runs every test: rustfmt and clippy (hygiene gate), Rust unit/integration tests, the widget's node tests, then the Python suites
# (kernel protocol, engine parity against HF transformers, notebooks, real-browser JupyterLab).
# Expects scripts/setup.sh --tests to have run (the Makefile's `test` target does both).
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
mkdir -p tests/artifacts
status=0
step() { printf '\n== %s ==\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all --check || status=1

step "cargo clippy (warnings are errors)"
cargo clippy --release --locked --workspace --all-targets -- -D warnings 2>&1 | tail -n 30; [ "${PIPESTATUS[0]}" = 0 ] || status=1

step "cargo test"
cargo test --release --locked --workspace 2>&1 | tee tests/artifacts/cargo-test.log | grep -E "^test result|FAILED|panicked|error(\[|:)" ; [ "${PIPESTATUS[0]}" = 0 ] || status=1

if [ -d widget/test ]; then
  step "node --test widget/test"
  node --test widget/test/ || status=1
fi

step "pytest"
python -m pytest tests -q -p no:cacheprovider "$@" || status=1
exit $status
