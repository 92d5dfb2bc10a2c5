//! [`Publisher`]: what the core, the comm manager and running cells publish on iopub.

use crate::wire::Message;
use bytes::Bytes;
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Publishes on iopub: messages queued here are sent in order by the server.
#[derive(Clone)]
pub struct Publisher {
    iopub: mpsc::UnboundedSender<Message>,
    session: String,
}

impl Publisher {
    pub fn new(iopub: mpsc::UnboundedSender<Message>, session: String) -> Self {
        Publisher { iopub, session }
    }

    pub fn session(&self) -> &str {
        &self.session
    }

    pub fn publish(&self, msg_type: &str, content: Value, parent: Option<&Message>) {
        self.publish_with(msg_type, content, parent, json!({}), Vec::new());
    }

    pub fn publish_with(
        &self,
        msg_type: &str,
        content: Value,
        parent: Option<&Message>,
        metadata: Value,
        buffers: Vec<Bytes>,
    ) {
        let mut m = Message::new(msg_type, content, parent, &self.session);
        m.identities.clear();
        m.metadata = metadata;
        m.buffers = buffers;
        let _ = self.iopub.send(m);
    }

    pub fn status(&self, state: &str, parent: Option<&Message>) {
        self.publish("status", json!({ "execution_state": state }), parent);
    }

    /// display_data, or update_display_data for an existing display id.
    pub fn display(
        &self,
        data: Value,
        metadata: Value,
        display_id: Option<String>,
        update: bool,
        parent: Option<&Message>,
    ) {
        let transient = display_id
            .map(|d| json!({"display_id": d}))
            .unwrap_or(json!({}));
        let msg_type = if update {
            "update_display_data"
        } else {
            "display_data"
        };
        self.publish(
            msg_type,
            json!({"data": data, "metadata": metadata, "transient": transient}),
            parent,
        );
    }
}
