//! The `exformer` binary.
//!
//! - `exformer install [--user | --sys-prefix | --prefix DIR] [--name N] [--display-name D]`
//! - `exformer kernel --connection-file FILE` (what the kernelspec runs)
//! - `exformer warm`: compiles the `exformer` library into the persistent evcxr build directory,
//!   so a user's first cell does not wait minutes
//! - `exformer attend ...`, `exformer models ...`: the engine's command line (scripts, benchmarks)
//!
//! evcxr runs cells in a child process that is this same binary: `child::hook()` (which ends in
//! evcxr's `runtime_hook()`) must come first in `main`.

use exformer_kernel::evcxr_interpreter::{EvcxrInterpreter, EvcxrOptions};
use exformer_kernel::install::{install, InstallTarget};
use exformer_kernel::interpreter::{ExecIo, ExecOutcome, Interpreter, MimeBundle, StreamName};
use exformer_kernel::kernel::KernelIdentity;
use std::path::PathBuf;
use std::sync::Arc;

const USAGE: &str = "usage: exformer <command>

commands:
  install [--user | --sys-prefix | --prefix DIR] [--name NAME] [--display-name NAME]
                      register the Jupyter kernelspec (default --sys-prefix)
  kernel --connection-file FILE
                      run the kernel (started by Jupyter)
  warm                compile the exformer library into evcxr's persistent build directory
  eval CODE           run one Rust cell with evcxr outside any kernel (as stock evcxr would)
                      and print its result's MIME bundle as JSON
  attend --model M --text T [...] --out FILE
                      run a model and write its attention (see `exformer attend --help`)
  models [--json]     list the models available locally
";

fn main() {
    exformer_kernel::child::hook();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("install") => report(cmd_install(&args[1..])),
        Some("kernel") => report(cmd_kernel(&args[1..])),
        Some("warm") => report(cmd_warm()),
        Some("eval") => report(cmd_eval(&args[1..])),
        #[cfg(feature = "engine")]
        Some("attend") | Some("models") => exformer_engine::cli::main(args),
        #[cfg(not(feature = "engine"))]
        Some("attend") | Some("models") => {
            eprintln!("exformer: this build has no engine (built without the `engine` feature)");
            2
        }
        Some("--version") | Some("-V") => {
            println!("exformer {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Some("--help") | Some("-h") | Some("help") | None => {
            print!("{USAGE}");
            0
        }
        Some(other) => {
            eprint!("exformer: unknown command `{other}`\n\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

fn report(r: anyhow::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("exformer: {e:#}");
            1
        }
    }
}

fn value_of<'a>(args: &'a [String], flag: &str) -> anyhow::Result<Option<&'a str>> {
    match args.iter().position(|a| a == flag) {
        Some(i) => args
            .get(i + 1)
            .map(|s| Some(s.as_str()))
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value")),
        None => Ok(None),
    }
}

fn cmd_install(args: &[String]) -> anyhow::Result<()> {
    let target = if args.iter().any(|a| a == "--user") {
        InstallTarget::User
    } else if let Some(p) = value_of(args, "--prefix")? {
        InstallTarget::Prefix(PathBuf::from(p))
    } else {
        InstallTarget::SysPrefix
    };
    let name = value_of(args, "--name")?.unwrap_or("exformer");
    let display = value_of(args, "--display-name")?.unwrap_or("Rust (exformer)");
    let dir = install(&target, name, display)?;
    println!("installed kernelspec `{name}` in {}", dir.display());
    Ok(())
}

/// Where the `exformer` library crate is (a path dependency for cells).
fn library_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EXFORMER_CRATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../exformer")));
    dir.join("Cargo.toml")
        .exists()
        .then(|| dir.canonicalize().unwrap_or(dir))
}

fn evcxr_options() -> EvcxrOptions {
    let build_root = std::env::var_os("EXFORMER_EVCXR_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/exformer/evcxr"))
        });
    // evcxr links dependencies statically into each cell (its dylib mode fails on current
    // toolchains), so the exformer library keeps its process-wide state in `exformer::global`.
    let mut prelude = Vec::new();
    if std::env::var_os("EXFORMER_NO_PRELUDE").is_none() {
        if let Some(dir) = library_dir() {
            prelude.push(format!(
                ":dep exformer = {{ path = {:?} }}",
                dir.display().to_string()
            ));
        }
    }
    EvcxrOptions {
        build_root,
        prelude,
    }
}

