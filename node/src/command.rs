use sc_cli::SubstrateCli;
use sc_network::config::NetworkBackendType;
use sc_service::PartialComponents;

use crate::{
    chain_spec,
    cli::{Cli, Subcommand},
    service,
};

impl SubstrateCli for Cli {
    fn impl_name() -> String {
        "MedLedger Node".into()
    }

    fn impl_version() -> String {
        env!("SUBSTRATE_CLI_IMPL_VERSION").into()
    }

    fn description() -> String {
        env!("CARGO_PKG_DESCRIPTION").into()
    }

    fn author() -> String {
        env!("CARGO_PKG_AUTHORS").into()
    }

    fn support_url() -> String {
        "https://github.com/medledger/medledger/issues".into()
    }

    fn copyright_start_year() -> i32 {
        2026
    }

    fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
        chain_spec::load_spec(id)
    }
}

/// The command line, parsed as sc-cli parses it (`SubstrateCli::from_args`), with this chain's
/// own defaults where they differ from sc-cli's, so that `--help` shows them too:
/// - libp2p as the network backend (ARCHITECTURE.md); `--network-backend litep2p` still selects
///   litep2p;
/// - the single-state transaction pool; `--pool-type fork-aware` still selects the fork-aware
///   one. With sc-transaction-pool 48 (stable2609) the fork-aware pool loses accepted
///   transactions under a burst from many senders (`scripts/bench-load.sh`: 2 040 of 4 000
///   transfers never included, 364 of them without any status): a view built for a new block
///   misses what was submitted while it was being built, the senders' later nonces pile up in
///   its future queue, whose limit (a tenth of `--pool-limit`) evicts the oldest of them, and
///   the rest wait forever behind the gap. The single-state pool has no views to race with.
fn parse_command_line<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::{CommandFactory, FromArgMatches};
    let command = <Cli as SubstrateCli>::setup_command(Cli::command())
        .mut_arg("network_backend", |arg| arg.default_value("libp2p"))
        .mut_arg("pool_type", |arg| arg.default_value("single-state"));
    Cli::from_arg_matches(&command.try_get_matches_from(args)?)
}

/// A regulator's observer: never an authority, no off-chain workers, safe RPC methods only
/// (the read-only transaction pool refuses submissions; see `observer`).
fn make_observer(config: &mut sc_service::Configuration) -> sc_cli::Result<()> {
    if config.role.is_authority() {
        return Err(sc_cli::Error::Input(
            "--observer cannot be combined with --validator, --dev or a development key \
             (--alice, …): an observer authors nothing"
                .into(),
        ));
    }
    config.offchain_worker.enabled = false;
    config.force_authoring = false;
    config.rpc.methods = sc_service::config::RpcMethods::Safe;
    for endpoint in config.rpc.addr.iter_mut().flatten() {
        endpoint.rpc_methods = sc_service::config::RpcMethods::Safe;
    }
    Ok(())
}

/// RPC beyond loopback, on every node of every chain: never the unsafe methods
/// (`author_insertKey`, `author_rotateKeys`, `system_addReservedPeer`, …), and the safe ones only
/// when the operator names them (`--rpc-methods safe`). A default (`auto`) method set on a public
/// interface is refused too, so that exposing RPC is always a spelled-out choice. Checked before
/// anything binds.
fn check_rpc_exposure(
    endpoints: impl IntoIterator<Item = (std::net::SocketAddr, sc_service::config::RpcMethods)>,
) -> sc_cli::Result<()> {
    use sc_service::config::RpcMethods;
    for (addr, methods) in endpoints {
        if addr.ip().is_loopback() {
            continue;
        }
        match methods {
            RpcMethods::Safe => {}
            RpcMethods::Unsafe => {
                return Err(sc_cli::Error::Input(format!(
                    "RPC would serve unsafe methods on {addr}, beyond loopback; a MedLedger node \
                     never does: keep --rpc-methods unsafe on loopback (reach it through an SSH \
                     tunnel) and serve only the safe methods publicly (--rpc-methods safe)"
                )))
            }
            RpcMethods::Auto => {
                return Err(sc_cli::Error::Input(format!(
                    "RPC would listen on {addr}, beyond loopback: pass --rpc-methods safe to serve \
                     the safe methods there (a validator also needs --unsafe-rpc-external in \
                     place of --rpc-external), or drop --rpc-external"
                )))
            }
        }
    }
    Ok(())
}

