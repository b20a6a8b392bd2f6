//! `weftd`: the weft node daemon.

use anyhow::{Context, Result};
use clap::Parser;
use rand::RngCore;
use tracing::info;
use weft::config::{args, Args, Config};
use weft::p2p::{config::NODE_P2P_V2, NodeConfig};
use weft::{logging, runtime};

fn main() -> Result<()> {
    let args = Args::parse_from(args::normalize(std::env::args_os()));
    let config = Config::resolve(&args)?;
    logging::init(&config.debug).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    rt.block_on(run(config))
}

async fn run(config: Config) -> Result<()> {
    info!("weft version v{}", env!("CARGO_PKG_VERSION"));
    let data_dir = config.ensure_data_dir().context("creating the data directory")?;
    info!("Using data directory {}", data_dir.display());
    info!("Chain: {}", config.chain);

    let transports = runtime::transports::build(&config).await?;
    let node_config = NodeConfig {
        services: if config.v2transport { NODE_P2P_V2 } else { 0 },
        connect: config.connect.clone(),
        addnode: config.addnode.clone(),
        ..NodeConfig::default()
    };
    let handle = runtime::start(node_config, transports, rand::rngs::OsRng.next_u64());
    for addr in &handle.listen_addrs {
        info!(target: "net", "Bound to {addr}");
    }
    wait_for_signal().await?;
    info!("Shutdown: In progress...");
    handle.shutdown().await;
    info!("Shutdown: done");
    Ok(())
}

async fn wait_for_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
