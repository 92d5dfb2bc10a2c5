//! exformer-engine: transformer models on libtorch with attention capture.