/// Parses the command line and runs the node or the chosen subcommand.
pub fn run() -> sc_cli::Result<()> {
    let cli = parse_command_line(std::env::args_os()).unwrap_or_else(|e| e.exit());

    match &cli.subcommand {
        Some(Subcommand::Key(cmd)) => cmd.run(&cli),
        #[allow(deprecated)]
        Some(Subcommand::BuildSpec(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
        }
        Some(Subcommand::ExportChainSpec(cmd)) => {
            let spec = cli.load_spec(&cmd.chain)?;
            cmd.run(spec)
        }
        Some(Subcommand::ConsortiumSpec(cmd)) => cmd.run().map_err(sc_cli::Error::Input),
        Some(Subcommand::RegisterRecords(cmd)) => cmd.run().map_err(sc_cli::Error::Input),
        Some(Subcommand::AuditDelivery(cmd)) => cmd.run().map_err(sc_cli::Error::Input),
        Some(Subcommand::CheckBlock(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::ExportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.database), task_manager))
            })
        }
        Some(Subcommand::ExportState(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, config.chain_spec), task_manager))
            })
        }
        Some(Subcommand::ImportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::PurgeChain(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.database))
        }
        Some(Subcommand::Revert(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    backend,
                    ..
                } = service::new_partial(&config)?;
                let aux_revert = Box::new(|client, _, blocks| {
                    sc_consensus_grandpa::revert(client, blocks)?;
                    Ok(())
                });
                Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
            })
        }
        Some(Subcommand::ChainInfo(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run::<medledger_runtime::opaque::Block>(&config))
        }
        #[cfg(feature = "storage-benchmark")]
        Some(Subcommand::BenchmarkStorage(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| {
                let PartialComponents {
                    client, backend, ..
                } = service::new_partial(&config)?;
                let db = backend.expose_db();
                let storage = backend.expose_storage();
                let trie_cache = backend.expose_shared_trie_cache();
                cmd.run(config, client, db, storage, trie_cache)
            })
        }
        None => {
            let runner = cli.create_runner(&cli.run)?;
            let observer = cli.observer;
            let delivery_args = cli.delivery.clone();
            runner.run_node_until_exit(|mut config| async move {
                check_rpc_exposure(
                    config
                        .rpc
                        .addr
                        .iter()
                        .flatten()
                        .map(|e| (e.listen_addr, e.rpc_methods)),
                )?;
                if observer {
                    make_observer(&mut config)?;
                }
                // Hospitals' validators deliver what their hospital sold; observers never.
                let delivery = (config.role.is_authority() && !observer)
                    .then(|| {
                        crate::delivery::DeliverySettings::from_args(
                            &delivery_args,
                            config.base_path.path(),
                        )
                    })
                    .transpose()
                    .map_err(sc_cli::Error::Input)?;
                match config.network.network_backend {
                    NetworkBackendType::Libp2p => service::new_full::<
                        sc_network::NetworkWorker<
                            medledger_runtime::opaque::Block,
                            <medledger_runtime::opaque::Block as sp_runtime::traits::Block>::Hash,
                        >,
                    >(config, observer, delivery)
                    .map_err(sc_cli::Error::Service),
                    NetworkBackendType::Litep2p => service::new_full::<
                        sc_network::Litep2pNetworkBackend,
                    >(config, observer, delivery)
                    .map_err(sc_cli::Error::Service),
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{check_rpc_exposure, parse_command_line};
    use sc_cli::{arg_enums::NetworkBackendType, TransactionPoolType};
    use sc_service::config::RpcMethods::{Auto, Safe, Unsafe};

    /// This chain's defaults (libp2p, the single-state pool) apply unless a flag chooses, and
    /// `--help` names them.
    #[test]
    fn chain_defaults_apply_unless_chosen() {
        let default = parse_command_line(["medledger-node"]).unwrap();
        assert_eq!(
            default.run.network_params.network_backend,
            NetworkBackendType::Libp2p
        );
        assert!(matches!(
            default.run.pool_config.pool_type,
            TransactionPoolType::SingleState
        ));

        let chosen = parse_command_line([
            "medledger-node",
            "--network-backend",
            "litep2p",
            "--pool-type",
            "fork-aware",
        ])
        .unwrap();
        assert_eq!(
            chosen.run.network_params.network_backend,
            NetworkBackendType::Litep2p
        );
        assert!(matches!(
            chosen.run.pool_config.pool_type,
            TransactionPoolType::ForkAware
        ));

        let help = parse_command_line(["medledger-node", "--help"])
            .unwrap_err()
            .to_string();
        assert!(help.contains("[default: single-state]"), "{help}");
        assert!(help.contains("[default: libp2p]"), "{help}");
    }

    #[test]
    fn rpc_beyond_loopback_serves_named_safe_methods_only() {
        let loopback = "127.0.0.1:9944".parse().unwrap();
        let loopback6 = "[::1]:9944".parse().unwrap();
        let public = "0.0.0.0:9944".parse().unwrap();
        let public6 = "[::]:9944".parse().unwrap();
        for methods in [Auto, Safe, Unsafe] {
            assert!(
                check_rpc_exposure([(loopback, methods), (loopback6, methods)]).is_ok(),
                "anything goes on loopback ({methods:?})"
            );
        }
        assert!(check_rpc_exposure([(loopback, Unsafe), (public, Safe), (public6, Safe)]).is_ok());

        let refused = check_rpc_exposure([(loopback, Safe), (public, Unsafe)])
            .expect_err("unsafe methods beyond loopback");
        let message = refused.to_string();
        assert!(
            message.contains("unsafe methods on 0.0.0.0:9944"),
            "{message}"
        );

        let refused = check_rpc_exposure([(public6, Auto)]).expect_err("an implicit method set");
        let message = refused.to_string();
        assert!(
            message.contains("[::]:9944") && message.contains("--rpc-methods safe"),
            "{message}"
        );
    }
}
