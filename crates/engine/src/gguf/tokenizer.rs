//! A `tokenizers::Tokenizer` rebuilt from GGUF metadata.
//!
//! A GGUF carries no `tokenizer.json`: the vocabulary (`tokenizer.ggml.tokens`), the merges, the token
//! types (3 = control, 4 = user defined) and the special ids are metadata. For `tokenizer.ggml.model =
//! "gpt2"` (byte-level BPE) we write the equivalent `tokenizer.json` and load it, choosing the
//! pre-tokenizer split from `tokenizer.ggml.pre` the way llama.cpp does.

use std::collections::HashSet;

use serde_json::{json, Value};

use super::reader::{GgufFile, GgufValue};
use crate::error::{EngineError, Result};

/// GPT-2's byte to printable-character table.
pub fn bytes_to_unicode() -> [char; 256] {
    let mut out = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable = (b'!' as u32..=b'~' as u32).contains(&b)
            || (0xA1..=0xAC).contains(&b)
            || (0xAE..=0xFF).contains(&b);
        out[b as usize] = if printable {
            char::from_u32(b).unwrap()
        } else {
            let c = char::from_u32(256 + n).unwrap();
            n += 1;
            c
        };
    }
    out
}

const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const TEKKEN_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const GPT4O_SPLIT: &str = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

fn byte_level(use_regex: bool) -> Value {
    json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": use_regex})
}

fn split_then_bytes(regex: &str) -> Value {
    json!({"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated", "invert": false},
        byte_level(false),
    ]})
}

/// The pre-tokenizer for a `tokenizer.ggml.pre` value.
pub fn pre_tokenizer_for(pre: Option<&str>) -> Value {
    match pre.unwrap_or("default") {
        // SmolLM: every digit on its own, then GPT-2's split (as in SmolLM2's own tokenizer.json).
        "smollm" => json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            byte_level(true),
        ]}),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "smaug-bpe" | "dbrx" | "pixtral" => {
            split_then_bytes(LLAMA3_SPLIT)
        }
        "qwen2" | "deepseek-r1-qwen" | "megrez" => split_then_bytes(QWEN2_SPLIT),
        "tekken" => split_then_bytes(TEKKEN_SPLIT),
        "gpt-4o" | "llama4" => split_then_bytes(GPT4O_SPLIT),
        // "gpt2", "default" and anything unrecognised: GPT-2's own regex inside ByteLevel.
        _ => byte_level(true),
    }
}

fn str_array<'a>(g: &'a GgufFile, key: &str) -> Result<Vec<&'a str>> {
    let arr = g.get(key).and_then(GgufValue::as_array).ok_or_else(|| {
        EngineError::Tokenizer(format!(
            "the GGUF file has no '{key}' list, so its tokenizer cannot be built"
        ))
    })?;
    arr.iter()
        .map(|v| {
            v.as_str().ok_or_else(|| {
                EngineError::Tokenizer(format!("'{key}' holds something other than strings"))
            })
        })
        .collect()
}

/// What a GGUF says about its special tokens.
#[derive(Debug, Clone, Default)]
pub struct GgufSpecials {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub unk: Option<u32>,
    pub pad: Option<u32>,
    pub add_bos: bool,
    pub add_eos: bool,
}

