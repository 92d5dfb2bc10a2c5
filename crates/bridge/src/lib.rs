//! The private channel between the exformer kernel and code running in evcxr's child process.
//!
//! Cells run in a child process that evcxr spawns, so a widget made in a cell cannot reach the
//! kernel's ZeroMQ sockets. The kernel listens on a Unix socket whose path it puts in
//! [`ENV_SOCKET`] (with a shared secret in [`ENV_KEY`]); the `exformer` library connects to it
//! and speaks the frames below. The kernel turns child frames into Jupyter messages (comm_open,
//! comm_msg, display_data, ...) and forwards the front end's comm traffic to the child.
//!
//! # Frame
//! `u32 json_len | json | u32 n_buffers | (u32 len | bytes) * n_buffers`, all integers
//! big-endian. The JSON is a [`ToKernel`] or [`ToChild`] value.
//!
//! # Parenting
//! Every message the kernel forwards to the child carries a `token`. Anything the child sends
//! while handling it carries that token back as `parent`, so the kernel parents the resulting
//! Jupyter messages to the front-end message that caused them. Messages with no parent are
//! parented to the request the kernel is currently serving (usually the executing cell).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, Read, Write};

/// Environment variable holding the path of the kernel's bridge socket.
pub const ENV_SOCKET: &str = "EXFORMER_BRIDGE";
/// Environment variable holding the secret the child must present in [`ToKernel::Hello`].
pub const ENV_KEY: &str = "EXFORMER_BRIDGE_KEY";
/// Environment variable with the log filter (`warn`, `debug`, `exformer_engine=debug,info`: the
/// `tracing_subscriber` "targets" syntax). Unset: warnings and errors only; cells log nothing.
pub const ENV_LOG: &str = "EXFORMER_LOG";
/// Starts each log line the cell process writes on stderr: the kernel moves such lines into its
/// own log instead of the cell's output.
pub const LOG_MARKER: &str = "\u{1b}]exformer:log\u{7}";
/// Largest JSON part or buffer accepted in one frame (1 GiB).
pub const MAX_PART: u32 = 1 << 30;
/// Most buffers accepted in one frame.
pub const MAX_BUFFERS: u32 = 4096;

/// Frames the child sends to the kernel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToKernel {
    /// First frame on a connection.
    Hello { key: String, pid: u32 },
    /// The child serves comms opened by the front end with this target name.
    RegisterTarget { target_name: String },
    /// The child no longer serves this target.
    UnregisterTarget { target_name: String },
    /// Open a comm from the kernel side (a widget model, say).
    CommOpen {
        comm_id: String,
        target_name: String,
        data: Value,
        #[serde(default)]
        metadata: Value,
        #[serde(default)]
        parent: Option<String>,
    },
    CommMsg {
        comm_id: String,
        data: Value,
        #[serde(default)]
        metadata: Value,
        #[serde(default)]
        parent: Option<String>,
    },
    CommClose {
        comm_id: String,
        #[serde(default)]
        data: Value,
        #[serde(default)]
        parent: Option<String>,
    },
    /// display_data (or update_display_data when `update`) with a MIME bundle.
    Display {
        data: Value,
        #[serde(default)]
        metadata: Value,
        #[serde(default)]
        display_id: Option<String>,
        #[serde(default)]
        update: bool,
        #[serde(default)]
        parent: Option<String>,
    },
    ClearOutput {
        #[serde(default)]
        wait: bool,
        #[serde(default)]
        parent: Option<String>,
    },
    /// Ask the kernel to answer [`ToChild::Flushed`] once everything sent before is published.
    Flush { seq: u64 },
    /// The child finished handling the forwarded message with this token.
    Done {
        token: String,
        #[serde(default)]
        error: Option<String>,
    },
}

/// Frames the kernel sends to the child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToChild {
    /// The front end opened a comm with a target the child registered.
    CommOpen {
        comm_id: String,
        target_name: String,
        data: Value,
        #[serde(default)]
        metadata: Value,
        token: String,
    },
    CommMsg {
        comm_id: String,
        data: Value,
        #[serde(default)]
        metadata: Value,
        token: String,
    },
    CommClose {
        comm_id: String,
        #[serde(default)]
        data: Value,
        token: String,
    },
    /// Everything sent before the matching [`ToKernel::Flush`] has been published.
    Flushed { seq: u64 },
    /// Answer with [`ToKernel::Done`] carrying this token: the kernel then knows that every frame
    /// the child wrote before has arrived (it sends this when a cell finishes, before `idle`).
    Ping { token: String },
}

