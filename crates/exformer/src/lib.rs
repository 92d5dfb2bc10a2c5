//! exformer: the library notebook cells use.
