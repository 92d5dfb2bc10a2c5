//! The `exformer` binary.
//!
//! - `exformer install [--user | --sys-prefix | --prefix DIR] [--name N] [--display-name D]`
//! - `exformer kernel --connection-file FILE` (what the kernelspec runs)
//! - `exformer warm`: compiles the `exformer` library into the persistent evcxr build directory,
//!   so a user's first cell does not wait minutes
//! - `exformer export NOTEBOOK [-o OUT.html]`: the notebook as one offline page (python/exformer_share)
//! - `exformer attend ...`, `exformer models ...`: the engine's command line (scripts, benchmarks)
//!
//! evcxr runs cells in a child process that is this same binary: `exformer_evcxr::child::hook()` (which ends in
//! evcxr's `runtime_hook()`) must come first in `main`.

use clap::{Parser, Subcommand};
use exformer_evcxr::{EvcxrInterpreter, EvcxrOptions};
use exformer_kernel::{
    install, ExecIo, ExecOutcome, InstallTarget, Interpreter, KernelIdentity, MimeBundle,
    StreamName,
};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "exformer",
    version,
    about = "exformer: a Rust Jupyter kernel with transformer attention views, and the engine's command line",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Register the Jupyter kernelspec (default: in this Python environment, --sys-prefix).
    Install {
        /// In the user's Jupyter data folder.
        #[arg(long, conflicts_with = "prefix")]
        user: bool,
        /// In this Python environment (the default).
        #[arg(long, conflicts_with_all = ["user", "prefix"])]
        sys_prefix: bool,
        /// Under PREFIX/share/jupyter/kernels.
        #[arg(long, value_name = "DIR")]
        prefix: Option<PathBuf>,
        /// The kernelspec's name.
        #[arg(long, default_value = "exformer")]
        name: String,
        /// The name JupyterLab shows.
        #[arg(long, default_value = "Rust (exformer)")]
        display_name: String,
    },
    /// Run the kernel (what the kernelspec starts; Jupyter passes the connection file).
    Kernel {
        #[arg(long, short = 'f', value_name = "FILE")]
        connection_file: Option<PathBuf>,
        /// The connection file, as a positional argument.
        #[arg(value_name = "FILE", conflicts_with = "connection_file")]
        file: Option<PathBuf>,
    },
    /// Compile the exformer library into evcxr's persistent build folder (the first cell is then fast).
    Warm,
    /// Run one Rust cell with evcxr outside any kernel (as stock evcxr would) and print its
    /// result's MIME bundle as JSON.
    Eval {
        /// The cell's code.
        code: String,
    },
    /// Write a notebook as one HTML page whose exformer views work offline (what
    /// `jupyter nbconvert --to html` does in the project's environment).
    Export {
        /// The notebook (.ipynb), executed and saved with its widget state.
        notebook: PathBuf,
        /// The page to write (default: the notebook's name with .html).
        #[arg(short, long, value_name = "OUT.html")]
        output: Option<PathBuf>,
    },
    #[cfg(feature = "engine")]
    Attend(exformer_engine::cli::AttendArgs),
    #[cfg(feature = "engine")]
    Models(exformer_engine::cli::ModelsArgs),
}

fn main() {
    exformer_evcxr::child::hook();
    init_logging();
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Install {
            user,
            sys_prefix: _,
            prefix,
            name,
            display_name,
        } => {
            let target = match (user, prefix) {
                (true, _) => InstallTarget::User,
                (false, Some(p)) => InstallTarget::Prefix(p),
                (false, None) => InstallTarget::SysPrefix,
            };
            report(cmd_install(&target, &name, &display_name))
        }
        Command::Kernel {
            connection_file,
            file,
        } => match connection_file.or(file) {
            Some(f) => report(cmd_kernel(&f)),
            None => {
                eprintln!("exformer: kernel needs --connection-file FILE");
                2
            }
        },
        Command::Warm => report(cmd_warm()),
        Command::Eval { code } => report(cmd_eval(&code)),
        Command::Export { notebook, output } => report(cmd_export(&notebook, output.as_deref())),
        #[cfg(feature = "engine")]
        Command::Attend(a) => {
            exformer_engine::cli::run(exformer_engine::cli::EngineCommand::Attend(a))
        }
        #[cfg(feature = "engine")]
        Command::Models(m) => {
            exformer_engine::cli::run(exformer_engine::cli::EngineCommand::Models(m))
        }
    };
    std::process::exit(code);
}

