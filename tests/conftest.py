import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Kernels started by the tests keep their execution history apart from the user's
# (~/.local/share/exformer/history.jsonl is shared by every kernel on the machine).
# A view that no front end shows frees its tensors after this many seconds (20 for users).
os.environ.setdefault("EXFORMER_RELEASE_AFTER_S", "1")
os.environ["EXFORMER_HISTORY"] = os.path.join(tempfile.mkdtemp(prefix="exformer-test-history-"), "history.jsonl")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jupyter_helpers import KERNEL  # noqa: E402


@pytest.fixture(scope="module")
def kernel():
    """One exformer kernel per test module, over real sockets."""
    from jupyter_client.manager import start_new_kernel

    t0 = time.time()
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=300)
    kc.startup_seconds = time.time() - t0
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)
