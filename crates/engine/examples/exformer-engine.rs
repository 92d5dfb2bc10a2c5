//! Development entry point: `cargo run --release -p exformer-engine --example exformer-engine -- attend ...`.
fn main() {
    std::process::exit(exformer_engine::cli::main(
        std::env::args().skip(1).collect(),
    ));
}
