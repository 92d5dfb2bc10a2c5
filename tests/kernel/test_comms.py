"""Comms end to end: a cell registers a target through the exformer library (in evcxr's child
process); the test opens a comm from the front-end side and round-trips binary buffers."""
import os
import uuid

from jupyter_helpers import collect_iopub, run_cell

REGISTER_ECHO = r'''
exformer::comm::register_target("exformer.test.echo", |comm, open| {
    let first = open.data.clone();
    comm.on_msg(move |comm, msg| {
        let reply = exformer::serde_json::json!({"echo": msg.data, "open_data": first, "n_buffers": msg.buffers.len()});
        comm.send(reply, msg.buffers).unwrap();
    });
}).unwrap();
'''


def send_shell(kc, msg_type, content, buffers=None):
    msg = kc.session.msg(msg_type, content)
    kc.session.send(kc.shell_channel.socket, msg, buffers=buffers or [])
    return msg["header"]["msg_id"]


def test_comm_round_trip_with_binary_buffers(kernel):
    km, kc = kernel
    reply, _ = run_cell(kc, REGISTER_ECHO)
    assert reply["content"]["status"] == "ok", reply["content"]

    comm_id = uuid.uuid4().hex
    open_id = send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": "exformer.test.echo", "data": {"hello": 1}})
    opened = collect_iopub(kc, open_id)
    assert [m["msg_type"] for m in opened][0] == "status"

    # comm_info lists it under its target.
    info_id = kc.comm_info(target_name="exformer.test.echo")
    info = kc.get_shell_msg(timeout=30)
    assert info["parent_header"]["msg_id"] == info_id
    assert comm_id in info["content"]["comms"]

    payload = bytes(range(256)) * 300 + b"\x00end"
    small = b"\xff\x00\x7f"
    msg_id = send_shell(kc, "comm_msg", {"comm_id": comm_id, "data": {"layer": 3, "text": "héllo"}}, [payload, small])
    msgs = collect_iopub(kc, msg_id)
    kinds = [m["msg_type"] for m in msgs]
    assert kinds[0] == "status" and msgs[0]["content"]["execution_state"] == "busy", kinds
    assert kinds[-1] == "status" and msgs[-1]["content"]["execution_state"] == "idle", kinds
    echoes = [m for m in msgs if m["msg_type"] == "comm_msg"]
    assert len(echoes) == 1, kinds
    echo = echoes[0]
    assert echo["parent_header"]["msg_id"] == msg_id
    assert echo["content"]["comm_id"] == comm_id
    assert echo["content"]["data"]["echo"] == {"layer": 3, "text": "héllo"}
    assert echo["content"]["data"]["open_data"] == {"hello": 1}
    assert echo["content"]["data"]["n_buffers"] == 2
    assert [bytes(b) for b in echo["buffers"]] == [payload, small]

    # Closing from the front end removes it.
    close_id = send_shell(kc, "comm_close", {"comm_id": comm_id, "data": {}})
    collect_iopub(kc, close_id)
    kc.comm_info(target_name="exformer.test.echo")
    info = kc.get_shell_msg(timeout=30)
    assert comm_id not in info["content"]["comms"]


def test_unknown_target_is_closed(kernel):
    km, kc = kernel
    comm_id = uuid.uuid4().hex
    open_id = send_shell(kc, "comm_open", {"comm_id": comm_id, "target_name": "no.such.target", "data": {}})
    msgs = collect_iopub(kc, open_id)
    closes = [m for m in msgs if m["msg_type"] == "comm_close"]
    assert len(closes) == 1 and closes[0]["content"]["comm_id"] == comm_id


def test_kernel_opened_comm_and_display_from_cell(kernel):
    km, kc = kernel
    code = r'''
let c = exformer::comm::Comm::open("exformer.test.kernel_side", exformer::serde_json::json!({"state": {"x": 1}}), exformer::serde_json::json!({"version": "2.1.0"}), vec![vec![9u8, 8, 7]]).unwrap();
c.send(exformer::serde_json::json!({"method": "custom"}), vec![vec![1u8; 10]]).unwrap();
println!("opened {}", c.id());
'''
    reply, msgs = run_cell(kc, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    kinds = [m["msg_type"] for m in msgs]
    opens = [m for m in msgs if m["msg_type"] == "comm_open"]
    assert len(opens) == 1, kinds
    o = opens[0]
    assert o["content"]["target_name"] == "exformer.test.kernel_side"
    assert o["content"]["data"] == {"state": {"x": 1}}
    assert o["metadata"] == {"version": "2.1.0"}
    assert [bytes(b) for b in o["buffers"]] == [bytes([9, 8, 7])]
    sends = [m for m in msgs if m["msg_type"] == "comm_msg"]
    assert len(sends) == 1 and [bytes(b) for b in sends[0]["buffers"]] == [bytes([1] * 10)]
    # Everything arrives inside busy/idle and before idle.
    assert kinds.index("comm_open") < kinds.index("comm_msg") < len(kinds) - 1
    streams = "".join(m["content"]["text"] for m in msgs if m["msg_type"] == "stream")
    assert o["content"]["comm_id"] in streams
