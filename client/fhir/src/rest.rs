//! Docking, server side: fetch resources from a FHIR R4 server's REST API into an export
//! folder (one NDJSON file per type), which then ingests like a Bulk Data export.
//!
//! The bearer token is sent only to the origin (scheme, host, port) of the base URL it was
//! given for. A `next` link or a redirect to any other origin is refused with
//! [`Error::CrossOriginLink`] rather than followed without the token: the other server would
//! otherwise learn the token (if sent) or feed resources from a server the hospital never
//! chose into an export that ingests as its own records (if not), and a misconfigured or
//! compromised server would go unnoticed. Redirects within the origin are followed (at most
//! [`MAX_REDIRECTS`]). The base URL must be `https`; plain `http` is accepted only for a
//! loopback host and only when [`PlainHttp::LoopbackAllowed`] says so (a local proxy or test
//! server), so the token never crosses a network in clear.

use crate::error::{Error, IoContext, Result};
use crate::json::JsonTree;
use crate::resource::resource_key;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;
use url::{Origin, Url};
use zeroize::Zeroizing;

/// Redirects followed within the server's origin for one request.
pub const MAX_REDIRECTS: u32 = 5;

/// Whether a plain-http base URL is acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    /// Only `https` (the default for anything that leaves the machine).
    Refused,
    /// `http` to a loopback host (`localhost`, 127.0.0.0/8, `::1`) too.
    LoopbackAllowed,
}

/// How a fetch limits itself to resources changed since an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SinceParameter {
    /// `_lastUpdated=ge<instant>`: the standard search parameter every server supports.
    #[default]
    LastUpdated,
    /// `_since=<instant>`: Bulk Data's parameter, for servers that accept it on search.
    Since,
}

/// How to reach the hospital's FHIR server.
pub struct FhirServer {
    base_url: String,
    /// The only origin requests (and the token) go to.
    origin: Origin,
    bearer_token: Option<Zeroizing<String>>,
    agent: ureq::Agent,
    /// Entries per page asked for (`_count`).
    pub page_size: u32,
    /// Safety stop for servers whose `next` links never end.
    pub max_pages: u64,
    pub since_parameter: SinceParameter,
}

/// What a fetch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchReport {
    pub resources: BTreeMap<String, u64>,
    pub pages: u64,
}

