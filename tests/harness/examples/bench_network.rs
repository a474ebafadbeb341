//! Runs the 4-hospital network for a fixed time and writes mean block time, mean finality lag
//! (best − finalized, in blocks) and each node's peak RSS to a file.
//!
//! `bench_network NODE_BINARY SECONDS OUTPUT_FILE` (scripts/bench-network.sh builds and runs it).

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

use medledger_test_harness::{wait_until, Network};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, binary, seconds, output] = args.as_slice() else {
        return Err("usage: bench_network NODE_BINARY SECONDS OUTPUT_FILE".into());
    };
    let seconds: u64 = seconds
        .parse()
        .map_err(|_| format!("not a number of seconds: {seconds}"))?;

    let mut net = Network::new(binary);
    let names = ["alice", "bob", "charlie", "dave"];
    net.start_local_validators(&names)?;
    // Measure steady state: from the first finalized block on.
    wait_until("first finalized block", Duration::from_secs(120), || {
        Ok((net.node("alice").finalized_number()? >= 1).then_some(()))
    })?;

    let alice = net.node("alice");
    let start = Instant::now();
    let start_best = alice.best_number()?;
    let mut lags = Vec::new();
    while start.elapsed() < Duration::from_secs(seconds) {
        let best = alice.best_number()?;
        let finalized = alice.finalized_number()?;
        lags.push(best.saturating_sub(finalized));
        std::thread::sleep(Duration::from_secs(1));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let blocks = alice.best_number()?.saturating_sub(start_best);
    if blocks == 0 {
        return Err(format!("no block was authored in {elapsed:.0} s"));
    }
    let mean_block_time = elapsed / blocks as f64;
    let mean_lag = lags.iter().sum::<u64>() as f64 / lags.len().max(1) as f64;

    let mut report = String::new();
    writeln!(
        report,
        "# MedLedger 4-validator network, {} s on 127.0.0.1",
        seconds
    )
    .ok();
    writeln!(report, "node_binary: {binary}").ok();
    writeln!(report, "blocks_authored: {blocks}").ok();
    writeln!(report, "mean_block_time_s: {mean_block_time:.3}").ok();
    writeln!(report, "mean_finality_lag_blocks: {mean_lag:.2}").ok();
    for node in net.nodes() {
        let rss = node
            .peak_rss_kib()
            .map(|k| format!("{:.1}", k as f64 / 1024.0));
        writeln!(
            report,
            "peak_rss_mib.{}: {}",
            node.name,
            rss.unwrap_or_else(|| "n/a".into())
        )
        .ok();
    }
    std::fs::write(output, &report).map_err(|e| format!("cannot write {output}: {e}"))?;
    print!("{report}");
    Ok(())
}