/// The kernel's log (and the command line's diagnostics) on stderr, filtered by `EXFORMER_LOG`
/// (`tracing_subscriber`'s targets syntax: `debug`, `exformer_kernel=debug,warn`). Unset:
/// warnings and errors only, as before there was a filter.
fn init_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    let raw = std::env::var(exformer_bridge::ENV_LOG).unwrap_or_default();
    let default = Targets::new().with_default(LevelFilter::WARN);
    let filter = match raw.trim() {
        "" => default,
        v => v.parse::<Targets>().unwrap_or_else(|e| {
            eprintln!(
                "exformer: {} = {v:?} is not a log filter ({e}); using warn",
                exformer_bridge::ENV_LOG
            );
            default
        }),
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(fmt).with(filter),
    );
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

fn cmd_install(target: &InstallTarget, name: &str, display: &str) -> anyhow::Result<()> {
    let dir = install(target, name, display)?;
    println!("installed kernelspec `{name}` in {}", dir.display());
    Ok(())
}

/// The project's Python (its venv has nbconvert): `$EXFORMER_VENV`, `$VIRTUAL_ENV`, the venv this
/// binary was built with, then `python3` on PATH.
fn project_python() -> PathBuf {
    let venvs = [
        std::env::var_os("EXFORMER_VENV").map(PathBuf::from),
        std::env::var_os("VIRTUAL_ENV").map(PathBuf::from),
        option_env!("EXFORMER_VENV").map(PathBuf::from),
    ];
    venvs
        .into_iter()
        .flatten()
        .map(|v| v.join("bin/python"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("python3"))
}

/// `python -m exformer_share export` (python/exformer_share), with the repository's python/
/// folder on PYTHONPATH in case that Python has not got the project's .pth file.
fn cmd_export(notebook: &std::path::Path, output: Option<&std::path::Path>) -> anyhow::Result<()> {
    if !notebook.is_file() {
        anyhow::bail!("the notebook {} does not exist", notebook.display());
    }
    if let Some(dir) = output
        .and_then(|o| o.parent())
        .filter(|d| !d.as_os_str().is_empty())
    {
        if !dir.is_dir() {
            anyhow::bail!("the folder {} does not exist (for the page)", dir.display());
        }
    }
    let python = project_python();
    let share = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../python"));
    let mut path = share.into_os_string();
    if let Some(old) = std::env::var_os("PYTHONPATH") {
        path.push(":");
        path.push(old);
    }
    let mut cmd = std::process::Command::new(&python);
    cmd.args(["-m", "exformer_share", "export"])
        .arg(notebook)
        .env("PYTHONPATH", path);
    if let Some(o) = output {
        cmd.arg("-o").arg(o);
    }
    let status = cmd
        .status()
        .map_err(|e| anyhow::anyhow!("could not run {}: {e}", python.display()))?;
    if !status.success() {
        anyhow::bail!("the export failed ({status})");
    }
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

fn cmd_kernel(file: &std::path::Path) -> anyhow::Result<()> {
    if !file.is_file() {
        anyhow::bail!("the connection file {} does not exist", file.display());
    }
    let identity = KernelIdentity {
        implementation: "exformer".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        help_links: vec![(
            "evcxr commands".into(),
            "https://github.com/evcxr/evcxr/blob/main/COMMON.md".into(),
        )],
    };
    let opts = evcxr_options();
    exformer_kernel::run(
        file,
        identity,
        exformer_evcxr::language(),
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
fn cmd_eval(code: &str) -> anyhow::Result<()> {
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
