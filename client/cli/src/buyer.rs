//! `medledger buyer …`: the buyer's whole path on chain — open listings, the token's key on
//! chain, buying at the version shown, orders, the download checked against the receipt, and
//! settling.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use medledger_chain::{
    Account, AccountId, Chain, Included, ListingInfo, OrderInfo, OrderState, PriceModel,
    ReceiptInfo,
};
use medledger_delivery_http::FetchReport;
use medledger_sealing::token::Pkcs11Token;
use medledger_sealing::{DeliveryKey, DigestCheck, TokenBackend};
use serde_json::{json, Value};

use crate::chain_options::{med, parse_amount, ChainOptions, KeyOptions};
use crate::token_options::TokenOptions;
use crate::CommandResult;

#[derive(Args)]
pub struct BuyerArgs {
    #[command(flatten)]
    chain: ChainOptions,
    #[command(flatten)]
    key: KeyOptions,
    #[command(subcommand)]
    command: BuyerCommand,
}

#[derive(Subcommand)]
enum BuyerCommand {
    /// The open listings: price, purpose, most records, custodian.
    Listings {
        /// Closed listings too.
        #[arg(long)]
        all: bool,
    },
    /// Register the token's delivery public key on chain (the key deliveries are sealed to).
    RegisterKey(TokenOptions),
    /// Buy a listing at the version shown (or `--version`), holding at most `--max-price`.
    Buy {
        listing: u64,
        /// The most you pay, in MED (`12.5`) or smallest units (`12500000000000u`).
        #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
        max_price: u128,
        /// The listing version you agreed to (as `buyer listings` shows it); by default the
        /// version this command reads and prints first.
        #[arg(long)]
        version: Option<u32>,
    },
    /// Buy, wait for the delivery, download it, check it and open it with the token: `buy`,
    /// `fetch` and `open` in one command. The token is logged in to first and its key
    /// compared with yours on chain: nothing is bought if either fails.
    Get(GetArgs),
    /// Your orders and their state.
    Orders,
    /// Download an order's sealed delivery from its custodian and check it against the chain's
    /// receipt (the digest is recorded for `medledger open`).
    Fetch {
        order: u64,
        /// Where to write the sealed container (resumes from `<OUT>.partial`).
        out: PathBuf,
        /// Another delivery endpoint than the custodian's on chain.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
    },
    /// Accept a delivery: the price goes to the custodian now.
    Confirm { order: u64 },
    /// Dispute a delivery within the dispute window (holds a bond; the consortium votes).
    Dispute { order: u64 },
    /// Take the price back for an order not delivered by its deadline.
    Refund { order: u64 },
}

