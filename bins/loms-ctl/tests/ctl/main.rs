//! `loms-ctl` against the real server started in-process on 127.0.0.1:0, run as the
//! real binary with a cleared environment (or through its library where a clock must
//! be injected), plus a scripted fake server for slow and stubborn servers.

mod backup;
mod errors;
mod export;
mod harness;
mod kill;
mod live;
mod panic;
mod prune;
