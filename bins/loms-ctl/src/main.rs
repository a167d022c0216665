//! `loms-ctl`: the operators' control of LOMS (kill switch, panic, backup, prune,
//! export). Everything is in the library; this only wires the process to it.

use std::process::ExitCode;

fn main() -> ExitCode {
    let ctx = loms_ctl::Ctx::from_process();
    let code = loms_ctl::run(
        std::env::args_os(),
        &ctx,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    ExitCode::from(code)
}
