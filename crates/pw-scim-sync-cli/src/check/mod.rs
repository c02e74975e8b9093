//! `pw-activate-scim-sync check`: a read-only preflight that learns how the real
//! servers behave before the first write.
//!
//! Each probe asks one question, reports what was asked, what the server answered,
//! a [`Verdict`] (fine, degraded, blocking) and what the sync will do about it. It
//! sends only `GET` requests. The exit status is 0 when nothing is blocking, 1
//! otherwise; `--output json` prints the report as one JSON document.
//!
//! - `activate`: ACTIVATE access, organization, the complete snapshot, and the
//!   shape of one SSH-key lookup;
//! - `scim`: SCIM access (with every cause of a `401`/`403`), ownership and
//!   rate-limit headers; it runs the other SCIM probes:
//! - `sw`: the `sw` filter against an unfiltered listing selected here;
//! - `paging`: real page sizes, `startIndex`, cursor paging, pages per listing;
//! - `schemas`: `/Schemas` and `/ResourceTypes` against the attributes the sync
//!   writes;
//! - `names`: records this tool does not own that hold a desired name;
//! - `round_trip`: what the next run would PATCH on owned users.

mod activate;
mod names;
mod paging;
mod report;
mod round_trip;
mod schemas;
mod scim;
mod sw;

use std::io::Write;

use anyhow::{Context, Result};

pub use report::{Probe, Report, Verdict};

use crate::cli::Output;
use crate::exit::Exit;
use crate::settings::Settings;

/// Runs every probe, prints the report to `out` (text or JSON, as
/// `settings.run.output` says), and returns [`Exit::Success`] when nothing is
/// blocking, [`Exit::Fatal`] otherwise.
pub async fn check(settings: &Settings, out: &mut dyn Write) -> Result<Exit> {
    let report = run(settings).await;
    let exit = if report.worst() == Verdict::Blocking {
        Exit::Fatal
    } else {
        Exit::Success
    };
    let text = match settings.run.output {
        Output::Text => report.to_text(),
        Output::Json => {
            let mut text = serde_json::to_string_pretty(&report.to_json(exit.code()))?;
            text.push('\n');
            text
        }
    };
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    Ok(exit)
}

/// Runs every probe.
pub async fn run(settings: &Settings) -> Report {
    let mut report = Report::default();
    let desired = activate::probe(settings, &mut report).await;
    scim::probe(settings, desired.as_ref(), &mut report).await;
    report
}
