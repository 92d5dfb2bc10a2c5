//! GGUF tensor names → checkpoint names, one table per naming scheme (llama.cpp's names on one side,
//! the Hugging Face checkpoints' on the other); `Weights::from_gguf` reads a file's tensors through one.

/// How one family's GGUF tensors are named in its checkpoints.
pub(crate) struct NameTable {
    /// Whole names (`token_embd.weight` → `model.embed_tokens.weight`).
    pub globals: &'static [(&'static str, &'static str)],
    /// Checkpoint prefix of block N (`model.layers.` → `model.layers.N.`).
    pub block_prefix: &'static str,
    /// Block tensors by base name (`blk.N.attn_q.weight`: base `attn_q` → `self_attn.q_proj`).
    pub blocks: &'static [(&'static str, &'static str)],
}

impl NameTable {
    /// The checkpoint name of GGUF tensor `name`, with the block base it came from ("" for globals);
    /// None for tensors the family does not use.
    pub fn rename(&self, name: &str) -> Option<(String, &'static str)> {
        if let Some(&(_, hf)) = self.globals.iter().find(|(g, _)| *g == name) {
            return Some((hf.to_string(), ""));
        }
        let (layer, part) = name.strip_prefix("blk.")?.split_once('.')?;
        let (base, suffix) = part.rsplit_once('.')?;
        let &(b, hf) = self.blocks.iter().find(|(b, _)| *b == base)?;
        Some((format!("{}{layer}.{hf}.{suffix}", self.block_prefix), b))
    }
}

/// The Llama family (Llama, Mistral, Qwen2/3, SmolLM2).
pub(crate) const LLAMA: NameTable = NameTable {
    globals: &[
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
        ("rope_freqs.weight", "rope_freqs.weight"),
    ],
    block_prefix: "model.layers.",
    blocks: &[
        ("attn_norm", "input_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("attn_q_norm", "self_attn.q_norm"),
        ("attn_k_norm", "self_attn.k_norm"),
        ("ffn_norm", "post_attention_layernorm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ],
};

const GEMMA_GLOBALS: &[(&str, &str)] = &[
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
];

/// Gemma 1: one norm before the MLP, which transformers calls post_attention_layernorm.
pub(crate) const GEMMA1: NameTable = NameTable {
    globals: GEMMA_GLOBALS,
    block_prefix: "model.layers.",
    blocks: &[
        ("attn_norm", "input_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("ffn_norm", "post_attention_layernorm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ],
};

/// Gemma 2 and 3: norms before and after attention and the MLP, q/k norms (Gemma 3).
pub(crate) const GEMMA2: NameTable = NameTable {
    globals: GEMMA_GLOBALS,
    block_prefix: "model.layers.",
    blocks: &[
        ("attn_norm", "input_layernorm"),
        ("attn_q", "self_attn.q_proj"),
        ("attn_k", "self_attn.k_proj"),
        ("attn_v", "self_attn.v_proj"),
        ("attn_output", "self_attn.o_proj"),
        ("attn_q_norm", "self_attn.q_norm"),
        ("attn_k_norm", "self_attn.k_norm"),
        ("post_attention_norm", "post_attention_layernorm"),
        ("ffn_norm", "pre_feedforward_layernorm"),
        ("post_ffw_norm", "post_feedforward_layernorm"),
        ("ffn_gate", "mlp.gate_proj"),
        ("ffn_up", "mlp.up_proj"),
        ("ffn_down", "mlp.down_proj"),
    ],
};

/// GPT-2.
pub(crate) const GPT2: NameTable = NameTable {
    globals: &[
        ("token_embd.weight", "wte.weight"),
        ("position_embd.weight", "wpe.weight"),
        ("output_norm.weight", "ln_f.weight"),
        ("output_norm.bias", "ln_f.bias"),
        ("output.weight", "lm_head.weight"),
    ],
    block_prefix: "h.",
    blocks: &[
        ("attn_norm", "ln_1"),
        ("attn_qkv", "attn.c_attn"),
        ("attn_output", "attn.c_proj"),
        ("ffn_norm", "ln_2"),
        ("ffn_up", "mlp.c_fc"),
        ("ffn_down", "mlp.c_proj"),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_checkpoint_names() {
        assert_eq!(
            LLAMA.rename("blk.3.attn_q.weight"),
            Some(("model.layers.3.self_attn.q_proj.weight".into(), "attn_q"))
        );
        assert_eq!(
            LLAMA.rename("output_norm.weight"),
            Some(("model.norm.weight".into(), ""))
        );
        assert_eq!(LLAMA.rename("blk.0.unknown.weight"), None);
        assert_eq!(
            GEMMA1.rename("blk.1.ffn_norm.weight").unwrap().0,
            "model.layers.1.post_attention_layernorm.weight"
        );
        assert_eq!(
            GEMMA2.rename("blk.1.ffn_norm.weight").unwrap().0,
            "model.layers.1.pre_feedforward_layernorm.weight"
        );
        assert_eq!(
            GPT2.rename("blk.11.attn_qkv.bias"),
            Some(("h.11.attn.c_attn.bias".into(), "attn_qkv"))
        );
        assert_eq!(GPT2.rename("position_embd.weight").unwrap().0, "wpe.weight");
    }
}
