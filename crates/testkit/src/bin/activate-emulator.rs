//! `activate-emulator`: the ACTIVATE read API (users, groups, members, SSH keys) over
//! a JSON fixture, with fault injection. Prints its URL, org and API key, then
//! serves until Ctrl-C.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use testkit::activate::{ActivateEmulator, ActivateOptions, Faults, Fixture};
use testkit::synthetic::SyntheticOrg;

/// The ACTIVATE read API over a JSON fixture, with fault injection.
///
/// Serves GET `/api/auth/whoami/organization`, `/api/organizations/{org}/users`,
/// `/groups`, `/groups/{group}/members` and `/api/users/{username}/ssh-public-keys`,
/// and ACTIVATE's read-only SCIM server at `/api/organizations/{org}/scim/v2`
/// (`/Users`, `/Groups`). Accepts `Authorization: Basic base64("<key>:")` or
/// `Bearer <key>`; the SCIM endpoint takes `Bearer <SCIM token>`.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Organization fixture (JSON, format in the testkit README); default: the bundled example-lab.
    #[arg(long, value_name = "FILE", conflicts_with = "synthetic_users")]
    fixture: Option<PathBuf>,
    /// Serve a generated organization with this many users instead of a fixture.
    #[arg(long, value_name = "N")]
    synthetic_users: Option<usize>,
    /// Groups of the generated organization.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 20,
        requires = "synthetic_users"
    )]
    synthetic_groups: usize,
    /// API key to accept; default: a key that encodes 127.0.0.1:PORT, with the secret "emulator".
    #[arg(long)]
    api_key: Option<String>,
    /// Bearer token its SCIM endpoint accepts; default: "activate-scim-emulator".
    #[arg(long)]
    scim_token: Option<String>,
    /// Write the served fixture as JSON to this file and continue.
    #[arg(long, value_name = "FILE")]
    dump_fixture: Option<PathBuf>,

    #[command(flatten)]
    http: common::HttpFaultArgs,

    /// Report the users endpoint's total off by this much (e.g. 1 or -1).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true,
        help_heading = "ACTIVATE faults"
    )]
    total_offset: i64,

    /// The SCIM endpoint returns the users' keys (the CoreWeave extension) only when
    /// `attributes` asks for them.
    #[arg(long, help_heading = "ACTIVATE faults")]
    scim_extension_on_request: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    common::init_logging();
    let fixture = match (&cli.fixture, cli.synthetic_users) {
        (Some(path), _) => {
            Fixture::load(path).with_context(|| format!("loading {}", path.display()))?
        }
        (None, Some(users)) => SyntheticOrg {
            users,
            groups: cli.synthetic_groups,
            seed: cli.http.seed,
            ..SyntheticOrg::default()
        }
        .generate(),
        (None, None) => Fixture::example(),
    };
    if let Some(path) = &cli.dump_fixture {
        std::fs::write(path, fixture.to_json_pretty())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let emulator = ActivateEmulator::start(ActivateOptions {
        bind: cli.bind,
        fixture,
        api_key: cli.api_key.clone(),
        scim_token: cli.scim_token.clone(),
        faults: Faults {
            http: cli.http.to_faults(),
            total_offset: cli.total_offset,
            scim_extension_on_request: cli.scim_extension_on_request,
            ..Faults::default()
        },
        seed: cli.http.seed,
    })
    .await
    .context("starting the ACTIVATE emulator")?;
    common::serve_until_stopped(
        "ACTIVATE emulator",
        &[
            ("ACTIVATE_API_URL", emulator.base_url()),
            ("ACTIVATE_API_KEY", emulator.api_key()),
            ("ACTIVATE_ORG_NAME", &emulator.organization()),
            ("ACTIVATE_SCIM_URL", &emulator.scim_url()),
            ("ACTIVATE_SCIM_TOKEN", emulator.scim_token()),
        ],
    )
    .await;
    println!("stopped after {} requests", emulator.log().total());
    Ok(())
}
