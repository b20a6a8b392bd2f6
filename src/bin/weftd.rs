//! `weftd`: the weft node daemon.

use anyhow::{Context, Result};
use clap::Parser;
use rand::RngCore;
use std::sync::Arc;

use tracing::{info, warn};
use weft::chain::view::SharedChain;
use weft::chain::{params, ChainOptions, Chainstate};
use weft::config::{args, Args, Config};
use weft::rpc::context::RpcContext;
use weft::rpc::dispatch::RpcHandler;
use weft::store::RedbStore;
use weft::{logging, rpc, runtime};

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

    let chain = open_chain(&config, data_dir).await?;
    let shared_chain = chain.clone();
    let transports = runtime::transports::build(&config).await?;
    let listening: Vec<_> = transports.listeners.iter().map(|l| l.local_addr()).collect();
    let node_config = config.node_config(&listening);
    let peers = runtime::peers_store::PeersStore::open(&data_dir.join("peers.redb")).context("opening peers.redb")?;
    let services = node_config.services;
    let local_addresses = config.local_addresses(&node_config);
    let user_agent = node_config.user_agent.clone();
    let seed = rand::rngs::OsRng.next_u64();
    let mempool_file = config.persist_mempool.then(|| data_dir.join("mempool.dat"));
    let setup = runtime::ChainSetup {
        chain,
        loadblock: config.loadblock.clone(),
        flush_interval: config.flush_interval,
        mempool_file: mempool_file.clone(),
    };
    let handle = runtime::start_with(node_config, transports, setup, seed, Some(peers));
    for addr in &handle.listen_addrs {
        info!(target: "net", "Bound to {addr}");
    }
    let metrics = match config.net.metrics_bind {
        Some(addr) => {
            let sources = weft::metrics::server::Sources {
                chain: shared_chain.clone(),
                net: handle.net(),
                validation: handle.validation_stats(),
            };
            let server = weft::metrics::server::start(addr, sources)
                .await
                .with_context(|| format!("binding -metricsbind={addr}"))?;
            Some(server)
        }
        None => None,
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let rpc_server = if config.rpc.enabled {
        for w in &config.rpc.warnings {
            warn!("{w}");
        }
        let mut ctx = RpcContext::new(
            shared_chain,
            config.chain,
            Some(handle.net()),
            stop_tx,
            config.txindex,
            config.max_tip_age,
            services,
            user_agent,
        );
        ctx.mempool_file = mempool_file;
        ctx.local_addresses = local_addresses;
        ctx.block_options = config.block_options;
        let service = Arc::new(RpcHandler::new(Arc::new(ctx)));
        Some(
            rpc::server::start(&config.rpc, service)
                .await
                .context("starting the RPC server")?,
        )
    } else {
        None
    };
    tokio::select! {
        r = wait_for_signal() => r?,
        _ = wait_finished(&handle) => {}
        _ = stop_rx.changed() => info!("Shutdown requested by RPC"),
    }
    info!("Shutdown: In progress...");
    if let Some(server) = rpc_server {
        server.shutdown().await;
    }
    if let Some(server) = metrics {
        server.shutdown().await;
    }
    handle.shutdown().await;
    info!("Shutdown: done");
    Ok(())
}

/// Opens the chain state in the data dir and resumes an interrupted sync.
async fn open_chain(config: &Config, data_dir: &std::path::Path) -> Result<SharedChain> {
    let path = data_dir.join("chainstate.redb");
    let dbcache = config.dbcache_bytes;
    let prune_target = config.prune_bytes;
    let txindex = config.txindex;
    let chain = config.chain;
    let mempool = config.mempool.clone();
    let mempool_file = config.persist_mempool.then(|| data_dir.join("mempool.dat"));
    let cs = tokio::task::spawn_blocking(move || -> Result<Chainstate> {
        // redb's page cache takes an eighth of -dbcache, the coins cache the rest.
        let store = RedbStore::open(&path, dbcache / 8).with_context(|| format!("opening {}", path.display()))?;
        let opts = ChainOptions {
            dbcache_bytes: dbcache - dbcache / 8,
            log_tips: true,
            prune_target,
            txindex,
            mempool,
        };
        let mut cs = Chainstate::open(params(chain), Box::new(store), opts).context("loading the block index")?;
        let tip = cs.index().get(cs.tip());
        info!("Loaded best chain: hashBestChain={} height={}", tip.hash, tip.height);
        cs.activate_best_chain().context("resuming the best chain")?;
        cs.build_txindex().context("building the transaction index")?;
        match &mempool_file {
            Some(path) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                match cs.load_mempool(path, now) {
                    Ok(s) => info!(target: "mempool", "Imported mempool transactions from disk: {} succeeded, {} failed, {} already there", s.accepted, s.failed, s.already_there),
                    Err(e) => warn!("Failed to load mempool: {e}; starting empty"),
                }
                // A corrupt file still counts as tried, so shutdown saves the new mempool.
                cs.mempool_mut().set_loaded();
            }
            None => cs.mempool_mut().set_loaded(),
        }
        Ok(cs)
    })
    .await??;
    Ok(SharedChain::new(cs))
}

async fn wait_finished(handle: &runtime::RuntimeHandle) {
    while !handle.is_finished() {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn wait_for_signal() -> Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
