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
}
