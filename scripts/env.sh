# Source this before any cargo, python or test command in this repository:
#   . scripts/env.sh
# Every cargo invocation must see the same libtorch variables, or torch-sys rebuilds from scratch.
_exf_root="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export EXFORMER_ROOT="$_exf_root"
export EXFORMER_VENV="${EXFORMER_VENV:-$_exf_root/.venv}"
export PATH="$EXFORMER_VENV/bin:$HOME/.cargo/bin:$PATH"
export LIBTORCH_USE_PYTORCH=1
_exf_torch_lib="$(ls -d "$EXFORMER_VENV"/lib/python3*/site-packages/torch/lib 2>/dev/null | head -n1 || true)"
if [ -n "$_exf_torch_lib" ]; then
  export EXFORMER_TORCH_LIB="$_exf_torch_lib"
  export LD_LIBRARY_PATH="$_exf_torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
export EXFORMER_BIN="${EXFORMER_BIN:-$_exf_root/target/release/exformer}"
unset _exf_root _exf_torch_lib