/// The `tokenizer.json` (as JSON) equivalent to the GGUF's tokenizer metadata.
///
/// - `tokenizer.ggml.model = "gpt2"`: byte-level BPE with the file's merges; the pre-tokenizer split comes
///   from `tokenizer.ggml.pre`.
/// - `"llama"`: SentencePiece BPE (Llama 2, Mistral, TinyLlama...): "▁" for spaces, byte fallback to the
///   `<0xXX>` tokens, merges from the file or, as usual for these files, derived from the token scores
///   (as transformers' `generate_merges` does). BOS is added unless the file says otherwise.
pub fn tokenizer_json(g: &GgufFile) -> Result<(Value, GgufSpecials)> {
    let model = g.get_str("tokenizer.ggml.model").unwrap_or("");
    let spm = match model {
        "gpt2" => false,
        "llama" => true,
        other => {
            return Err(EngineError::Tokenizer(format!(
                "the GGUF tokenizer type '{other}' is not supported (byte-level BPE 'gpt2' and SentencePiece 'llama' are)"
            )))
        }
    };
    let original_tokens = str_array(g, "tokenizer.ggml.tokens")?;
    // Gemma files store whitespace-only pieces as real spaces; the vocabulary spells them with "▁".
    let gemma = spm && matches!(g.architecture(), Some("gemma" | "gemma2" | "gemma3"));
    let respelled: Vec<String> = if gemma {
        original_tokens
            .iter()
            .map(|t| {
                if t.contains(' ') && t.trim().is_empty() {
                    "▁".repeat(t.chars().count())
                } else {
                    t.to_string()
                }
            })
            .collect()
    } else {
        vec![]
    };
    let tokens: Vec<&str> = if gemma {
        respelled.iter().map(|s| s.as_str()).collect()
    } else {
        original_tokens.clone()
    };
    let merges: Vec<&str> = if g.get("tokenizer.ggml.merges").is_some() || !spm {
        str_array(g, "tokenizer.ggml.merges")?
    } else {
        vec![]
    };
    let types: Vec<i64> = match g
        .get("tokenizer.ggml.token_type")
        .and_then(GgufValue::as_array)
    {
        Some(a) => a.iter().map(|v| v.as_i64().unwrap_or(1)).collect(),
        None => vec![],
    };
    let id = |k: &str| -> Result<Option<u32>> {
        match g.get_u64(k) {
            None => Ok(None),
            Some(i) if (i as usize) < tokens.len() => Ok(Some(i as u32)),
            Some(i) => Err(EngineError::Tokenizer(format!(
                "'{k}' is {i}, outside the vocabulary of {}",
                tokens.len()
            ))),
        }
    };
    let specials = GgufSpecials {
        bos: id("tokenizer.ggml.bos_token_id")?,
        eos: id("tokenizer.ggml.eos_token_id")?,
        unk: id("tokenizer.ggml.unknown_token_id")?,
        pad: id("tokenizer.ggml.padding_token_id")?,
        // llama.cpp adds BOS to SentencePiece vocabularies unless told otherwise.
        add_bos: g.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(spm),
        add_eos: g.get_bool("tokenizer.ggml.add_eos_token").unwrap_or(false),
    };

    let table = bytes_to_unicode();
    let alphabet: HashSet<char> = table.iter().copied().collect();
    let spell = |t: &str| -> (String, bool) {
        if spm || t.chars().all(|c| alphabet.contains(&c)) {
            (t.to_string(), true)
        } else {
            (t.bytes().map(|b| table[b as usize]).collect(), false)
        }
    };
    let mut vocab = serde_json::Map::with_capacity(tokens.len());
    let mut in_alphabet = Vec::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let (spelled, ok) = spell(t);
        vocab.insert(spelled, json!(i));
        in_alphabet.push(ok);
    }
    let mut added = vec![];
    for (i, t) in original_tokens.iter().enumerate() {
        let ty = types.get(i).copied().unwrap_or(1);
        // 3 = CONTROL (special), 4 = USER_DEFINED (matched whole, not special); as transformers does, a
        // control token outside the byte-level alphabet is a mislabel and a user-defined token must be
        // spelled as in the vocabulary.
        let keep = match ty {
            3 => in_alphabet[i],
            4 => vocab.contains_key(*t),
            _ => false,
        };
        if keep {
            added.push(json!({"id": i, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                              "normalized": false, "special": ty == 3}));
        }
    }
    let merges: Vec<Value> = if spm && merges.is_empty() {
        let scores: Vec<f64> = match g.get("tokenizer.ggml.scores").and_then(GgufValue::as_array) {
            Some(a) => a.iter().map(|v| v.as_f64().unwrap_or(0.0)).collect(),
            None => {
                return Err(EngineError::Tokenizer(
                    "the GGUF SentencePiece vocabulary has neither merges nor scores, so its tokenizer cannot be built".into(),
                ))
            }
        };
        // Gemma's scores do not follow its merge order; the position of each token does.
        let scores = if gemma {
            (0..tokens.len()).map(|i| -(i as f64)).collect()
        } else {
            scores
        };
        derive_merges(&tokens, &scores)
            .into_iter()
            .map(|(l, r)| json!([l, r]))
            .collect()
    } else {
        merges
            .iter()
            .map(|m| {
                let mut it = m.splitn(2, ' ');
                json!([it.next().unwrap_or(""), it.next().unwrap_or("")])
            })
            .collect()
    };

    let mut single = vec![];
    let mut special_tokens = serde_json::Map::new();
    let mut add_special = |which: Option<u32>, seq: &mut Vec<Value>| {
        if let Some(i) = which {
            let t = tokens[i as usize];
            seq.push(json!({"SpecialToken": {"id": t, "type_id": 0}}));
            special_tokens.insert(t.to_string(), json!({"id": t, "ids": [i], "tokens": [t]}));
        }
    };
    if specials.add_bos {
        add_special(specials.bos, &mut single);
    }
    single.push(json!({"Sequence": {"id": "A", "type_id": 0}}));
    let mut pair = single.clone();
    pair.push(json!({"Sequence": {"id": "B", "type_id": 1}}));
    if specials.add_eos {
        add_special(specials.eos, &mut single);
        add_special(specials.eos, &mut pair);
    }
    let post = json!({"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": special_tokens});

    let mut normalizer = Value::Null;
    let (pre_tokenizer, decoder, byte_fallback, unk) = if gemma {
        normalizer = json!({"type": "Replace", "pattern": {"String": " "}, "content": "▁"});
        (
            json!({"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": false}),
            json!({"type": "Sequence", "decoders": [
                {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
            ]}),
            true,
            specials
                .unk
                .map(|i| json!(tokens[i as usize]))
                .unwrap_or(Value::Null),
        )
    } else if spm {
        let prefix = g
            .get_bool("tokenizer.ggml.add_space_prefix")
            .unwrap_or(true);
        let mut dec = vec![
            json!({"type": "Replace", "pattern": {"String": "▁"}, "content": " "}),
            json!({"type": "ByteFallback"}),
            json!({"type": "Fuse"}),
        ];
        if prefix {
            dec.push(json!({"type": "Strip", "content": " ", "start": 1, "stop": 0}));
        }
        (
            json!({"type": "Metaspace", "replacement": "▁", "prepend_scheme": if prefix { "first" } else { "never" }, "split": false}),
            json!({"type": "Sequence", "decoders": dec}),
            true,
            specials
                .unk
                .map(|i| json!(tokens[i as usize]))
                .unwrap_or(Value::Null),
        )
    } else {
        (
            pre_tokenizer_for(g.get_str("tokenizer.ggml.pre")),
            json!({"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true}),
            false,
            Value::Null,
        )
    };
    let json = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": normalizer,
        "pre_tokenizer": pre_tokenizer,
        "post_processor": post,
        "decoder": decoder,
        "model": {"type": "BPE", "dropout": null, "unk_token": unk, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": spm, "byte_fallback": byte_fallback, "ignore_merges": false,
                  "vocab": vocab, "merges": merges},
    });
    Ok((json, specials))
}

