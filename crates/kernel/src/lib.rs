//! exformer-kernel
