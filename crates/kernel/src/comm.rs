//! The comm manager: which comm ids are open, which targets exist, and who serves them.
//!
//! Targets are registered by code in evcxr's child process (through the bridge); the kernel
//! itself serves none, so a front end opening a comm for an unknown target gets a comm_close.

use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommEntry {
    pub target_name: String,
}

#[derive(Default)]
pub struct CommManager {
    comms: HashMap<String, CommEntry>,
    targets: HashSet<String>,
}

impl CommManager {
    pub fn register_target(&mut self, name: &str) {
        self.targets.insert(name.to_string());
    }

    pub fn unregister_target(&mut self, name: &str) {
        self.targets.remove(name);
    }

    pub fn has_target(&self, name: &str) -> bool {
        self.targets.contains(name)
    }

    pub fn open(&mut self, comm_id: &str, target_name: &str) {
        self.comms.insert(
            comm_id.to_string(),
            CommEntry {
                target_name: target_name.to_string(),
            },
        );
    }

    pub fn close(&mut self, comm_id: &str) -> Option<CommEntry> {
        self.comms.remove(comm_id)
    }

    pub fn get(&self, comm_id: &str) -> Option<&CommEntry> {
        self.comms.get(comm_id)
    }

    /// The child went away: forget its targets and comms, returning the comm ids to close.
    pub fn drop_child(&mut self) -> Vec<String> {
        self.targets.clear();
        let ids: Vec<String> = self.comms.keys().cloned().collect();
        self.comms.clear();
        ids
    }

    /// The `comms` map of a comm_info_reply, optionally filtered by target.
    pub fn info(&self, target_name: Option<&str>) -> Value {
        let mut m = Map::new();
        for (id, e) in &self.comms {
            if target_name.is_none_or(|t| t == e.target_name) {
                m.insert(id.clone(), json!({ "target_name": e.target_name }));
            }
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_info_close() {
        let mut c = CommManager::default();
        c.register_target("t");
        assert!(c.has_target("t") && !c.has_target("u"));
        c.open("a", "t");
        c.open("b", "u");
        assert_eq!(c.info(None).as_object().unwrap().len(), 2);
        assert_eq!(c.info(Some("t")), json!({"a": {"target_name": "t"}}));
        assert_eq!(c.close("a").unwrap().target_name, "t");
        assert!(c.get("a").is_none());
        assert_eq!(c.drop_child(), vec!["b".to_string()]);
        assert!(!c.has_target("t"));
    }
}