/// BPE merges implied by a SentencePiece vocabulary: every split of a token into two tokens of the
/// vocabulary, ordered by the token's score (best first), then by longer left and right parts, ties kept in
/// vocabulary order (the order transformers' `generate_merges` produces).
pub fn derive_merges(tokens: &[&str], scores: &[f64]) -> Vec<(String, String)> {
    let mut index: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        index.insert(t, i); // a repeated token keeps its last id, as a Python dict would
    }
    // (score, left chars, right chars, left, right) per token in vocabulary order (first occurrence of each).
    let mut merges: Vec<(f64, usize, usize, &str, &str)> = vec![];
    let mut seen = HashSet::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        if !seen.insert(*t) {
            continue;
        }
        let score = scores.get(index[t]).copied().unwrap_or(0.0);
        let _ = i;
        let mut local: Vec<(usize, usize, &str, &str)> = vec![];
        for (cut, _) in t.char_indices().skip(1) {
            let (l, r) = t.split_at(cut);
            if let (Some(&li), Some(&ri)) = (index.get(l), index.get(r)) {
                local.push((li, ri, l, r));
            }
        }
        local.sort_by_key(|x| (x.0, x.1));
        for (_, _, l, r) in local {
            merges.push((score, l.chars().count(), r.chars().count(), l, r));
        }
    }
    // Descending by (score, len(left), len(right)); stable, so ties keep their order.
    merges.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.cmp(&a.1)).then(b.2.cmp(&a.2)));
    merges
        .into_iter()
        .map(|(_, _, _, l, r)| (l.to_string(), r.to_string()))
        .collect()
}

