//! Where figures go, and the targets they are compared with.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Value, json};

/// The output directory and mode.
#[derive(Debug)]
pub struct Out {
    dir: PathBuf,
    /// Tiny sizes.
    pub smoke: bool,
}

impl Out {
    /// `dir`, or the default for the mode; created if missing.
    pub fn new(dir: Option<PathBuf>, smoke: bool) -> Result<Self> {
        let dir = dir.unwrap_or_else(|| {
            let root = crate::workspace_root();
            if smoke {
                root.join("target").join("bench-results-smoke")
            } else {
                root.join("bench-results")
            }
        });
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
        Ok(Self { dir, smoke })
    }

    /// Writes `<name>.json`: the machine, the configuration, the results and the
    /// targets; prints the targets.
    pub fn write(
        &self,
        name: &str,
        config: &Value,
        results: &Value,
        targets: &[Target],
    ) -> Result<()> {
        let document = json!({
            "benchmark": name,
            "smoke": self.smoke,
            "machine": crate::machine::describe(),
            "config": config,
            "results": results,
            "targets": targets,
        });
        let path = self.dir.join(format!("{name}.json"));
        let mut text = serde_json::to_string_pretty(&document)?;
        text.push('\n');
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}", render_targets(targets));
        println!("figures written to {}", path.display());
        Ok(())
    }
}

/// A target and whether the measurement met it.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// What is measured.
    pub name: String,
    /// The bound, as text (`≤ 150 ms`).
    pub bound: String,
    /// The measurement, as text.
    pub measured: String,
    /// Whether it was met.
    pub met: bool,
}

impl Target {
    /// `measured ≤ bound`.
    pub fn at_most(name: &str, measured: f64, bound: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            bound: format!("≤ {bound} {unit}").trim_end().to_owned(),
            measured: format!("{measured:.3} {unit}").trim_end().to_owned(),
            met: measured <= bound,
        }
    }

    /// `measured ≥ bound`.
    pub fn at_least(name: &str, measured: f64, bound: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            bound: format!("≥ {bound} {unit}").trim_end().to_owned(),
            measured: format!("{measured:.3} {unit}").trim_end().to_owned(),
            met: measured >= bound,
        }
    }

    /// An exact expectation.
    pub fn equal(
        name: &str,
        measured: impl std::fmt::Display,
        expected: impl std::fmt::Display,
    ) -> Self {
        let measured = measured.to_string();
        let expected = expected.to_string();
        Self {
            name: name.to_owned(),
            met: measured == expected,
            bound: format!("= {expected}"),
            measured,
        }
    }
}

fn render_targets(targets: &[Target]) -> String {
    let mut out = String::from("targets:\n");
    for t in targets {
        let _ = writeln!(
            out,
            "  [{}] {}: {} (target {})",
            if t.met { "met" } else { "NOT met" },
            t.name,
            t.measured,
            t.bound
        );
    }
    out
}

/// Milliseconds of a duration, as a float.
pub fn ms(duration: std::time::Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Rounds to three decimals for the JSON.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