impl FhirServer {
    /// A server at `base_url` (`https`, or loopback `http` if `plain_http` allows it).
    pub fn new(
        base_url: &str,
        bearer_token: Option<Zeroizing<String>>,
        plain_http: PlainHttp,
    ) -> Result<Self> {
        let insecure = |reason: &str| Error::InsecureServerUrl {
            url: base_url.to_string(),
            reason: reason.to_string(),
        };
        let url = Url::parse(base_url).map_err(|e| insecure(&e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if plain_http == PlainHttp::LoopbackAllowed && is_loopback(&url) => {}
            "http" if plain_http == PlainHttp::LoopbackAllowed => {
                return Err(insecure("plain http is allowed for a loopback host only"))
            }
            "http" => {
                return Err(insecure(
                    "plain http would send the token in clear; use https (or allow loopback http for a local proxy)",
                ))
            }
            _ => return Err(insecure("not an http(s) URL")),
        }
        // Redirects are followed by hand, so that none leaves the origin.
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(120))
            .redirects(0)
            .build();
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            origin: url.origin(),
            bearer_token,
            agent,
            page_size: 500,
            max_pages: 1_000_000,
            since_parameter: SinceParameter::default(),
        })
    }

    /// Searches each type (`GET [base]/[type]?_count=n[&_lastUpdated=ge<since>]`),
    /// following `link[relation=next]` until the last page, and writes every `match`
    /// entry's resource as a line of `out/<type>.ndjson`. `since` (a FHIR instant) limits
    /// the search to resources changed since then, as [`SinceParameter`] says; such an
    /// incremental fetch merges into the folder's earlier `<type>.ndjson` (changed
    /// resources replace their old version, the rest is kept), so ingesting the folder
    /// afterwards still gives the whole store, not only what changed.
    pub fn fetch_to_folder(
        &self,
        resource_types: &[&str],
        since: Option<&str>,
        out: &Path,
    ) -> Result<FetchReport> {
        std::fs::create_dir_all(out).context(|| format!("creating {}", out.display()))?;
        let mut report = FetchReport::default();
        for resource_type in resource_types {
            // Written under a temporary name, so a failed fetch never leaves a partial
            // file that would ingest as if complete.
            let final_path = out.join(format!("{resource_type}.ndjson"));
            let path = out.join(format!("{resource_type}.ndjson.partial"));
            let mut file = BufWriter::new(
                File::create(&path).context(|| format!("creating {}", path.display()))?,
            );
            let mut url = format!(
                "{}/{resource_type}?_count={}",
                self.base_url, self.page_size
            );
            if let Some(since) = since {
                url.push_str(match self.since_parameter {
                    SinceParameter::LastUpdated => "&_lastUpdated=ge",
                    SinceParameter::Since => "&_since=",
                });
                url.push_str(&percent_encode(since));
            }
            let mut next = Some(url);
            let mut count = 0u64;
            // `Type/id` of what this fetch wrote, so an incremental fetch can keep the
            // rest of the folder's earlier copy.
            let mut fetched = HashSet::new();
            while let Some(url) = next.take() {
                if report.pages >= self.max_pages {
                    return Err(Error::Http {
                        url,
                        reason: format!("more than {} pages", self.max_pages),
                    });
                }
                let bundle = self.get_bundle(&url)?;
                report.pages += 1;
                for entry in bundle
                    .get("entry")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if entry
                        .pointer("/search/mode")
                        .and_then(Value::as_str)
                        .is_some_and(|mode| mode != "match")
                    {
                        continue;
                    }
                    if let Some(resource) = entry.get("resource") {
                        writeln!(file, "{resource}")
                            .context(|| format!("writing {}", path.display()))?;
                        count += 1;
                        if since.is_some() {
                            if let Some(id) = resource.get("id").and_then(Value::as_str) {
                                fetched.insert(resource_key(resource_type, id));
                            }
                        }
                    }
                }
                next = next_link(&bundle).filter(|link| *link != url);
            }
            if since.is_some() && final_path.exists() {
                keep_unchanged(&final_path, resource_type, &fetched, &mut file)?;
            }
            file.flush()
                .context(|| format!("writing {}", path.display()))?;
            drop(file);
            std::fs::rename(&path, &final_path)
                .context(|| format!("renaming {}", path.display()))?;
            report.resources.insert(resource_type.to_string(), count);
        }
        Ok(report)
    }

    /// `url` parsed, if it is in the server's origin.
    fn same_origin(&self, url: &str) -> Result<Url> {
        let parsed = Url::parse(url).map_err(|e| Error::Http {
            url: url.to_string(),
            reason: format!("not a URL: {e}"),
        })?;
        if parsed.origin() != self.origin {
            return Err(Error::CrossOriginLink {
                url: url.to_string(),
                origin: self.origin.ascii_serialization(),
            });
        }
        Ok(parsed)
    }

    fn get_bundle(&self, url: &str) -> Result<Value> {
        let mut target = self.same_origin(url)?;
        let mut redirects = 0;
        let response = loop {
            let mut request = self
                .agent
                .request_url("GET", &target)
                .set("Accept", "application/fhir+json");
            if let Some(token) = &self.bearer_token {
                request = request.set("Authorization", &format!("Bearer {}", token.as_str()));
            }
            let response = request.call().map_err(|error| Error::Http {
                url: target.to_string(),
                reason: match error {
                    ureq::Error::Status(401, _) => {
                        "401 Unauthorized — check the bearer token".to_string()
                    }
                    ureq::Error::Status(code, response) => {
                        format!("status {code} {}", response.status_text())
                    }
                    ureq::Error::Transport(transport) => transport.to_string(),
                },
            })?;
            if !(300..400).contains(&response.status()) {
                break response;
            }
            let location = response.header("Location").ok_or_else(|| Error::Http {
                url: target.to_string(),
                reason: format!("status {} without a Location", response.status()),
            })?;
            let next = target.join(location).map_err(|e| Error::Http {
                url: target.to_string(),
                reason: format!("redirect to a bad URL {location:?}: {e}"),
            })?;
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(Error::Http {
                    url: url.to_string(),
                    reason: format!("more than {MAX_REDIRECTS} redirects"),
                });
            }
            target = self.same_origin(next.as_str())?;
        };
        let bundle: Value =
            serde_json::from_reader(response.into_reader()).map_err(|e| Error::Http {
                url: url.to_string(),
                reason: format!("answer is not JSON: {e}"),
            })?;
        let found = bundle
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("non-resource");
        if found != "Bundle" {
            return Err(Error::NotABundle {
                url: url.to_string(),
                found: found.to_string(),
            });
        }
        Ok(bundle)
    }
}

/// Copies the lines of an earlier fetch (`old`) that this fetch did not replace.
/// Lines that are not a resource with an id are kept too: ingest reports them.
fn keep_unchanged(
    old: &Path,
    resource_type: &str,
    fetched: &HashSet<String>,
    out: &mut impl Write,
) -> Result<()> {
    let file = File::open(old).context(|| format!("opening {}", old.display()))?;
    let mut tree = JsonTree::default();
    for line in BufReader::new(file).lines() {
        let line = line.context(|| format!("reading {}", old.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let replaced = tree.parse(&line).ok().is_some_and(|resource| {
            resource
                .get("id")
                .and_then(|id| id.as_str())
                .is_some_and(|id| fetched.contains(&resource_key(resource_type, &id)))
        });
        if !replaced {
            writeln!(out, "{line}").context(|| format!("merging {}", old.display()))?;
        }
    }
    Ok(())
}

/// `localhost` or a loopback address.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(address)) => address.is_loopback(),
        Some(url::Host::Ipv6(address)) => address.is_loopback(),
        None => false,
    }
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle.get("link")?.as_array()?.iter().find_map(|link| {
        (link.get("relation")?.as_str()? == "next")
            .then(|| link.get("url")?.as_str().map(str::to_string))?
    })
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
