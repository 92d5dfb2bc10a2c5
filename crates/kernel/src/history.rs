//! Execution history for history_request: tail, range and glob search, kept across kernel
//! sessions in a JSON-lines file (one line per executed cell).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub session: i64,
    pub line: i64,
    pub input: String,
    pub output: Option<String>,
}

pub struct History {
    entries: Vec<Entry>,
    session: i64,
    path: Option<PathBuf>,
}

impl History {
    /// Loads earlier sessions from `path` (if readable) and starts a new session.
    pub fn open(path: Option<PathBuf>) -> History {
        let mut entries: Vec<Entry> = Vec::new();
        if let Some(p) = &path {
            if let Ok(text) = std::fs::read_to_string(p) {
                entries = text
                    .lines()
                    .filter_map(|l| serde_json::from_str(l).ok())
                    .collect();
            }
        }
        let session = entries.iter().map(|e| e.session).max().unwrap_or(0) + 1;
        // Keep the file bounded.
        if entries.len() > 10_000 {
            entries.drain(..entries.len() - 10_000);
        }
        History {
            entries,
            session,
            path,
        }
    }

    #[cfg(test)]
    pub fn session(&self) -> i64 {
        self.session
    }

    pub fn record(&mut self, line: i64, input: &str, output: Option<String>) {
        let e = Entry {
            session: self.session,
            line,
            input: input.to_string(),
            output,
        };
        if let Some(p) = &self.path {
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
            {
                let _ = writeln!(f, "{}", serde_json::to_string(&e).unwrap_or_default());
            }
        }
        self.entries.push(e);
    }

    fn render(e: &Entry, output: bool) -> Value {
        if output {
            json!([e.session, e.line, [e.input, e.output]])
        } else {
            json!([e.session, e.line, e.input])
        }
    }

    /// Answers a history_request's content with the `history` list.
    pub fn query(&self, req: &Value) -> Vec<Value> {
        let output = req["output"].as_bool().unwrap_or(false);
        let n = req["n"].as_i64().filter(|n| *n > 0).map(|n| n as usize);
        let picked: Vec<&Entry> = match req["hist_access_type"].as_str().unwrap_or("tail") {
            "range" => {
                let mut session = req["session"].as_i64().unwrap_or(0);
                if session <= 0 {
                    session += self.session;
                }
                let start = req["start"].as_i64().unwrap_or(0);
                let stop = req["stop"].as_i64().filter(|s| *s > 0).unwrap_or(i64::MAX);
                self.entries
                    .iter()
                    .filter(|e| e.session == session && e.line >= start && e.line < stop)
                    .collect()
            }
            "search" => {
                let pattern = req["pattern"].as_str().unwrap_or("*");
                let unique = req["unique"].as_bool().unwrap_or(false);
                let mut hits: Vec<&Entry> = self
                    .entries
                    .iter()
                    .filter(|e| glob(pattern, &e.input))
                    .collect();
                if unique {
                    let mut seen = std::collections::HashSet::new();
                    let mut kept: Vec<&Entry> = hits
                        .iter()
                        .rev()
                        .filter(|e| seen.insert(e.input.as_str()))
                        .copied()
                        .collect();
                    kept.reverse();
                    hits = kept;
                }
                last_n(hits, n)
            }
            _ => last_n(self.entries.iter().collect(), n.or(Some(10))),
        };
        picked
            .into_iter()
            .map(|e| Self::render(e, output))
            .collect()
    }
}

fn last_n(v: Vec<&Entry>, n: Option<usize>) -> Vec<&Entry> {
    match n {
        Some(n) if v.len() > n => v[v.len() - n..].to_vec(),
        _ => v,
    }
}

/// Glob match with `*` and `?` (as IPython's history search).
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_works() {
        assert!(glob("1?2*", "1+2"));
        assert!(
            glob("6 *", "6 * 7"),
            "a * in the text must not eat the wildcard"
        );
        assert!(glob("*", ""));
        assert!(glob("a*c", "abbbc"));
        assert!(!glob("a?c", "ac"));
    }

    #[test]
    fn tail_range_search() {
        let mut h = History::open(None);
        for (i, c) in ["1+2", "3*4", "1+2"].iter().enumerate() {
            h.record(i as i64 + 1, c, Some(format!("out{i}")));
        }
        let s = h.session();
        assert_eq!(
            h.query(&json!({"hist_access_type": "tail", "n": 2})).len(),
            2
        );
        let r = h.query(&json!({"hist_access_type": "range", "session": s, "start": 2, "stop": 3}));
        assert_eq!(r, vec![json!([s, 2, "3*4"])]);
        assert_eq!(
            h.query(&json!({"hist_access_type": "search", "pattern": "1?2*"}))
                .len(),
            2
        );
        assert_eq!(
            h.query(&json!({"hist_access_type": "search", "pattern": "1?2*", "unique": true}))
                .len(),
            1
        );
        let o = h.query(&json!({"hist_access_type": "tail", "n": 1, "output": true}));
        assert_eq!(o[0][2], json!(["1+2", "out2"]));
    }
}
