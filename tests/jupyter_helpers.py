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


def cell_value(kc, code, timeout=120):
    """The text/plain of a cell's result (the cell must succeed)."""
    reply, msgs = run_cell(kc, code, timeout)
    assert reply["content"]["status"] == "ok", reply["content"]
    return [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"]


def rss_parts_mb(kc):
    """(heap and other anonymous memory, file-backed pages) of the cell process, in MB. evcxr loads
    every cell as a shared object that links the library statically: the code pages it touches are
    file-backed (clean, the system reclaims them under pressure); leaks show in the anonymous part."""
    text = cell_value(kc, 'std::fs::read_to_string("/proc/self/status")?.lines().filter(|l| l.starts_with("RssAnon") || l.starts_with("RssFile")).map(|l| l.split_whitespace().nth(1).unwrap_or("0")).collect::<Vec<_>>().join(" ")')
    anon, file = (int(x) / 1024 for x in text.strip('"').split())
    return anon, file
