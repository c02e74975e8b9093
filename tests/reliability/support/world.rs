//! The ACTIVATE and SCIM emulators, each behind a [`FaultProxy`], and the
//! environment that points the binary at the proxies.
//!
//! The proxies draw their faults with the SCIM emulator's seed (the ACTIVATE one
//! with a variant of it), so a test fixes every draw with `ScimOptions::seed`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use testkit::activate::{ActivateEmulator, ActivateOptions, Fixture};
use testkit::proxy::{Dialect, FaultProxy};
use testkit::scim::{ScimEmulator, ScimOptions};

use super::{Outcome, run_bin};

/// Two emulators behind two proxies.
pub struct World {
    /// The ACTIVATE emulator (the source).
    pub activate: ActivateEmulator,
    /// The SCIM emulator (the target).
    pub scim: Arc<ScimEmulator>,
    /// In front of ACTIVATE.
    pub activate_proxy: FaultProxy,
    /// In front of SCIM.
    pub scim_proxy: FaultProxy,
}

impl World {
    /// Starts both emulators and their proxies.
    pub async fn start(fixture: Fixture, scim: ScimOptions) -> Self {
        Self::start_with(
            ActivateOptions {
                fixture,
                ..ActivateOptions::default()
            },
            scim,
        )
        .await
    }

    /// [`World::start`] with every ACTIVATE option.
    pub async fn start_with(activate: ActivateOptions, scim: ScimOptions) -> Self {
        let seed = scim.seed;
        let activate = ActivateEmulator::start(activate)
            .await
            .expect("start the ACTIVATE emulator");
        let scim = Arc::new(
            ScimEmulator::start(scim)
                .await
                .expect("start the SCIM emulator"),
        );
        let activate_proxy =
            FaultProxy::start(activate.base_url(), Dialect::Activate, seed ^ 0xac71_7a7e)
                .await
                .expect("start the ACTIVATE proxy");
        let scim_proxy = FaultProxy::start(scim.base_url(), Dialect::Scim, seed)
            .await
            .expect("start the SCIM proxy");
        Self {
            activate,
            scim,
            activate_proxy,
            scim_proxy,
        }
    }

    /// The SCIM base URL through the proxy.
    pub fn scim_url(&self) -> String {
        let base = url::Url::parse(self.scim.base_url()).expect("the emulator's URL");
        format!("{}{}", self.scim_proxy.url(), base.path())
    }

    /// The environment of a run: both sides through the proxies, JSON output and
    /// JSON logs, nothing inherited.
    pub fn env(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (
                "ACTIVATE_API_KEY".to_owned(),
                self.activate.api_key().to_owned(),
            ),
            ("ACTIVATE_API_URL".to_owned(), self.activate_proxy.url()),
            ("CW_SCIM_BASE_URL".to_owned(), self.scim_url()),
            (
                "CW_SCIM_BEARER_TOKEN".to_owned(),
                self.scim.token().to_owned(),
            ),
            ("OUTPUT".to_owned(), "json".to_owned()),
            ("LOG_FORMAT".to_owned(), "json".to_owned()),
            ("HTTP_TIMEOUT".to_owned(), "5".to_owned()),
        ])
    }

    /// Runs the binary with [`World::env`] plus `extra`.
    pub async fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Outcome {
        let mut env = self.env();
        for (name, value) in extra {
            env.insert((*name).to_owned(), (*value).to_owned());
        }
        run_bin(args, &env, Duration::from_secs(3600)).await
    }
}
