"""Helpers for tests that talk to the real exformer kernel over its sockets."""
import queue
import time

KERNEL = "exformer"


def run_cell(kc, code, timeout=120):
    """Execute and collect (reply, iopub messages parented to the request, including status)."""
    msg_id = kc.execute(code)
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    msgs = collect_iopub(kc, msg_id, timeout)
    return reply, msgs


def collect_iopub(kc, msg_id, timeout=60):
    """All iopub messages parented to msg_id up to and including its idle status."""
    out = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            m = kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        out.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return out
    raise AssertionError(f"no idle for {msg_id}; got {[x['msg_type'] for x in out]}")
