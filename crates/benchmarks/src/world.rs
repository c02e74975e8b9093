//! The in-process world a sync runs against: the ACTIVATE and SCIM emulators, the
//! settings that point the CLI's `run::sync` at them, and one timed run.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use pw_scim_sync_cli::cli::{KeysSource, Output};
use pw_scim_sync_cli::run::{self, Mode, RunReport};
use pw_scim_sync_cli::settings::{
    ActivateSettings, RunSettings, ScimSettings, Settings, SourceSettings,
};
use secrecy::SecretString;
use testkit::activate::{ActivateEmulator, ActivateOptions, Fixture};
use testkit::faults::{HttpFaults, Latency};
use testkit::scim::{ScimEmulator, ScimOptions};
use testkit::synthetic::SyntheticOrg;
use url::Url;

use crate::capture::{Recorder, Records};

/// Both emulators.
pub struct World {
    /// The ACTIVATE emulator.
    pub activate: ActivateEmulator,
    /// The SCIM emulator (CoreWeave's stand-in).
    pub scim: ScimEmulator,
}

/// Faults that only add a fixed latency (none for zero).
pub fn latency(delay: Duration) -> HttpFaults {
    HttpFaults {
        latency: if delay.is_zero() {
            Latency::None
        } else {
            Latency::Fixed(delay)
        },
        ..HttpFaults::default()
    }
}

/// A synthetic organization.
pub fn org(users: usize, groups: usize) -> Fixture {
    SyntheticOrg {
        organization: "bench-lab".to_owned(),
        users,
        groups,
        seed: 42,
    }
    .generate()
}

impl World {
    /// Starts both emulators: ACTIVATE serving `fixture` with `activate_latency` per
    /// request, an empty SCIM emulator with `scim` faults.
    pub async fn start(
        fixture: Fixture,
        activate_latency: Duration,
        scim: testkit::scim::Faults,
    ) -> Result<Self> {
        let activate = ActivateEmulator::start(ActivateOptions {
            fixture,
            faults: testkit::activate::Faults {
                http: latency(activate_latency),
                ..testkit::activate::Faults::default()
            },
            ..ActivateOptions::default()
        })
        .await
        .context("cannot start the ACTIVATE emulator")?;
        let scim = ScimEmulator::start(ScimOptions {
            faults: scim,
            ..ScimOptions::default()
        })
        .await
        .context("cannot start the SCIM emulator")?;
        Ok(Self { activate, scim })
    }

    /// Settings for a sync of the whole organization at `concurrency`.
    pub fn settings(&self, concurrency: usize) -> Result<Settings> {
        self.settings_to(Url::parse(self.scim.base_url())?, concurrency)
    }

    /// As [`settings`](Self::settings), writing to `scim_url` (a proxy in front of
    /// the SCIM emulator).
    pub fn settings_to(&self, scim_url: Url, concurrency: usize) -> Result<Settings> {
        Ok(Settings {
            activate: ActivateSettings {
                credential: SecretString::from(self.activate.api_key().to_owned()),
                credential_var: pw_scim_sync_cli::env_vars::ACTIVATE_API_KEY.to_owned(),
                api_url: Some(Url::parse(self.activate.base_url())?),
                org_name: Some(self.activate.organization()),
                source: SourceSettings::Rest,
                keys_source: KeysSource::Api,
                pw_cli_path: "pw".into(),
            },
            scim: ScimSettings {
                base_url: scim_url,
                token: SecretString::from(self.scim.token().to_owned()),
            },
            run: RunSettings {
                scope: None,
                max_deactivations: "10%".parse()?,
                allow_mass_deactivation: false,
                max_rekeys: reconcile_core::DeactivationLimit::Absolute(25),
                allow_mass_rekey: false,
                dry_run: false,
                output: Output::Text,
                concurrency,
                timeout: Duration::from_secs(30),
                deadline: None,
                heartbeat_url: None,
                pushgateway_url: None,
                ca_bundle: None,
            },
        })
    }
}

/// One sync and what it logged.
#[derive(Debug)]
pub struct Run {
    /// The CLI's report.
    pub report: RunReport,
    /// Wall time of `run::sync`.
    pub wall: Duration,
    /// Its log events.
    pub records: Records,
}

impl Run {
    /// Time spent reading ACTIVATE (until the CLI logged that it had).
    pub fn source_time(&self) -> Duration {
        self.records
            .mark("read the ACTIVATE organization")
            .unwrap_or_default()
    }

    /// Time spent reading the SCIM side.
    pub fn observe_time(&self) -> Duration {
        self.records
            .mark("read the owned SCIM records")
            .map_or(Duration::ZERO, |at| at.saturating_sub(self.source_time()))
    }

    /// Where the time went, in the apply order: reading ACTIVATE, reading SCIM, then
    /// each apply phase that had operations (from the end of the previous phase to
    /// its last operation; the first phase includes planning).
    pub fn phases(&self) -> Vec<(&'static str, Duration)> {
        const ORDER: [(&str, &[&str]); 5] = [
            ("deactivations", &["deactivate"]),
            ("user updates", &["re-key", "reactivate", "update user"]),
            ("user creations", &["create user"]),
            ("groups", &["create group", "update group"]),
            ("group emptying", &["empty group"]),
        ];
        let mut out = vec![
            ("ACTIVATE read", self.source_time()),
            ("SCIM read", self.observe_time()),
        ];
        let mut previous = self.source_time() + self.observe_time();
        for (name, kinds) in ORDER {
            let end = kinds
                .iter()
                .filter_map(|k| self.records.operations.get(*k))
                .map(|span| span.last)
                .max();
            if let Some(end) = end {
                out.push((name, end.saturating_sub(previous)));
                previous = end;
            }
        }
        out.push(("rest", self.wall.saturating_sub(previous)));
        out
    }

    /// Everything after the ACTIVATE read: SCIM reads, planning, writes.
    pub fn scim_side_time(&self) -> Duration {
        self.wall.saturating_sub(self.source_time())
    }
}

/// Runs the CLI's `run::sync` (apply mode, plan text to nowhere) and times it.
pub async fn sync(settings: &Settings) -> Result<Run> {
    let recorder = Recorder::global();
    recorder.start();
    let started = Instant::now();
    let report = run::sync(
        settings,
        Mode::Apply,
        Arc::new(AtomicBool::new(false)),
        &mut std::io::sink(),
    )
    .await
    .context("the sync failed")?;
    let wall = started.elapsed();
    Ok(Run {
        report,
        wall,
        records: recorder.take(),
    })
}
