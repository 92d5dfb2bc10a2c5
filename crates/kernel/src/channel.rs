//! The seam between the server and the core: a request as it came off a socket ([`Incoming`]),
//! where a channel's replies go ([`Outbox`]), and which channel a request came in on.

use crate::wire::Message;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where the messages for one channel (shell, control, stdin) go: the server signs and sends
/// them to the identities they carry.
pub trait Outbox: Send + Sync {
    fn send(&self, msg: Message) -> BoxFuture<'_, ()>;
}

/// A request as it came off a socket, with the moment it arrived.
pub struct Incoming {
    pub arrived: Instant,
    pub msg: Message,
}

/// The channel a request came in on: its replies go back the same way. Shell requests are
/// served one at a time, in order, and are the ones stop_on_error aborts; control requests are
/// served as they come, even while a shell request runs.
#[derive(Clone)]
pub struct Channel {
    pub kind: ChannelKind,
    pub out: Arc<dyn Outbox>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChannelKind {
    Shell,
    Control,
}

impl ChannelKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            ChannelKind::Shell => "shell",
            ChannelKind::Control => "control",
        }
    }
}
