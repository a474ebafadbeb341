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

/// libp2p is this chain's default network backend (ARCHITECTURE.md); `--network-backend litep2p`
/// still selects litep2p. sc-cli's own default is litep2p, so apply ours unless the flag is given.
fn apply_default_network_backend(cli: &mut Cli) {
    let given = std::env::args().any(|arg| arg.starts_with("--network-backend"));
    if !given {
        cli.run.network_params.network_backend = sc_cli::arg_enums::NetworkBackendType::Libp2p;
    }
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

/// A hospital's validator serves RPC beyond loopback only if its operator also names the unsafe
/// methods explicitly (`--rpc-methods unsafe`) and so takes on the risk knowingly. sc-cli demands this for `--validator --rpc-external` but not when the
/// validator role comes from a development key (`--alice`, …); this closes that gap.
/// Development chains are exempt (a `--dev` node in a container is meant to be reached).
fn check_rpc_exposure(
    is_authority: bool,
    is_development_chain: bool,
    endpoints: impl IntoIterator<Item = (std::net::SocketAddr, sc_service::config::RpcMethods)>,
) -> sc_cli::Result<()> {
    if !is_authority || is_development_chain {
        return Ok(());
    }
    for (addr, methods) in endpoints {
        if !addr.ip().is_loopback() && !matches!(methods, sc_service::config::RpcMethods::Unsafe) {
            return Err(sc_cli::Error::Input(format!(
                "a validator's RPC would listen on {addr}, beyond loopback: drop --rpc-external, \
                 or pass --rpc-methods unsafe if you mean to expose it (put a filtering proxy \
                 in front)"
            )));
        }
    }
    Ok(())
}

/// Parses the command line and runs the node or the chosen subcommand.
pub fn run() -> sc_cli::Result<()> {
    let mut cli = Cli::from_args();
    apply_default_network_backend(&mut cli);

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
        None => {
            let runner = cli.create_runner(&cli.run)?;
            let observer = cli.observer;
            let delivery_args = cli.delivery.clone();
            runner.run_node_until_exit(|mut config| async move {
                check_rpc_exposure(
                    config.role.is_authority(),
                    config.chain_spec.chain_type() == sc_service::ChainType::Development,
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
    use super::check_rpc_exposure;
    use sc_service::config::RpcMethods::{Auto, Safe, Unsafe};

    #[test]
    fn a_validator_serves_rpc_beyond_loopback_only_with_unsafe_methods_named() {
        let loopback = "127.0.0.1:9944".parse().unwrap();
        let loopback6 = "[::1]:9944".parse().unwrap();
        let public = "0.0.0.0:9944".parse().unwrap();
        assert!(check_rpc_exposure(true, false, [(loopback, Auto), (loopback6, Auto)]).is_ok());
        for methods in [Auto, Safe] {
            let refused = check_rpc_exposure(true, false, [(loopback, Auto), (public, methods)]);
            let message = refused.expect_err("public RPC on a validator").to_string();
            assert!(message.contains("0.0.0.0:9944"), "{message}");
        }
        assert!(check_rpc_exposure(true, false, [(public, Unsafe)]).is_ok());
        assert!(
            check_rpc_exposure(false, false, [(public, Auto)]).is_ok(),
            "not a validator"
        );
        assert!(
            check_rpc_exposure(true, true, [(public, Auto)]).is_ok(),
            "development chain"
        );
    }
}
