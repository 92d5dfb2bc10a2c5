"""Bad input must not hurt the kernel: forged signatures, garbage frames on every socket,
interrupting a runaway cell, stdin, stop_on_error, restart."""
import json
import os
import time

import pytest
import zmq
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import Session

from jupyter_helpers import KERNEL, collect_iopub, run_cell


def ask_kernel_info(kc, timeout=30):
    msg_id = kc.kernel_info()
    while True:
        r = kc.get_shell_msg(timeout=timeout)
        if r["parent_header"].get("msg_id") == msg_id:
            return r


def shell_replies(kc, n, timeout=120):
    """The next n shell replies, by the msg_id they answer."""
    replies = {}
    while len(replies) < n:
        r = kc.get_shell_msg(timeout=timeout)
        replies[r["parent_header"]["msg_id"]] = r
    return replies


def connect(km, kind, sock_type):
    ctx = zmq.Context.instance()
    s = ctx.socket(sock_type)
    s.setsockopt(zmq.LINGER, 0)
    ci = km.get_connection_info()
    s.connect(f"{ci['transport']}://{ci['ip']}:{ci[kind + '_port']}")
    return s


def test_forged_message_is_rejected_and_kernel_survives(kernel):
    km, kc = kernel
    forger = Session(key=b"not-the-key", username="mallory")
    sock = connect(km, "shell", zmq.DEALER)
    forged = forger.msg("execute_request", {"code": 'println!("pwned");', "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})
    forger.send(sock, forged)
    unsigned = Session(key=b"", username="mallory")
    unsigned.send(sock, unsigned.msg("kernel_info_request", {}))
    # Neither gets a reply...
    assert sock.poll(1500) == 0
    sock.close()
    # ...nor runs: no stream carrying "pwned" shows up, and the kernel still answers good requests.
    r = ask_kernel_info(kc)
    assert r["content"]["status"] == "ok"
    reply, msgs = run_cell(kc, 'println!("still alive");')
    assert reply["content"]["status"] == "ok"
    text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "still alive" in text and "pwned" not in text


@pytest.mark.parametrize("kind,sock_type", [
    ("shell", zmq.DEALER), ("control", zmq.DEALER), ("stdin", zmq.DEALER), ("hb", zmq.REQ), ("iopub", zmq.XSUB),
])
def test_garbage_frames_on_every_socket(kernel, kind, sock_type):
    km, kc = kernel
    s = connect(km, kind, sock_type)
    time.sleep(0.2)
    junk = [
        [b"\x00\xff garbage"],
        [b"<IDS|MSG>"],
        [b"<IDS|MSG>", b"sig", b"{not json", b"{}", b"{}", b"{}"],
        [b"<IDS|MSG>", b"", b"[]", b"{}", b"{}", b"{}"],
        [os.urandom(64) for _ in range(9)],
    ]
    for frames in junk:
        if sock_type == zmq.REQ:
            s.send_multipart(frames)
            s.poll(500)  # the heartbeat echoes whatever it gets
            if s.poll(0):
                s.recv_multipart()
            else:
                s.close()
                s = connect(km, kind, sock_type)
        else:
            s.send_multipart(frames)
    s.close()
    time.sleep(0.3)
    assert ask_kernel_info(kc)["content"]["status"] == "ok"
    reply, _ = run_cell(kc, "40 + 2")
    assert reply["content"]["status"] == "ok"


def test_heartbeat_echoes(kernel):
    km, kc = kernel
    s = connect(km, "hb", zmq.REQ)
    s.send(b"ping-123")
    assert s.poll(5000), "no heartbeat reply"
    assert s.recv() == b"ping-123"
    s.close()


def test_interrupt_stops_a_runaway_cell(kernel):
    km, kc = kernel
    run_cell(kc, "let kept_before = 5;")
    msg_id = kc.execute("loop { std::thread::sleep(std::time::Duration::from_millis(5)); }")
    time.sleep(3)
    t0 = time.time()
    km.interrupt_kernel()
    while True:
        r = kc.get_shell_msg(timeout=60)
        if r["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.time() - t0
    assert r["content"]["status"] == "error"
    assert r["content"]["ename"] == "Interrupted"
    assert "lost" in r["content"]["evalue"]
    assert elapsed < 30
    reply, msgs = run_cell(kc, "1 + 1")
    assert reply["content"]["status"] == "ok"
    results = [m for m in msgs if m["msg_type"] == "execute_result"]
    assert results and results[0]["content"]["data"]["text/plain"] == "2"


def test_stdin_input_request(kernel):
    km, kc = kernel
    msg_id = kc.execute(':dep evcxr_input = "1"\nlet name = evcxr_input::get_string("Your name? "); println!("hi {name}");', allow_stdin=True)
    req = kc.get_stdin_msg(timeout=120)
    assert req["msg_type"] == "input_request"
    assert req["content"]["prompt"].startswith("Your name?")
    assert req["parent_header"]["msg_id"] == msg_id
    kc.input("Ada")
    msgs = collect_iopub(kc, msg_id, timeout=120)
    text = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "hi Ada" in text


def test_silent_and_stop_on_error(kernel):
    km, kc = kernel
    # silent: no execute_input, no outputs, count unchanged.
    reply, _ = run_cell(kc, "1")
    count = reply["content"]["execution_count"]
    msg_id = kc.execute('println!("quiet");', silent=True)
    msgs = collect_iopub(kc, msg_id)
    assert not [m for m in msgs if m["msg_type"] in ("stream", "execute_input", "execute_result")]
    reply, _ = run_cell(kc, "2")
    assert reply["content"]["execution_count"] == count + 1
    # stop_on_error aborts the requests queued behind a failure.
    bad = kc.execute("let broken: u8 = \"x\";")
    queued = kc.execute("3")
    replies = shell_replies(kc, 2)
    assert replies[bad]["content"]["status"] == "error"
    assert replies[queued]["content"]["status"] == "aborted"


def test_kernel_info_and_restart():
    km, kc = start_new_kernel(kernel_name=KERNEL, startup_timeout=120)
    try:
        info = ask_kernel_info(kc)["content"]
        assert info["implementation"] == "exformer"
        assert info["language_info"]["name"] == "Rust"
        assert info["protocol_version"].startswith("5.")
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=120)
        reply, msgs = run_cell(kc, "7 * 6")
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not km.is_alive()


def test_question_mark_error_fails_the_cell_and_keeps_state(kernel):
    km, kc = kernel
    run_cell(kc, "let survivor = 41;")
    reply, msgs = run_cell(kc, 'let r: Result<i32, String> = Err("the widget exploded".to_string());\nlet v = r?;\nv')
    assert reply["content"]["status"] == "error"
    assert reply["content"]["evalue"] == "the widget exploded"
    errors = [m for m in msgs if m["msg_type"] == "error"]
    assert len(errors) == 1 and errors[0]["content"]["evalue"] == "the widget exploded"
    streams = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "exformer:user-error" not in streams, "the private marker never reaches the front end"
    reply, msgs = run_cell(kc, "survivor + 1")
    assert [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == "42"
    # A successful cell after it is ok again.
    reply, _ = run_cell(kc, 'eprintln!("just a warning");')
    assert reply["content"]["status"] == "ok"


@pytest.mark.parametrize("code, message", [
    ('panic!("the widget exploded");', "the widget exploded"),
    ("None::<u8>.unwrap();", "called `Option::unwrap()` on a `None` value"),
    ("let v = vec![1, 2, 3];\nlet i = v.len() + 4;\nv[i];", "index out of bounds: the len is 3 but the index is 7"),
])
def test_a_panicking_cell_fails_with_its_message_and_keeps_earlier_state(kernel, code, message):
    km, kc = kernel
    run_cell(kc, "let earlier = vec![40u32, 2];")
    reply, msgs = run_cell(kc, "let defined_here = 5;\n" + code)
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "Panic"
    assert reply["content"]["evalue"] == message
    errors = [m["content"] for m in msgs if m["msg_type"] == "error"]
    assert len(errors) == 1 and errors[0]["evalue"] == message
    tb = errors[0]["traceback"]
    assert len(tb) <= 4 and any(message in line for line in tb), tb
    assert "kept" in tb[-1]
    streams = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "panicked" not in streams and "exformer:panic" not in streams, streams
    assert "stack backtrace" not in streams
    # Variables from earlier cells survive; the panicking cell's own do not.
    reply, msgs = run_cell(kc, "earlier.iter().sum::<u32>()")
    assert [m for m in msgs if m["msg_type"] == "execute_result"][0]["content"]["data"]["text/plain"] == "42"
    reply, _ = run_cell(kc, "defined_here")
    assert reply["content"]["status"] == "error"


def test_stop_on_error_aborts_the_cell_queued_behind_a_panic(kernel):
    km, kc = kernel
    bad = kc.execute('panic!("stop here");')
    queued = kc.execute('println!("must not run");')
    replies = shell_replies(kc, 2)
    assert replies[bad]["content"]["status"] == "error"
    assert replies[bad]["content"]["evalue"] == "stop here"
    assert replies[queued]["content"]["status"] == "aborted"
    reply, _ = run_cell(kc, "1 + 1")
    assert reply["content"]["status"] == "ok"


def test_a_panic_in_another_thread_is_shown_but_does_not_fail_the_cell(kernel):
    km, kc = kernel
    reply, msgs = run_cell(kc, 'let h = std::thread::spawn(|| panic!("worker down"));\nprintln!("joined: {}", h.join().is_err());')
    assert reply["content"]["status"] == "ok"
    streams = "".join(m["content"].get("text", "") for m in msgs if m["msg_type"] == "stream")
    assert "worker down" in streams and "joined: true" in streams


def test_an_aborting_cell_fails_and_the_kernel_recovers(kernel):
    km, kc = kernel
    reply, msgs = run_cell(kc, "std::process::abort();")
    assert reply["content"]["status"] == "error"
    reply, _ = run_cell(kc, "2 + 2")
    assert reply["content"]["status"] == "ok"
