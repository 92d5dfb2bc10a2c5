#!/usr/bin/env bash
# Verifies the engine on a CUDA machine with nothing but the release binary and a Python with
# torch 2.11 + transformers (no Rust, no network): random checkpoints made on the spot, HF-eager
# parity on the device, then the long-prompt timing table on the device. Under 5 minutes.
#
#   scripts/gpu_check.sh [--device cuda:0] [--tokens 128 512 2048 8192] [--quick]
#
# Environment: EXFORMER_BIN (default target/release/exformer), PYTHON (default
# /opt/torch/.venv/bin/python, else the project venv's, else python3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${EXFORMER_BIN:-$PWD/target/release/exformer}"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for p in /opt/torch/.venv/bin/python "$PWD/.venv/bin/python" python3; do
    if command -v "$p" >/dev/null 2>&1; then PY="$p"; break; fi
  done
fi
[ -x "$BIN" ] || { echo "gpu_check: $BIN not found (build it where Rust is, then carry it)" >&2; exit 2; }
TORCH_LIB="$("$PY" -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')"
export LD_LIBRARY_PATH="$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "gpu_check: binary $BIN, python $PY, torch lib $TORCH_LIB"
exec timeout 290 "$PY" scripts/gpu_check.py --bin "$BIN" "$@"
