//! Print generated configuration docs from the key table.
//!
//! `cargo run -q -p loms-config --example gen_reference -- env > .env.sample`
//! `cargo run -q -p loms-config --example gen_reference -- markdown` prints the key
//! reference to paste between the GENERATED markers of `docs/configuration.md`.
//! The unit tests fail when either file is out of date.

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("env") => print!("{}", loms_config::env_sample()),
        Some("markdown") => print!("{}", loms_config::reference_markdown()),
        _ => eprintln!("usage: gen_reference env|markdown"),
    }
}
