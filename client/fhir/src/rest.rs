//! Docking, server side: fetch resources from a FHIR R4 server's REST API into an export
//! folder (one NDJSON file per type), which then ingests like a Bulk Data export.

use crate::error::{Error, IoContext, Result};
use crate::json::JsonTree;
use crate::resource::resource_key;
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Duration;
use zeroize::Zeroizing;

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
    pub fn new(base_url: &str, bearer_token: Option<String>) -> Self {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(120))
            .build();
        Self {
            base_url: base_url.trim_end_matches('/').to_string(),
            bearer_token: bearer_token.map(Zeroizing::new),
            agent,
            page_size: 500,
            max_pages: 1_000_000,
            since_parameter: SinceParameter::default(),
        }
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

    fn get_bundle(&self, url: &str) -> Result<Value> {
        let mut request = self.agent.get(url).set("Accept", "application/fhir+json");
        if let Some(token) = &self.bearer_token {
            request = request.set("Authorization", &format!("Bearer {}", token.as_str()));
        }
        let response = request.call().map_err(|error| Error::Http {
            url: url.to_string(),
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
