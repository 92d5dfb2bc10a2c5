//! Tokenization: tokenizer.json (or any `tokenizers::Tokenizer`), specials, byte offsets, sentence pairs,
//! and the display text of a piece.

use crate::analysis::{Input, Token};
use crate::error::{EngineError, Result};
use std::collections::HashMap;
use std::path::Path;

/// How raw vocabulary pieces become display text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayMode {
    /// Pieces are shown as stored ("##ing" kept).
    Raw,
    /// GPT-2 byte-level BPE: "Ġ" is a space, bytes are decoded.
    ByteLevel,
    /// SentencePiece: "▁" is a space, "<0x0A>" byte pieces are decoded.
    Metaspace,
}

/// A tokenizer plus what the engine needs around it.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    display: DisplayMode,
    byte_decoder: HashMap<char, u8>,
    mask: Option<(String, u32)>,
    /// Contents of added tokens (shown verbatim).
    added: std::collections::HashSet<String>,
}

/// The encoded input.
#[derive(Debug, Clone)]
pub(crate) struct Encoded {
    pub ids: Vec<i64>,
    pub type_ids: Vec<i64>,
    pub tokens: Vec<Token>,
}

fn tok_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Tokenizer(e.to_string())
}

/// GPT-2's printable-character map, inverted: char -> byte.
fn byte_level_decoder() -> HashMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    bs.into_iter()
        .zip(cs)
        .filter_map(|(b, c)| char::from_u32(c).map(|c| (c, b as u8)))
        .collect()
}

impl TextTokenizer {
    /// Reads a tokenizer.json.
    pub fn from_file(path: &Path) -> Result<Self> {
        if !path.is_file() {
            return Err(EngineError::MissingFile(path.to_path_buf()));
        }
        let t = tokenizers::Tokenizer::from_file(path).map_err(|e| {
            EngineError::Tokenizer(format!("{} could not be read: {e}", path.display()))
        })?;
        Self::from_tokenizer(t)
    }