pub fn run(args: BuyerArgs) -> CommandResult {
    let BuyerArgs {
        chain: options,
        key,
        command,
    } = args;
    let command = match command {
        // Before the chain is contacted: `get` first checks what it can locally (the
        // account, the token and its PIN).
        BuyerCommand::Get(args) => return get(&options, &key, args),
        command => command,
    };
    let chain = options.connect()?;
    match command {
        BuyerCommand::Listings { all } => listings(&chain, &options, all),
        BuyerCommand::RegisterKey(token) => {
            let account = key.account("buyer")?;
            let public = medledger_sealing::token::read_delivery_key(&token.config())?;
            let hex = public.to_chain_hex();
            let bytes: [u8; 33] = hex::decode(&hex[2..])?
                .try_into()
                .map_err(|_| "the token's key is not a 33-byte compressed point")?;
            let included = chain.register_delivery_key(&account, bytes, key.finalized())?;
            options.print_tx(
                &format!(
                    "registered delivery key {hex} for {}",
                    account.account_id()
                ),
                &included,
                json!({"action": "register-key", "account": account.account_id().to_string(), "key": hex}),
            );
            Ok(())
        }
        BuyerCommand::Buy {
            listing,
            max_price,
            version,
        } => {
            let account = key.account("buyer")?;
            let bought = buy(
                &chain, &options, &key, &account, listing, max_price, version, None,
            )?;
            options.print_tx(
                &format!(
                    "bought listing {listing} version {}: order {}, {} held",
                    bought.version,
                    bought.order,
                    med(bought.held)
                ),
                &bought.included,
                json!({"action": "buy", "listing": listing, "version": bought.version, "order": bought.order, "held": bought.held.to_string()}),
            );
            Ok(())
        }
        BuyerCommand::Get(_) => unreachable!("`buyer get` is handled above"),
        BuyerCommand::Orders => {
            let me = key.account("buyer")?.account_id();
            let orders: Vec<OrderInfo> = chain
                .orders()?
                .into_iter()
                .filter(|o| o.buyer == me)
                .collect();
            if options.json {
                println!("{}", Value::Array(orders.iter().map(order_json).collect()));
            } else if orders.is_empty() {
                println!("{me} has no orders");
            } else {
                for order in &orders {
                    println!("{}", describe_order(order));
                }
            }
            Ok(())
        }
        BuyerCommand::Fetch {
            order,
            out,
            endpoint,
        } => {
            let (report, receipt) = fetch_order(&chain, &key, order, &out, endpoint)?;
            options.print(
                &format!(
                    "downloaded order {order} ({} bytes, {} records) to {}; digest matches the \
                     chain's receipt\nopen it with: medledger open {} <OUT.tar>",
                    report.size,
                    receipt.record_count,
                    report.path.display(),
                    report.path.display()
                ),
                json!({"action": "fetch", "order": order, "path": report.path, "size": report.size,
                       "digest": format!("0x{}", hex::encode(receipt.ciphertext_digest))}),
            );
            Ok(())
        }
        BuyerCommand::Confirm { order } => settle(&chain, &options, &key, order, "confirm"),
        BuyerCommand::Dispute { order } => settle(&chain, &options, &key, order, "dispute"),
        BuyerCommand::Refund { order } => settle(&chain, &options, &key, order, "refund"),
    }
}

use sp_core::Pair;

/// A purchase made by [`buy`].
struct Bought {
    included: Included,
    order: u64,
    version: u32,
    /// The listing's maximum cost, held.
    held: u128,
}

/// Buys `listing` at `version` (default: the version read now, which is shown first unless
/// `--json`), after checking that it is open, that its maximum cost is within `max_price` and
/// that the buyer has a delivery key — the key of `token`, the token that is to open the
/// delivery, when it is given ([`check_delivery_key`]): nothing is spent when one of these
/// fails.
#[allow(clippy::too_many_arguments)]
fn buy(
    chain: &Chain,
    options: &ChainOptions,
    key: &KeyOptions,
    account: &Account,
    listing: u64,
    max_price: u128,
    version: Option<u32>,
    token: Option<&DeliveryKey>,
) -> Result<Bought, Box<dyn std::error::Error>> {
    let shown = chain
        .listing(listing)?
        .ok_or_else(|| format!("no listing {listing}"))?;
    if !shown.active {
        return Err(format!("listing {listing} is closed").into());
    }
    let version = version.unwrap_or(shown.version);
    if !options.json {
        println!("{}", describe_listing(chain, &shown));
    }
    let cost = shown.max_cost().ok_or("the listing's price overflows")?;
    if cost > max_price {
        return Err(format!(
            "listing {listing} may cost {} (held at purchase), more than --max-price {}",
            med(cost),
            med(max_price)
        )
        .into());
    }
    let registered = chain.delivery_key(&account.account_id())?;
    check_delivery_key(&account.account_id(), registered.as_deref(), token)?;
    let (included, order) = chain.buy(account, listing, version, max_price, key.finalized())?;
    Ok(Bought {
        included,
        order,
        version,
        held: cost,
    })
}

/// Refuses a purchase whose delivery the buyer could not open: `account` needs a delivery
/// key on chain (`on_chain`, the key deliveries are sealed to) and, when the token that is to
/// open the delivery is known (`buyer get`), the token's key must be that one.
fn check_delivery_key(
    account: &AccountId,
    on_chain: Option<&[u8]>,
    token: Option<&DeliveryKey>,
) -> Result<(), String> {
    let Some(on_chain) = on_chain else {
        return Err(format!(
            "{account} has no delivery key on chain: run `medledger buyer register-key` first"
        ));
    };
    match token {
        Some(token) if token.compressed().as_slice() != on_chain => Err(format!(
            "the token's delivery key {} is not the key {account} registered on chain (0x{}), \
             which the delivery would be sealed to: nothing was bought. Use the token holding \
             the registered key (--token-label, --key-id), or register this token's key with \
             `medledger buyer register-key`",
            token.to_chain_hex(),
            hex::encode(on_chain)
        )),
        _ => Ok(()),
    }
}

