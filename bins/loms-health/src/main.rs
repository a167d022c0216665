//! `loms-health`: thin wrapper around the library's `run` (see the library docs).

use clap::Parser;
use loms_health::{Args, EXIT_USAGE, run};
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = match Args::try_parse() {
        Ok(args) => run(&args, &mut std::io::stdout(), &mut std::io::stderr()),
        // --help and --version print and succeed; anything else is a usage error.
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() { EXIT_USAGE } else { 0 }
        }
    };
    ExitCode::from(code)
}