/// One decoded frame: a message and its binary buffers.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<T> {
    pub msg: T,
    pub buffers: Vec<Vec<u8>>,
}

/// Writes one frame. The caller serialises access to the writer.
pub fn write_frame<W: Write, T: Serialize>(
    w: &mut W,
    msg: &T,
    buffers: &[Vec<u8>],
) -> io::Result<()> {
    let json =
        serde_json::to_vec(msg).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut out =
        Vec::with_capacity(8 + json.len() + buffers.iter().map(|b| b.len() + 4).sum::<usize>());
    push_part(&mut out, &json)?;
    out.extend_from_slice(&u32_len(buffers.len())?.to_be_bytes());
    for b in buffers {
        push_part(&mut out, b)?;
    }
    w.write_all(&out)?;
    w.flush()
}

/// Reads one frame. Returns `Ok(None)` on a clean end of stream before a frame starts.
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(
    r: &mut R,
) -> io::Result<Option<Frame<T>>> {
    let mut len = [0u8; 4];
    // A clean end of stream is only one that comes before the first byte of a frame.
    loop {
        match r.read(&mut len[..1]) {
            Ok(0) => return Ok(None),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    r.read_exact(&mut len[1..])?;
    let json = read_part(r, u32::from_be_bytes(len))?;
    let msg =
        serde_json::from_slice(&json).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut n = [0u8; 4];
    r.read_exact(&mut n)?;
    let n = u32::from_be_bytes(n);
    if n > MAX_BUFFERS {
        return Err(invalid(format!(
            "frame has {n} buffers (max {MAX_BUFFERS})"
        )));
    }
    let mut buffers = Vec::with_capacity(n as usize);
    for _ in 0..n {
        r.read_exact(&mut len)?;
        buffers.push(read_part(r, u32::from_be_bytes(len))?);
    }
    Ok(Some(Frame { msg, buffers }))
}

fn push_part(out: &mut Vec<u8>, part: &[u8]) -> io::Result<()> {
    out.extend_from_slice(&u32_len(part.len())?.to_be_bytes());
    out.extend_from_slice(part);
    Ok(())
}

fn u32_len(n: usize) -> io::Result<u32> {
    match u32::try_from(n) {
        Ok(n) if n <= MAX_PART => Ok(n),
        _ => Err(invalid(format!("frame part of {n} bytes is too large"))),
    }
}

fn read_part<R: Read>(r: &mut R, len: u32) -> io::Result<Vec<u8>> {
    if len > MAX_PART {
        return Err(invalid(format!("frame part of {len} bytes is too large")));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip_with_buffers() {
        let msg = ToKernel::CommMsg {
            comm_id: "c1".into(),
            data: json!({"method": "update", "state": {"layer": 3}}),
            metadata: json!({}),
            parent: Some("t9".into()),
        };
        let buffers = vec![vec![0u8, 1, 2, 255], vec![], vec![7; 70_000]];
        let mut wire = Vec::new();
        write_frame(&mut wire, &msg, &buffers).unwrap();
        write_frame(&mut wire, &ToKernel::Flush { seq: 4 }, &[]).unwrap();
        let mut r = &wire[..];
        let f: Frame<ToKernel> = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(f.msg, msg);
        assert_eq!(f.buffers, buffers);
        let f: Frame<ToKernel> = read_frame(&mut r).unwrap().unwrap();
        assert_eq!(f.msg, ToKernel::Flush { seq: 4 });
        assert!(f.buffers.is_empty());
        assert!(read_frame::<_, ToKernel>(&mut r).unwrap().is_none());
    }

    #[test]
    fn rejects_truncated_and_oversized_frames() {
        let mut wire = Vec::new();
        write_frame(&mut wire, &ToChild::Flushed { seq: 1 }, &[vec![1, 2, 3]]).unwrap();
        for cut in 1..wire.len() {
            let mut r = &wire[..cut];
            assert!(
                read_frame::<_, ToChild>(&mut r).is_err(),
                "cut at {cut} must fail"
            );
        }
        let huge = (MAX_PART + 1).to_be_bytes();
        assert!(read_frame::<_, ToChild>(&mut &huge[..]).is_err());
        let mut garbage = 5u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(b"nope!");
        garbage.extend_from_slice(&0u32.to_be_bytes());
        assert!(read_frame::<_, ToChild>(&mut &garbage[..]).is_err());
    }
}