/// Downloads the buyer's `order` from its custodian's endpoint on chain (or `endpoint`) into
/// `out`, checked against the chain's receipt, whose digest it records for `open`.
fn fetch_order(
    chain: &Chain,
    key: &KeyOptions,
    order: u64,
    out: &Path,
    endpoint: Option<String>,
) -> Result<(FetchReport, ReceiptInfo), Box<dyn std::error::Error>> {
    let secret = key.secret("buyer")?;
    let account = Account::from_secret(&secret)?;
    let info = own_order(chain, &account, order)?;
    let receipt = info.receipt.clone().ok_or_else(|| {
        format!(
            "order {order} has no delivery receipt yet ({}); try again later",
            info.state
        )
    })?;
    let endpoint = match endpoint {
        Some(endpoint) => endpoint,
        None => {
            chain
                .hospital(&info.custodian)?
                .ok_or_else(|| {
                    format!(
                        "custodian {} is no member with a delivery endpoint; pass --endpoint",
                        info.custodian
                    )
                })?
                .1
        }
    };
    let signer = sp_core::sr25519::Pair::from_string(&secret, None)
        .map_err(|e| format!("the account secret is not a valid sr25519 secret: {e:?}"))?;
    let report =
        crate::fetch::download_checked(&endpoint, order, &signer, out, &receipt.ciphertext_digest)?;
    Ok((report, receipt))
}

#[derive(Args)]
struct GetArgs {
    listing: u64,
    /// The most you pay, in MED (`12.5`) or smallest units (`12500000000000u`).
    #[arg(long, value_name = "AMOUNT", value_parser = parse_amount)]
    max_price: u128,
    /// The listing version you agreed to; by default the version this command reads and
    /// prints first.
    #[arg(long)]
    version: Option<u32>,
    /// Where to write the opened delivery (a tar), only ever complete.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Where to keep the sealed download (default: `<OUT>.sealed`).
    #[arg(long, value_name = "FILE")]
    sealed: Option<PathBuf>,
    /// Seconds to wait for the custodian's delivery receipt.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    timeout: u64,
    /// Another delivery endpoint than the custodian's on chain.
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,
    #[command(flatten)]
    token: TokenOptions,
}