    /// The tokenizer of a Hugging Face folder: tokenizer.json, else a WordPiece vocab.txt (BERT-style), else
    /// vocab.json + merges.txt (byte-level BPE, RoBERTa-style). Special tokens and lower-casing come from
    /// tokenizer_config.json / special_tokens_map.json when present.
    pub fn from_hf_dir(dir: &Path) -> Result<Self> {
        let tj = dir.join("tokenizer.json");
        if tj.is_file() {
            return Self::from_file(&tj);
        }
        let mut cfg = serde_json::Map::new();
        for f in ["special_tokens_map.json", "tokenizer_config.json"] {
            if let Ok(text) = std::fs::read_to_string(dir.join(f)) {
                if let Ok(serde_json::Value::Object(m)) =
                    serde_json::from_str::<serde_json::Value>(&text)
                {
                    cfg.extend(m);
                }
            }
        }
        let special = |key: &str, default: &str| -> String {
            match cfg.get(key) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Object(o)) => o
                    .get("content")
                    .and_then(|c| c.as_str())
                    .unwrap_or(default)
                    .to_string(),
                _ => default.to_string(),
            }
        };
        let vocab_txt = dir.join("vocab.txt");
        let (vocab_json, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
        let json = if vocab_txt.is_file() {
            let text = std::fs::read_to_string(&vocab_txt)?;
            let mut vocab = serde_json::Map::new();
            for (i, line) in text.lines().enumerate() {
                let tok = line.trim_end_matches('\r');
                if !tok.is_empty() && !vocab.contains_key(tok) {
                    vocab.insert(tok.to_string(), serde_json::json!(i));
                }
            }
            let names = [
                "pad_token",
                "unk_token",
                "cls_token",
                "sep_token",
                "mask_token",
            ];
            let defaults = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
            let sp: Vec<String> = names
                .iter()
                .zip(defaults)
                .map(|(n, d)| special(n, d))
                .collect();
            let id = |t: &str| vocab.get(t).and_then(|v| v.as_u64());
            let (cls, sep) = (sp[2].clone(), sp[3].clone());
            let (Some(cls_id), Some(sep_id)) = (id(&cls), id(&sep)) else {
                return Err(EngineError::Tokenizer(format!(
                    "{} lacks the {cls} / {sep} tokens",
                    vocab_txt.display()
                )));
            };
            let added: Vec<serde_json::Value> = sp
                .iter()
                .filter_map(|t| id(t).map(|i| serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true})))
                .collect();
            let lower = cfg
                .get("do_lower_case")
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            let strip_accents = cfg
                .get("strip_accents")
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            serde_json::json!({
                "version": "1.0", "truncation": null, "padding": null, "added_tokens": added,
                "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": strip_accents, "lowercase": lower},
                "pre_tokenizer": {"type": "BertPreTokenizer"},
                "post_processor": {"type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": sep, "type_id": 0}}],
                    "pair": [{"SpecialToken": {"id": cls, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": sep, "type_id": 0}},
                             {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": sep, "type_id": 1}}],
                    "special_tokens": {cls.clone(): {"id": cls, "ids": [cls_id], "tokens": [cls]}, sep.clone(): {"id": sep, "ids": [sep_id], "tokens": [sep]}}},
                "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
                "model": {"type": "WordPiece", "unk_token": sp[1], "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab}
            })
        } else if vocab_json.is_file() && merges.is_file() {
            let vocab: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&std::fs::read_to_string(&vocab_json)?).map_err(|e| {
                    EngineError::Tokenizer(format!(
                        "{} is not valid JSON ({e})",
                        vocab_json.display()
                    ))
                })?;
            let merge_list: Vec<String> = std::fs::read_to_string(&merges)?
                .lines()
                .filter(|l| !l.starts_with("#version") && !l.trim().is_empty())
                .map(|l| l.to_string())
                .collect();
            let names = [
                "bos_token",
                "eos_token",
                "unk_token",
                "pad_token",
                "mask_token",
            ];
            let defaults = ["<s>", "</s>", "<unk>", "<pad>", "<mask>"];
            let sp: Vec<String> = names
                .iter()
                .zip(defaults)
                .map(|(n, d)| special(n, d))
                .collect();
            let id = |t: &str| vocab.get(t).and_then(|v| v.as_u64());
            let (Some(bos), Some(eos)) = (id(&sp[0]), id(&sp[1])) else {
                return Err(EngineError::Tokenizer(format!(
                    "{} lacks the {} / {} tokens",
                    vocab_json.display(),
                    sp[0],
                    sp[1]
                )));
            };
            let added: Vec<serde_json::Value> = sp
                .iter()
                .filter_map(|t| id(t).map(|i| serde_json::json!({"id": i, "content": t, "single_word": false, "lstrip": t == &sp[4], "rstrip": false, "normalized": false, "special": true})))
                .collect();
            let add_prefix_space = cfg
                .get("add_prefix_space")
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            serde_json::json!({
                "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
                "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": true, "use_regex": true},
                "post_processor": {"type": "RobertaProcessing", "sep": [sp[1], eos], "cls": [sp[0], bos], "trim_offsets": true, "add_prefix_space": add_prefix_space},
                "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
                "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null, "end_of_word_suffix": null,
                          "fuse_unk": false, "byte_fallback": false, "ignore_merges": false, "vocab": vocab, "merges": merge_list}
            })
        } else {
            return Err(EngineError::MissingFile(tj));
        };
        let t: tokenizers::Tokenizer = serde_json::from_value(json).map_err(|e| {
            EngineError::Tokenizer(format!(
                "could not build a tokenizer from {}: {e}",
                dir.display()
            ))
        })?;
        Self::from_tokenizer(t)
    }

    /// Wraps a tokenizer (truncation and padding are switched off: the engine reports too-long text itself).
    pub fn from_tokenizer(mut t: tokenizers::Tokenizer) -> Result<Self> {
        t.with_truncation(None).map_err(tok_err)?;
        t.with_padding(None);
        let dec = t
            .get_decoder()
            .and_then(|d| serde_json::to_string(d).ok())
            .unwrap_or_default();
        let pre = t
            .get_pre_tokenizer()
            .and_then(|d| serde_json::to_string(d).ok())
            .unwrap_or_default();
        let display = if dec.contains("ByteLevel") || pre.contains("ByteLevel") {
            DisplayMode::ByteLevel
        } else if dec.contains("Metaspace") || dec.contains('▁') || pre.contains("Metaspace") {
            DisplayMode::Metaspace
        } else {
            DisplayMode::Raw
        };
        let mut mask = None;
        let added = t.get_added_tokens_decoder();
        let mut specials: Vec<(u32, String)> = added
            .iter()
            .filter(|(_, a)| a.special)
            .map(|(i, a)| (*i, a.content.clone()))
            .collect();
        specials.sort();
        for want in ["[MASK]", "<mask>", "<MASK>"] {
            if let Some((i, s)) = specials.iter().find(|(_, s)| s == want) {
                mask = Some((s.clone(), *i));
                break;
            }
        }
        if mask.is_none() {
            if let Some((i, s)) = specials
                .iter()
                .find(|(_, s)| s.to_lowercase().contains("mask"))
            {
                mask = Some((s.clone(), *i));
            }
        }
        let added = added.values().map(|a| a.content.clone()).collect();
        Ok(TextTokenizer {
            inner: t,
            display,
            byte_decoder: byte_level_decoder(),
            mask,
            added,
        })
    }

    /// Overrides how pieces are displayed.
    pub fn set_display_mode(&mut self, m: DisplayMode) {
        self.display = m;
    }

    /// The mask token and its id, if the vocabulary has one.
    pub fn mask_token(&self) -> Option<(String, u32)> {
        self.mask.clone()
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The wrapped tokenizer.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }

    /// The display text of a raw vocabulary piece.
    pub fn display_piece(&self, piece: &str) -> String {
        match self.display {
            DisplayMode::Raw => piece.to_string(),
            DisplayMode::ByteLevel => {
                if self.added.contains(piece) {
                    return piece.to_string();
                }
                let bytes: Option<Vec<u8>> = piece
                    .chars()
                    .map(|c| self.byte_decoder.get(&c).copied())
                    .collect();
                match bytes {
                    Some(b) => bytes_for_display(&b),
                    None => piece.to_string(),
                }
            }
            DisplayMode::Metaspace => {
                if piece.len() == 6 && piece.starts_with("<0x") && piece.ends_with('>') {
                    if let Ok(b) = u8::from_str_radix(&piece[3..5], 16) {
                        return bytes_for_display(&[b]);
                    }
                }
                piece.replace('▁', " ")
            }
        }
    }

    /// Display text of a token id.
    pub fn display_id(&self, id: u32) -> String {
        match self.inner.id_to_token(id) {
            Some(p) => self.display_piece(&p),
            None => format!("<{id}>"),
        }
    }

    /// Encodes text (and optional pair) with the tokenizer's special tokens.
    pub(crate) fn encode(&self, input: &Input) -> Result<Encoded> {
        if input.text.trim().is_empty() {
            return Err(EngineError::EmptyText);
        }
        let enc = match &input.text_pair {
            Some(b) => {
                if b.trim().is_empty() {
                    return Err(EngineError::EmptyText);
                }
                self.inner.encode((input.text.as_str(), b.as_str()), true)
            }
            None => self.inner.encode(input.text.as_str(), true),
        }
        .map_err(tok_err)?;
        let ids: Vec<i64> = enc.get_ids().iter().map(|&i| i as i64).collect();
        let type_ids: Vec<i64> = enc.get_type_ids().iter().map(|&i| i as i64).collect();
        let seq = enc.get_sequence_ids();
        let special = enc.get_special_tokens_mask();
        let offsets = enc.get_offsets();
        let pieces = enc.get_tokens();
        let mut tokens = Vec::with_capacity(ids.len());
        let mut seen_b = false;
        for (i, &id) in ids.iter().enumerate() {
            let is_special = special.get(i).copied().unwrap_or(0) == 1;
            let segment = match seq.get(i).copied().flatten() {
                Some(s) => {
                    seen_b |= s == 1;
                    s.min(1) as u8
                }
                None => {
                    if seen_b {
                        1
                    } else {
                        type_ids.get(i).copied().unwrap_or(0).clamp(0, 1) as u8
                    }
                }
            };
            let (start, end) = if is_special {
                (0, 0)
            } else {
                offsets.get(i).copied().unwrap_or((0, 0))
            };
            let text = match pieces.get(i) {
                Some(p) => self.display_piece(p),
                None => self.display_id(id as u32),
            };
            tokens.push(Token {
                id: id as u32,
                text,
                start,
                end,
                special: is_special,
                segment,
                masked: false,
                knocked_out: false,
            });
        }
        Ok(Encoded {
            ids,
            type_ids,
            tokens,
        })
    }
}

/// A token's bytes as text. Byte-level tokenizers split characters (emoji, most non-Latin
/// scripts) across tokens; a byte that is not part of a whole character in this token is shown as
/// `<0xF0>` instead of a replacement character, so split tokens stay distinguishable.
pub fn bytes_for_display(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("<0x{b:02X}>"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_show_their_bytes() {
        assert_eq!(bytes_for_display("שלום".as_bytes()), "שלום");
        let smile = "😀".as_bytes();
        assert_eq!(bytes_for_display(&smile[..2]), "<0xF0><0x9F>");
        assert_eq!(bytes_for_display(&smile[2..]), "<0x98><0x80>");
        assert_eq!(bytes_for_display(&[b' ', b'a', smile[0]]), " a<0xF0>");
        assert_eq!(bytes_for_display(b"\n"), "\n");
    }
    #[test]
    fn byte_level_table() {
        let d = byte_level_decoder();
        assert_eq!(d.len(), 256);
        assert_eq!(d[&'Ġ'], b' ');
        assert_eq!(d[&'Ċ'], b'\n');
        assert_eq!(d[&'a'], b'a');
    }
}
