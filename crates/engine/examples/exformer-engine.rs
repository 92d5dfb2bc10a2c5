//! Development entry point: `cargo run --release -p exformer-engine --example exformer-engine -- attend ...`.
use clap::Parser;

fn main() {
    let cli = exformer_engine::cli::EngineCli::parse();
    std::process::exit(exformer_engine::cli::run(cli.command));
}