/// `buyer get`: buy, wait for the receipt, fetch, open — the steps of `buy`, `fetch` and
/// `open`, in one command. The token is opened with its PIN, and its key compared with the
/// buyer's on chain, before the purchase: a missing token, a wrong PIN or another key costs
/// nothing.
fn get(options: &ChainOptions, key: &KeyOptions, args: GetArgs) -> CommandResult {
    let account = key.account("buyer")?;
    let sealed = args.sealed.clone().unwrap_or_else(|| {
        let mut name = args.out.clone().into_os_string();
        name.push(".sealed");
        PathBuf::from(name)
    });
    // Everything that can be refused locally is, before anything is spent: the PIN is asked
    // for and the token logged in to now, not after the wait, and the session is kept for
    // opening the delivery (the PIN itself is dropped at once).
    crate::interrupt::no_core_dumps()?;
    let pin = args.token.pin()?;
    let token = Pkcs11Token::open(&args.token.config(), &pin)?;
    drop(pin);
    let chain = &options.connect()?;
    let bought = buy(
        chain,
        options,
        key,
        &account,
        args.listing,
        args.max_price,
        args.version,
        Some(&token.delivery_key()),
    )?;
    let order = bought.order;
    if !options.json {
        // The one JSON value comes at the end.
        options.print_tx(
            &format!(
                "bought listing {} version {}: order {order}, {} held",
                args.listing,
                bought.version,
                med(bought.held)
            ),
            &bought.included,
            Value::Null,
        );
        println!(
            "waiting for the custodian's delivery receipt of order {order} (at most {} s)",
            args.timeout
        );
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(args.timeout);
    loop {
        let info = chain
            .order(order)?
            .ok_or_else(|| format!("order {order} is no longer on chain"))?;
        if info.receipt.is_some() {
            break;
        }
        if info.state != OrderState::Paid {
            return Err(format!(
                "order {order} was not delivered: {} (the custodian had nothing it may deliver, \
                 and the price came back)",
                info.state
            )
            .into());
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "order {order} has no delivery receipt after {} s ({}); it stays bought: \
                 `medledger buyer fetch {order} OUT` once `buyer orders` shows the receipt, or \
                 `medledger buyer refund {order}` after its deadline (block {})",
                args.timeout, info.state, info.deadline
            )
            .into());
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
    let (report, receipt) = fetch_order(chain, key, order, &sealed, args.endpoint)?;
    if !options.json {
        println!(
            "downloaded order {order} ({} bytes, {} records) to {}; digest matches the chain's \
             receipt",
            report.size,
            receipt.record_count,
            report.path.display()
        );
    }
    let opened = crate::envelope::open_with_opened_token(
        &token,
        &report.path,
        &args.out,
        DigestCheck::Expect(receipt.ciphertext_digest),
    )?;
    options.print(
        &format!(
            "opened {} bytes of order {order} to {}",
            opened.plaintext_len,
            args.out.display()
        ),
        json!({"action": "get", "listing": args.listing, "version": bought.version,
               "order": order, "held": bought.held.to_string(),
               "block": bought.included.block_number, "block_hash": bought.included.block_hash,
               "finalized": bought.included.finalized,
               "record_count": receipt.record_count, "sealed": report.path, "size": report.size,
               "digest": format!("0x{}", hex::encode(receipt.ciphertext_digest)),
               "out": args.out, "plaintext_size": opened.plaintext_len}),
    );
    Ok(())
}

/// The order, if it exists and `account` bought it.
fn own_order(chain: &Chain, account: &Account, order: u64) -> Result<OrderInfo, String> {
    let info = chain
        .order(order)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no order {order} on chain"))?;
    if info.buyer != account.account_id() {
        return Err(format!(
            "order {order} is not yours: it was placed by {}, and this key is {}",
            info.buyer,
            account.account_id()
        ));
    }
    Ok(info)
}

fn settle(
    chain: &Chain,
    options: &ChainOptions,
    key: &KeyOptions,
    order: u64,
    action: &str,
) -> CommandResult {
    let account = key.account("buyer")?;
    own_order(chain, &account, order)?;
    let included = match action {
        "confirm" => chain.confirm(&account, order, key.finalized())?,
        "dispute" => chain.dispute(&account, order, key.finalized())?,
        _ => chain.refund(&account, order, key.finalized())?,
    };
    let state = chain
        .order(order)?
        .map(|o| o.state.to_string())
        .unwrap_or_default();
    options.print_tx(
        &format!("{action} order {order} ({state})"),
        &included,
        json!({"action": action, "order": order, "state": state}),
    );
    Ok(())
}

fn price_text(listing: &ListingInfo) -> String {
    match listing.price {
        PriceModel::PerRecord(each) => format!(
            "{} per record, at most {} records",
            med(each),
            listing.max_records
        ),
        PriceModel::Flat(price) => format!(
            "{} flat, at most {} records",
            med(price),
            listing.max_records
        ),
    }
}

fn describe_listing(chain: &Chain, listing: &ListingInfo) -> String {
    let custodian = chain
        .hospital(&listing.custodian)
        .ok()
        .flatten()
        .map(|(name, _)| format!("{name} ({})", listing.custodian))
        .unwrap_or_else(|| listing.custodian.to_string());
    format!(
        "listing {} version {}{}: {} for {}; {}; categories {}; custodian {}",
        listing.id,
        listing.version,
        if listing.active { "" } else { " (closed)" },
        listing.summary,
        listing.purpose,
        price_text(listing),
        if listing.categories.is_empty() {
            "all".to_string()
        } else {
            listing.categories.join(",")
        },
        custodian
    )
}

pub fn listing_json(listing: &ListingInfo) -> Value {
    let (model, price) = match listing.price {
        PriceModel::PerRecord(each) => ("per-record", each),
        PriceModel::Flat(price) => ("flat", price),
    };
    json!({
        "id": listing.id,
        "version": listing.version,
        "active": listing.active,
        "custodian": listing.custodian.to_string(),
        "summary": listing.summary,
        "purpose": listing.purpose.name(),
        "categories": listing.categories,
        "time_range": [listing.time_from, listing.time_until],
        "price_model": model,
        "price": price.to_string(),
        "max_records": listing.max_records,
        "max_cost": listing.max_cost().map(|c| c.to_string()),
        "deposit": listing.deposit.to_string(),
        "awaiting_delivery": listing.awaiting_delivery,
    })
}

fn listings(chain: &Chain, options: &ChainOptions, all: bool) -> CommandResult {
    let listings: Vec<ListingInfo> = chain
        .listings()?
        .into_iter()
        .filter(|l| all || l.active)
        .collect();
    if options.json {
        println!(
            "{}",
            Value::Array(listings.iter().map(listing_json).collect())
        );
    } else if listings.is_empty() {
        println!("no open listings");
    } else {
        for listing in &listings {
            println!("{}", describe_listing(chain, listing));
        }
    }
    Ok(())
}

fn describe_order(order: &OrderInfo) -> String {
    let mut text = format!(
        "order {}: listing {} v{} for {}, {} held, {}; custodian {}; placed at block {}, \
         deadline block {}",
        order.id,
        order.listing,
        order.listing_version,
        order.purpose,
        med(order.price),
        order.state,
        order.custodian,
        order.placed_at,
        order.deadline
    );
    if let Some(receipt) = &order.receipt {
        text.push_str(&format!(
            "\n  receipt: {} records, {} bytes, digest 0x{}",
            receipt.record_count,
            receipt.size,
            hex::encode(receipt.ciphertext_digest)
        ));
    }
    text
}

fn order_json(order: &OrderInfo) -> Value {
    json!({
        "id": order.id,
        "buyer": order.buyer.to_string(),
        "custodian": order.custodian.to_string(),
        "listing": order.listing,
        "listing_version": order.listing_version,
        "purpose": order.purpose.name(),
        "price": order.price.to_string(),
        "state": order.state.name(),
        "placed_at": order.placed_at,
        "deadline": order.deadline,
        "receipt": order.receipt.as_ref().map(|r| json!({
            "ciphertext_digest": format!("0x{}", hex::encode(r.ciphertext_digest)),
            "size": r.size,
            "record_count": r.record_count,
            "records_root": format!("0x{}", hex::encode(r.records_root)),
            "receipt_block": r.receipt_block,
        })),
    })
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    /// The P-256 generator (odd y) and its negation: two different valid delivery keys.
    const KEY: &str = "0x036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";
    const OTHER_KEY: &str = "0x026b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296";

    fn key(hex: &str) -> DeliveryKey {
        DeliveryKey::from_str(hex).expect("a point on P-256")
    }

    #[test]
    fn a_token_holding_the_registered_key_may_buy() {
        let account = AccountId::from([7u8; 32]);
        let registered = key(KEY).compressed();
        assert_eq!(
            check_delivery_key(&account, Some(&registered), Some(&key(KEY))),
            Ok(())
        );
        // `buyer buy` has no token to compare: the registered key is enough.
        assert_eq!(
            check_delivery_key(&account, Some(&registered), None),
            Ok(())
        );
    }

    #[test]
    fn a_token_with_another_key_than_the_registered_one_is_refused_by_name() {
        let account = AccountId::from([7u8; 32]);
        let registered = key(KEY).compressed();
        let error = check_delivery_key(&account, Some(&registered), Some(&key(OTHER_KEY)))
            .expect_err("another key");
        assert!(
            error.starts_with(&format!(
                "the token's delivery key {OTHER_KEY} is not the key {account} registered on \
                 chain ({KEY})"
            )),
            "{error}"
        );
        assert!(error.contains("nothing was bought"), "{error}");
        assert!(error.contains("register-key"), "{error}");
    }

    #[test]
    fn no_registered_key_is_refused_with_or_without_a_token() {
        let account = AccountId::from([7u8; 32]);
        for token in [None, Some(key(KEY))] {
            let error = check_delivery_key(&account, None, token.as_ref()).expect_err("no key");
            assert_eq!(
                error,
                format!(
                    "{account} has no delivery key on chain: run `medledger buyer register-key` \
                     first"
                )
            );
        }
    }
}
