//! `loms-server`: load settings, start the OMS and serve the HTTP API until SIGINT/SIGTERM.

mod gates;
mod live;
mod logging;

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

/// LOMS order management service for crypto trading signals.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Profile: reads config/<PROFILE>.toml (dev, paper, live). Env: LOMS_PROFILE.
    #[arg(long)]
    profile: Option<String>,
    /// Folder of the profile files.
    #[arg(long, value_name = "DIR")]
    config_dir: Option<PathBuf>,
    /// The .env file to read.
    #[arg(long, value_name = "FILE")]
    env_file: Option<PathBuf>,
    /// Listen address (LOMS_BIND), e.g. 127.0.0.1:8000.
    #[arg(long, value_name = "ADDR")]
    bind: Option<String>,
    /// Override any setting, e.g. --set MAX_OPEN_POSITIONS=3 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = loms_config::parse_override)]
    set: Vec<(String, String)>,
    /// Print every effective setting and the layer it came from, then exit.
    #[arg(long)]
    print_config: bool,
}

fn main() -> ExitCode {
    logging::init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loms-server: {e:#}");
            // 3: Bitget could not be reached (retry later); 2: fix something first.
            if e.downcast_ref::<gates::VenueUnreachable>().is_some() {
                ExitCode::from(3)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut overrides: Vec<(String, String)> = cli
        .bind
        .map(|b| ("LOMS_BIND".into(), b))
        .into_iter()
        .collect();
    overrides.extend(cli.set);
    let sources = loms_config::ConfigSources::from_process(
        cli.profile,
        cli.config_dir,
        cli.env_file,
        overrides,
    );
    let settings = loms_config::load(&sources).context("invalid configuration")?;
    for w in &settings.warnings {
        log::warn!("{w}");
    }
    if cli.print_config {
        print!("{}", settings.render_table());
        return Ok(ExitCode::SUCCESS);
    }
    let rt = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    rt.block_on(serve(settings))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(settings: loms_config::Settings) -> anyhow::Result<()> {
    let bind = settings.bind;
    let mut deps = loms_oms::Deps::from_settings(&settings);
    // The start-up gates: nothing is recorded or sent before every one has passed.
    let live_uid = match settings.broker_mode {
        loms_config::BrokerMode::Live => Some(gates::live_settings(&settings)?),
        loms_config::BrokerMode::Paper => None,
    };
    let database = gates::Database::open(&settings)?;
    if let Some(uid) = live_uid {
        deps.execution = live::execution(&settings, uid)?;
    }
    database.record(&settings)?;
    let oms = loms_oms::Oms::start(settings.clone(), deps).context("starting the OMS")?;
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(e) => {
            oms.shutdown().await;
            return Err(e).with_context(|| {
                format!("cannot listen on {bind}; is another loms-server running? Choose another address with --bind or LOMS_BIND")
            });
        }
    };
    // The mode in force: the stored one, which OMS_ENABLED=false can only make stricter.
    let mode = oms.trading_state().mode;
    log::info!(
        "LOMS listening on http://{} (profile {}, broker {}, prices {}, trading {}{})",
        listener.local_addr().unwrap_or(bind),
        settings.profile,
        settings.broker_mode.as_str(),
        settings.price_source.as_str(),
        mode,
        if mode.signals_may_open() {
            ""
        } else {
            ": signals open nothing"
        }
    );
    loms_http::run(oms, listener, shutdown_signal())
        .await
        .context("serving HTTP")
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd stop).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => log::info!("SIGINT received"),
        () = term => log::info!("SIGTERM received"),
    }
}
