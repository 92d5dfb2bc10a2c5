//! The Jupyter wire format: ZeroMQ identities, the `<IDS|MSG>` delimiter, an HMAC-SHA256
//! signature over the four JSON frames, then binary buffers.
//!
//! Incoming messages are verified against the raw bytes received (never re-serialised JSON);
//! content stays a `serde_json::Value` until a handler asks for its typed form, so a malformed
//! content of one message type cannot take down the socket loop.

use bytes::Bytes;
use chrono::Utc;
use hmac::{Hmac, Mac};
use jupyter_protocol::Header;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;

pub const DELIMITER: &[u8] = b"<IDS|MSG>";
pub const PROTOCOL_VERSION: &str = "5.4";

/// Why an incoming multipart message was refused.
#[derive(Debug, PartialEq)]
pub enum WireError {
    NoDelimiter,
    TooFewFrames(usize),
    BadSignature,
    BadJson(&'static str, String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::NoDelimiter => write!(f, "no <IDS|MSG> delimiter"),
            WireError::TooFewFrames(n) => write!(f, "{n} frames after the delimiter (need 5)"),
            WireError::BadSignature => write!(f, "HMAC signature does not match"),
            WireError::BadJson(part, e) => write!(f, "{part} is not valid: {e}"),
        }
    }
}

