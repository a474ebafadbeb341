use sc_cli::RunCmd;

#[derive(Debug, clap::Parser)]
#[command(
    name = "medledger-node",
    version,
    propagate_version = true,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub subcommand: Option<Subcommand>,

    #[clap(flatten)]
    pub run: RunCmd,

    /// Run as a regulator's read-only observer: sync and follow finality, author nothing, vote
    /// in nothing, accept no transactions (RPC submissions are refused), serve only safe RPC
    /// methods. The node's peer id must be registered as a regulator by the consortium.
    #[arg(long)]
    pub observer: bool,

    #[clap(flatten)]
    pub delivery: DeliveryArgs,
}

/// Delivery of sold data by a hospital's node (see the README, "Hospital").
#[derive(Debug, Clone, clap::Args)]
pub struct DeliveryArgs {
    /// The hospital's encrypted FHIR store, as `medledger fhir ingest --store` wrote it; sold
    /// data is delivered from it. Default: `<base-path>/fhir-store`.
    #[arg(long, value_name = "DIR")]
    pub fhir_store: Option<std::path::PathBuf>,
    /// The store's key file (64 hex digits). Default: `<fhir-store>/store.key`.
    #[arg(long, value_name = "FILE")]
    pub fhir_store_key: Option<std::path::PathBuf>,
    /// Where sealed deliveries and their openings are kept. Default: `<base-path>/deliveries`.
    #[arg(long, value_name = "DIR")]
    pub delivery_dir: Option<std::path::PathBuf>,
    /// Address of the HTTP delivery endpoint buyers download from.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8800")]
    pub delivery_listen: std::net::SocketAddr,
    /// Allow `--delivery-listen` on an address other than loopback (with
    /// `--delivery-endpoint`).
    #[arg(long)]
    pub delivery_external: bool,
    /// The endpoint's public URL, as the hospital's `delivery_endpoint` on chain says; buyers
    /// sign their requests for it. Default: `http://<delivery-listen>`, which only a loopback
    /// address may use: any other `--delivery-listen` needs this URL.
    #[arg(long, value_name = "URL")]
    pub delivery_endpoint: Option<String>,
    /// k-anonymity threshold of deliveries, at least 1 (default: the de-identification
    /// profile's, 5).
    #[arg(long, value_name = "K", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub delivery_k: Option<usize>,
}

#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
    /// Key management (generate, inspect, insert session keys into the keystore).
    #[command(subcommand)]
    Key(sc_cli::KeySubcommand),

    /// Build a chain specification (`--chain dev|local|PATH`), plain or `--raw`.
    #[deprecated(note = "build-spec is kept for compatibility; prefer export-chain-spec")]
    BuildSpec(sc_cli::BuildSpecCmd),

    /// Export a chain specification (plain or `--raw`) to a file or stdout.
    ExportChainSpec(sc_cli::ExportChainSpecCmd),

    /// Write a consortium's own chain specification from a list of hospitals (JSON).
    ConsortiumSpec(crate::chain_spec::ConsortiumSpecCmd),
    /// Register on chain the records `medledger fhir ingest` collected (the hospital's account
    /// signs; its secret in MEDLEDGER_ACCOUNT_SECRET). Skips records already registered.
    RegisterRecords(crate::hospital::RegisterRecordsCmd),
    /// Check a hospital's opening of a delivery against the chain (for regulators).
    AuditDelivery(crate::audit::AuditDeliveryCmd),

    /// Validate blocks.
    CheckBlock(sc_cli::CheckBlockCmd),

    /// Export blocks.
    ExportBlocks(sc_cli::ExportBlocksCmd),

    /// Export the state of a given block into a chain spec.
    ExportState(sc_cli::ExportStateCmd),

    /// Import blocks.
    ImportBlocks(sc_cli::ImportBlocksCmd),

    /// Remove the whole chain.
    PurgeChain(sc_cli::PurgeChainCmd),

    /// Revert the chain to a previous state.
    Revert(sc_cli::RevertCmd),

    /// Db meta columns information.
    ChainInfo(sc_cli::ChainInfoCmd),

    /// Measure the cost of a storage read and write in this node's database, on the state of
    /// its best block: the runtime's `DbWeight` (scripts/bench-storage.sh).
    #[cfg(feature = "storage-benchmark")]
    BenchmarkStorage(frame_benchmarking_cli::StorageCmd),
}