fn cmd_kernel(args: &[String]) -> anyhow::Result<()> {
    let file = value_of(args, "--connection-file")?
        .or(value_of(args, "-f")?)
        .or_else(|| {
            args.iter()
                .find(|a| !a.starts_with('-'))
                .map(String::as_str)
        })
        .ok_or_else(|| anyhow::anyhow!("kernel needs --connection-file FILE"))?;
    let identity = KernelIdentity {
        implementation: "exformer".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        help_links: vec![(
            "evcxr commands".into(),
            "https://github.com/evcxr/evcxr/blob/main/COMMON.md".into(),
        )],
    };
    let opts = evcxr_options();
    exformer_kernel::kernel::run(
        std::path::Path::new(file),
        identity,
        Box::new(move || EvcxrInterpreter::new(opts).map(|i| Box::new(i) as Box<dyn Interpreter>)),
    )
}

/// Prints a cell's output to the terminal.
struct TerminalIo;

impl ExecIo for TerminalIo {
    fn stream(&self, name: StreamName, text: &str) {
        match name {
            StreamName::Stdout => print!("{text}"),
            StreamName::Stderr => eprint!("{text}"),
        }
    }
    fn display(&self, data: MimeBundle, _: serde_json::Value, _: Option<String>, _: bool) {
        if let Some(t) = data.get("text/plain").and_then(|v| v.as_str()) {
            println!("{t}");
        }
    }
    fn clear_output(&self, _: bool) {}
    fn input(&self, _: &str, _: bool) -> Result<String, String> {
        Err("no input while warming".into())
    }
}

/// Runs one cell without a kernel: no bridge, so the library shows static output (what stock
/// evcxr_jupyter gets). Prints the result bundle as JSON on stdout.
fn cmd_eval(args: &[String]) -> anyhow::Result<()> {
    let code = args
        .first()
        .ok_or_else(|| anyhow::anyhow!("eval needs the code of a cell"))?;
    std::env::remove_var(exformer_bridge::ENV_SOCKET);
    let mut interp = EvcxrInterpreter::new(evcxr_options()).map_err(|e| anyhow::anyhow!(e))?;
    let out = interp.execute(code, Arc::new(StderrIo));
    interp.shutdown(false);
    match out {
        ExecOutcome::Ok { result } => {
            println!("{}", serde_json::Value::Object(result.unwrap_or_default()));
            Ok(())
        }
        ExecOutcome::Error { ename, evalue, .. } => anyhow::bail!("{ename}: {evalue}"),
    }
}

/// Cell output to stderr, so stdout carries only the result.
struct StderrIo;

impl ExecIo for StderrIo {
    fn stream(&self, _: StreamName, text: &str) {
        eprint!("{text}");
    }
    fn display(&self, data: MimeBundle, _: serde_json::Value, _: Option<String>, _: bool) {
        eprintln!("{}", serde_json::Value::Object(data));
    }
    fn clear_output(&self, _: bool) {}
    fn input(&self, _: &str, _: bool) -> Result<String, String> {
        Err("no input in eval".into())
    }
}

fn cmd_warm() -> anyhow::Result<()> {
    let t0 = std::time::Instant::now();
    let mut interp = EvcxrInterpreter::new(evcxr_options()).map_err(|e| anyhow::anyhow!(e))?;
    let code = if library_dir().is_some() {
        "exformer::version()"
    } else {
        "1 + 1"
    };
    match interp.execute(code, Arc::new(TerminalIo)) {
        ExecOutcome::Ok { result } => {
            let text = result.and_then(|r| {
                r.get("text/plain")
                    .and_then(|v| v.as_str().map(String::from))
            });
            println!(
                "warm: `{code}` = {} after {:.1} s",
                text.unwrap_or_default(),
                t0.elapsed().as_secs_f64()
            );
            interp.shutdown(false);
            Ok(())
        }
        ExecOutcome::Error {
            evalue, traceback, ..
        } => {
            interp.shutdown(false);
            anyhow::bail!("warming failed: {evalue}\n{}", traceback.join("\n"))
        }
    }
}