/// Build the tokenizer a GGUF describes.
pub fn tokenizer_from_gguf(g: &GgufFile) -> Result<(tokenizers::Tokenizer, GgufSpecials)> {
    let (json, specials) = tokenizer_json(g)?;
    let text = serde_json::to_string(&json).map_err(|e| EngineError::Tokenizer(e.to_string()))?;
    let tok: tokenizers::Tokenizer = text.parse().map_err(|e| {
        EngineError::Tokenizer(format!(
            "the tokenizer in {} could not be built: {e}",
            g.path.display()
        ))
    })?;
    Ok((tok, specials))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::reader::tests::{enc_str, Writer};

    fn str_array(items: &[String]) -> Vec<u8> {
        let mut v = 8u32.to_le_bytes().to_vec();
        v.extend((items.len() as u64).to_le_bytes());
        for s in items {
            v.extend(enc_str(s));
        }
        v
    }

    fn tiny(pre: &str, add_bos: bool) -> GgufFile {
        // Vocabulary: the 256 byte-level characters, one merge ("Ġ" + "t"), a control token and a BOS.
        let mut tokens: Vec<String> = bytes_to_unicode().iter().map(|c| c.to_string()).collect();
        tokens.push("Ġt".into());
        tokens.push("<|end|>".into());
        tokens.push("<s>".into());
        let mut types = 5u32.to_le_bytes().to_vec();
        types.extend((tokens.len() as u64).to_le_bytes());
        for i in 0..tokens.len() {
            types.extend((if i >= 257 { 3i32 } else { 1i32 }).to_le_bytes());
        }
        let mut w = Writer::new();
        w.kv_str("tokenizer.ggml.model", "gpt2")
            .kv_str("tokenizer.ggml.pre", pre);
        w.kv("tokenizer.ggml.tokens", 9, str_array(&tokens));
        w.kv("tokenizer.ggml.merges", 9, str_array(&["Ġ t".to_string()]));
        w.kv("tokenizer.ggml.token_type", 9, types);
        w.kv_u32("tokenizer.ggml.bos_token_id", 258);
        w.kv("tokenizer.ggml.add_bos_token", 7, vec![add_bos as u8]);
        GgufFile::from_bytes(w.build(), "tiny.gguf").unwrap()
    }

    #[test]
    fn every_pre_tokenizer_builds_and_encodes() {
        for pre in [
            "smollm",
            "llama-bpe",
            "llama3",
            "qwen2",
            "tekken",
            "gpt-4o",
            "gpt2",
            "default",
            "something-new",
        ] {
            let g = tiny(pre, true);
            let (tok, sp) = tokenizer_from_gguf(&g).unwrap_or_else(|e| panic!("{pre}: {e}"));
            assert!(sp.add_bos);
            let enc = tok.encode("a t<|end|>é", true).unwrap();
            let ids = enc.get_ids();
            assert_eq!(ids[0], 258, "{pre}: BOS first");
            assert!(ids.contains(&256), "{pre}: merge 'Ġt' applied: {ids:?}");
            assert!(
                ids.contains(&257),
                "{pre}: control token kept whole: {ids:?}"
            );
            // "é" is two bytes, so two byte-level pieces
            assert_eq!(ids.len(), 1 + 1 + 1 + 1 + 2, "{pre}: {ids:?}");
            assert_eq!(tok.decode(&ids[1..], false).unwrap(), "a t<|end|>é");
        }
        let g = tiny("smollm", false);
        let (tok, _) = tokenizer_from_gguf(&g).unwrap();
        assert_eq!(tok.encode("a", true).unwrap().get_ids(), &[b'a' as u32]);
    }

    #[test]
    fn pre_tokenizers_split_digits_like_llama_cpp() {
        use tokenizers::{OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer};
        let pieces = |pre: &str| {
            let (tok, _) = tokenizer_from_gguf(&tiny(pre, false)).unwrap();
            let mut s = PreTokenizedString::from("abc 12345");
            tok.get_pre_tokenizer()
                .unwrap()
                .pre_tokenize(&mut s)
                .unwrap();
            s.get_splits(OffsetReferential::Original, OffsetType::Byte)
                .len()
        };
        assert_eq!(pieces("smollm"), 1 + 1 + 5); // "abc", " " (GPT-2 split keeps the space alone), 5 digits
        assert_eq!(pieces("qwen2"), 1 + 1 + 5);
        assert_eq!(pieces("llama-bpe"), 1 + 1 + 2); // digits in groups of up to three
        assert_eq!(pieces("gpt2"), 2); // "abc", " 12345"
    }

    #[test]
    fn sentencepiece_merges_follow_scores() {
        let tokens = ["<unk>", "▁", "a", "b", "ab", "▁ab", "▁a"];
        let scores = [0.0, -1.0, -2.0, -3.0, -4.0, -5.0, -6.0];
        let m = derive_merges(&tokens, &scores);
        let m: Vec<(&str, &str)> = m.iter().map(|(l, r)| (l.as_str(), r.as_str())).collect();
        // "ab" (score -4) before "▁ab" (-5: splits ▁+ab and ▁a+b, longer left first) before "▁a" (-6)
        assert_eq!(m, vec![("a", "b"), ("▁a", "b"), ("▁", "ab"), ("▁", "a")]);
    }

    #[test]
    fn non_bpe_tokenizers_are_reported() {
        let mut w = Writer::new();
        w.kv_str("tokenizer.ggml.model", "llama");
        let g = GgufFile::from_bytes(w.build(), "spm.gguf").unwrap();
        assert!(
            matches!(tokenizer_from_gguf(&g), Err(EngineError::Tokenizer(m)) if m.contains("tokenizer.ggml.tokens"))
        );
        let mut w = Writer::new();
        w.kv_str("tokenizer.ggml.model", "rwkv");
        let g = GgufFile::from_bytes(w.build(), "rwkv.gguf").unwrap();
        assert!(
            matches!(tokenizer_from_gguf(&g), Err(EngineError::Tokenizer(m)) if m.contains("'rwkv'"))
        );
    }
}