/// Signs and verifies with the connection file's key (an empty key disables signing).
#[derive(Clone)]
pub struct Signer {
    key: Option<Vec<u8>>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        Signer {
            key: (!key.is_empty()).then(|| key.as_bytes().to_vec()),
        }
    }

    pub fn sign(&self, parts: [&[u8]; 4]) -> String {
        match &self.key {
            None => String::new(),
            Some(key) => {
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
                for p in parts {
                    mac.update(p);
                }
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// Constant-time check of a hex signature.
    pub fn verify(&self, signature: &[u8], parts: [&[u8]; 4]) -> bool {
        let Some(key) = &self.key else { return true };
        let Ok(expected) = hex::decode(signature) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(&expected).is_ok()
    }
}

/// One Jupyter message with its routing identities and buffers.
#[derive(Debug, Clone)]
pub struct Message {
    pub identities: Vec<Bytes>,
    pub header: Header,
    pub parent_header: Option<Header>,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// A new message; with a parent it inherits the parent's session and routing identities.
    pub fn new(msg_type: &str, content: Value, parent: Option<&Message>, session: &str) -> Message {
        Message {
            identities: parent.map(|p| p.identities.clone()).unwrap_or_default(),
            header: new_header(msg_type, session),
            parent_header: parent.map(|p| p.header.clone()),
            metadata: json!({}),
            content,
            buffers: Vec::new(),
        }
    }

    pub fn msg_type(&self) -> &str {
        &self.header.msg_type
    }

    /// Deserialise the content into a typed request (a jupyter-protocol struct).
    pub fn content_as<T: for<'de> serde::Deserialize<'de>>(&self) -> Result<T, String> {
        serde_json::from_value(self.content.clone())
            .map_err(|e| format!("malformed {} content: {e}", self.header.msg_type))
    }

    /// Parse a multipart message received on a ROUTER socket (identities first).
    pub fn from_frames(frames: Vec<Bytes>, signer: &Signer) -> Result<Message, WireError> {
        let split = frames
            .iter()
            .position(|f| f.as_ref() == DELIMITER)
            .ok_or(WireError::NoDelimiter)?;
        let rest = &frames[split + 1..];
        if rest.len() < 5 {
            return Err(WireError::TooFewFrames(rest.len()));
        }
        if !signer.verify(&rest[0], [&rest[1], &rest[2], &rest[3], &rest[4]]) {
            return Err(WireError::BadSignature);
        }
        let header: Header = serde_json::from_slice(&rest[1])
            .map_err(|e| WireError::BadJson("header", e.to_string()))?;
        let parent: Value = serde_json::from_slice(&rest[2])
            .map_err(|e| WireError::BadJson("parent_header", e.to_string()))?;
        let parent_header = match parent {
            Value::Object(ref m) if m.is_empty() => None,
            Value::Null => None,
            v => serde_json::from_value(v).ok(),
        };
        let metadata = serde_json::from_slice(&rest[3])
            .map_err(|e| WireError::BadJson("metadata", e.to_string()))?;
        let content: Value = serde_json::from_slice(&rest[4])
            .map_err(|e| WireError::BadJson("content", e.to_string()))?;
        if !content.is_object() {
            return Err(WireError::BadJson("content", "not a JSON object".into()));
        }
        Ok(Message {
            identities: frames[..split].to_vec(),
            header,
            parent_header,
            metadata,
            content,
            buffers: rest[5..].to_vec(),
        })
    }

    /// Serialise to frames: identities, delimiter, signature, four JSON frames, buffers.
    pub fn to_frames(&self, signer: &Signer) -> Vec<Bytes> {
        let header = to_json(&self.header);
        let parent = match &self.parent_header {
            Some(p) => to_json(p),
            None => b"{}".to_vec(),
        };
        let metadata = to_json(&self.metadata);
        let content = to_json(&self.content);
        let signature = signer.sign([&header, &parent, &metadata, &content]);
        let mut frames = self.identities.clone();
        frames.push(Bytes::from_static(DELIMITER));
        frames.push(Bytes::from(signature.into_bytes()));
        frames.push(Bytes::from(header));
        frames.push(Bytes::from(parent));
        frames.push(Bytes::from(metadata));
        frames.push(Bytes::from(content));
        frames.extend(self.buffers.iter().cloned());
        frames
    }
}

pub fn new_header(msg_type: &str, session: &str) -> Header {
    Header {
        msg_id: uuid::Uuid::new_v4().to_string(),
        username: "exformer".to_string(),
        session: session.to_string(),
        date: Utc::now(),
        msg_type: msg_type.to_string(),
        version: PROTOCOL_VERSION.to_string(),
    }
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON values always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(signer: &Signer) -> Vec<Bytes> {
        let parent = Message::new("execute_request", json!({"code": "1"}), None, "s1");
        let mut m = Message::new(
            "comm_msg",
            json!({"comm_id": "c", "data": {}}),
            Some(&parent),
            "s1",
        );
        m.identities = vec![Bytes::from_static(b"id-a"), Bytes::from_static(b"id-b")];
        m.buffers = vec![Bytes::from_static(&[0, 1, 2, 254, 255]), Bytes::new()];
        m.to_frames(signer)
    }

    #[test]
    fn round_trip_keeps_identities_parent_and_buffers() {
        let signer = Signer::new("secret-key");
        let frames = sample(&signer);
        assert_eq!(frames[2].as_ref(), DELIMITER);
        assert_eq!(frames[3].len(), 64, "hex SHA-256");
        let m = Message::from_frames(frames, &signer).unwrap();
        assert_eq!(
            m.identities,
            vec![Bytes::from_static(b"id-a"), Bytes::from_static(b"id-b")]
        );
        assert_eq!(m.msg_type(), "comm_msg");
        assert_eq!(
            m.parent_header.as_ref().unwrap().msg_type,
            "execute_request"
        );
        assert_eq!(
            m.buffers,
            vec![Bytes::from_static(&[0, 1, 2, 254, 255]), Bytes::new()]
        );
        assert_eq!(m.content["comm_id"], "c");
    }

    #[test]
    fn hmac_matches_python_reference_construction() {
        // hmac.new(b"k", b"a" + b"b" + b"c" + b"d", hashlib.sha256).hexdigest()
        let s = Signer::new("k");
        let sig = s.sign([b"a", b"b", b"c", b"d"]);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap();
        mac.update(b"abcd");
        assert_eq!(sig, hex::encode(mac.finalize().into_bytes()));
        assert!(s.verify(sig.as_bytes(), [b"a", b"b", b"c", b"d"]));
        assert!(!s.verify(sig.as_bytes(), [b"a", b"b", b"c", b"e"]));
        assert!(!s.verify(b"zz", [b"a", b"b", b"c", b"d"]));
    }

    #[test]
    fn forged_and_unsigned_messages_are_rejected() {
        let signer = Signer::new("secret-key");
        let mut frames = sample(&signer);
        // Tamper with the content after signing.
        let n = frames.len();
        frames[n - 3] = Bytes::from_static(br#"{"comm_id":"evil","data":{}}"#);
        assert_eq!(
            Message::from_frames(frames, &signer).unwrap_err(),
            WireError::BadSignature
        );
        // Signed with another key.
        let frames = sample(&Signer::new("other"));
        assert_eq!(
            Message::from_frames(frames, &signer).unwrap_err(),
            WireError::BadSignature
        );
        // Unsigned.
        let frames = sample(&Signer::new(""));
        assert_eq!(
            Message::from_frames(frames, &signer).unwrap_err(),
            WireError::BadSignature
        );
        // Without a key, anything well-formed passes.
        assert!(Message::from_frames(sample(&signer), &Signer::new("")).is_ok());
    }

    #[test]
    fn garbage_frames_are_errors_not_panics() {
        let signer = Signer::new("k");
        assert_eq!(
            Message::from_frames(vec![Bytes::from_static(b"junk")], &signer).unwrap_err(),
            WireError::NoDelimiter
        );
        let short = vec![Bytes::from_static(DELIMITER), Bytes::from_static(b"sig")];
        assert_eq!(
            Message::from_frames(short, &signer).unwrap_err(),
            WireError::TooFewFrames(1)
        );
        let unsigned = Signer::new("");
        let bad_json: Vec<Bytes> = [DELIMITER, b"", b"{not json", b"{}", b"{}", b"{}"]
            .iter()
            .map(|f| Bytes::copy_from_slice(f))
            .collect();
        assert!(matches!(
            Message::from_frames(bad_json, &unsigned),
            Err(WireError::BadJson("header", _))
        ));
        let header = serde_json::to_vec(&new_header("kernel_info_request", "s")).unwrap();
        let not_object: Vec<Bytes> = vec![
            Bytes::from_static(DELIMITER),
            Bytes::new(),
            Bytes::from(header),
            Bytes::from_static(b"{}"),
            Bytes::from_static(b"{}"),
            Bytes::from_static(b"[1,2]"),
        ];
        assert!(matches!(
            Message::from_frames(not_object, &unsigned),
            Err(WireError::BadJson("content", _))
        ));
    }
}
