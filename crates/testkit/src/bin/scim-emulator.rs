//! `scim-emulator`: a strict, in-memory CoreWeave-like SCIM 2.0 server with fault
//! injection, for demos and manual testing. Prints its base URL and token, then
//! serves until Ctrl-C.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use testkit::scim::{Faults, PatchResponse, Quirks, ScimEmulator, ScimOptions};

/// A strict, in-memory CoreWeave-like SCIM 2.0 server with fault injection.
///
/// Serves `/Users`, `/Groups` (list with eq/sw filters and capped paging, get,
/// POST, PATCH), `/ServiceProviderConfig`, `/Schemas` and `/ResourceTypes` under
/// `http://<bind>/scim/<tenant>`. Strict by default. DELETE is refused (405) and
/// logged. Faults make requests fail; quirks (all off by default) are consistent
/// departures of a real server that answer successfully but keep or report less.
// Each bool is one command-line switch.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Bearer token clients must send.
    #[arg(long, default_value = "emulator-token")]
    token: String,
    /// Org segment of the base URL (/scim/TENANT).
    #[arg(long, default_value = "org-emulator")]
    tenant: String,
    /// Largest page a list returns (advertised as filter.maxResults).
    #[arg(long, default_value_t = 100)]
    page_cap: usize,
    /// Accept what lenient servers accept: no schemas, capitalised ops, string booleans, read-only and unknown attributes.
    #[arg(long)]
    lenient: bool,
    /// Answer a successful PATCH with 200 and the resource instead of 204.
    #[arg(long)]
    patch_returns_resource: bool,
    /// Largest accepted request body in bytes (larger: 413).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Seed the state from a JSON file shaped {"Users": [...], "Groups": [...]}.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    #[command(flatten)]
    http: common::HttpFaultArgs,

    /// Report totalResults off by this much (e.g. 3 or -2).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true,
        help_heading = "SCIM faults"
    )]
    total_results_offset: i64,
    /// Ignore startIndex: every list returns the first page.
    #[arg(long, help_heading = "SCIM faults")]
    ignore_start_index: bool,
    /// Answer filters using `sw` with 400 invalidFilter.
    #[arg(long, help_heading = "SCIM faults")]
    reject_sw: bool,

    /// Answer filters using `sw` with 200 and zero results (as a server that ignores the operator).
    #[arg(long, help_heading = "SCIM quirks")]
    sw_matches_nothing: bool,
    /// Offer cursor paging (RFC 9865): advertised in `ServiceProviderConfig`, `cursor` parameter, `nextCursor` in answers.
    #[arg(long, help_heading = "SCIM quirks")]
    cursor_paging: bool,
    /// Leave the CoreWeave user extension out of `/Schemas` and `/ResourceTypes`.
    #[arg(long, help_heading = "SCIM quirks")]
    no_extension_schema: bool,
    /// Store userName and email values lowercased.
    #[arg(long, help_heading = "SCIM quirks")]
    lowercase_names: bool,
    /// Do not store name.formatted.
    #[arg(long, help_heading = "SCIM quirks")]
    drop_name_formatted: bool,
    /// Do not store externalId at all (POST answers and listings come without it).
    #[arg(long, help_heading = "SCIM quirks")]
    drop_external_id: bool,
    /// Answer a startIndex past the last result with the first page again.
    #[arg(long, help_heading = "SCIM quirks")]
    restart_past_end: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    common::init_logging();
    let emulator = ScimEmulator::start(ScimOptions {
        bind: cli.bind,
        token: cli.token.clone(),
        tenant: cli.tenant.clone(),
        page_cap: cli.page_cap,
        strict: !cli.lenient,
        patch_response: if cli.patch_returns_resource {
            PatchResponse::Resource
        } else {
            PatchResponse::NoContent
        },
        faults: Faults {
            http: cli.http.to_faults(),
            total_results_offset: cli.total_results_offset,
            ignore_start_index: cli.ignore_start_index,
            reject_sw: cli.reject_sw,
        },
        quirks: Quirks {
            sw_matches_nothing: cli.sw_matches_nothing,
            cursor_paging: cli.cursor_paging,
            no_extension_schema: cli.no_extension_schema,
            lowercase_names: cli.lowercase_names,
            drop_name_formatted: cli.drop_name_formatted,
            drop_external_id: cli.drop_external_id,
            restart_past_end: cli.restart_past_end,
        },
        seed: cli.http.seed,
        max_body_bytes: cli.max_body_bytes,
    })
    .await
    .context("starting the SCIM emulator")?;
    if let Some(path) = &cli.state {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let state: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        emulator
            .seed_snapshot(&state)
            .with_context(|| format!("seeding from {}", path.display()))?;
    }
    common::serve_until_stopped(
        "SCIM emulator",
        &[
            ("CW_SCIM_BASE_URL", emulator.base_url()),
            ("CW_SCIM_BEARER_TOKEN", emulator.token()),
        ],
    )
    .await;
    let log = emulator.log();
    println!(
        "stopped after {} requests ({} writes, {} DELETE)",
        log.total(),
        log.writes(),
        log.count_method(testkit::request_log::Method::Delete)
    );
    Ok(())
}
