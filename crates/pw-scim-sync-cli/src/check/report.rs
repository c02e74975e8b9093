//! The probes' results and how they are printed.

use std::fmt::Write as _;

use serde::Serialize;

/// How a finding affects syncing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The server behaves as the sync expects.
    #[default]
    Fine,
    /// The sync copes, at a cost or with a caveat (named in the consequence).
    Degraded,
    /// The sync cannot work correctly until this is fixed.
    Blocking,
}

impl Verdict {
    /// `fine`, `degraded` or `blocking`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fine => "fine",
            Self::Degraded => "degraded",
            Self::Blocking => "blocking",
        }
    }
}

/// One probe: what was asked, what came back, the verdict, and what the sync does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    /// Short name, e.g. `sw filter`.
    pub name: &'static str,
    /// The requests made.
    pub asked: String,
    /// What the server answered.
    pub answered: String,
    /// The verdict.
    pub verdict: Verdict,
    /// What the sync will do about it (and, when not fine, what to do).
    pub consequence: String,
    /// Itemised findings (attributes, clashes, users).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl Probe {
    /// A probe without details.
    pub fn new(
        name: &'static str,
        asked: impl Into<String>,
        answered: impl Into<String>,
        verdict: Verdict,
        consequence: impl Into<String>,
    ) -> Self {
        Self {
            name,
            asked: asked.into(),
            answered: answered.into(),
            verdict,
            consequence: consequence.into(),
            details: Vec::new(),
        }
    }

    /// The same probe with `details`.
    #[must_use]
    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

/// Every probe of one `check`, in the order run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The probes.
    pub probes: Vec<Probe>,
}

impl Report {
    /// Adds a probe.
    pub fn push(&mut self, probe: Probe) {
        self.probes.push(probe);
    }

    /// The worst verdict (`Fine` when there is no probe).
    pub fn worst(&self) -> Verdict {
        self.probes
            .iter()
            .map(|p| p.verdict)
            .max()
            .unwrap_or(Verdict::Fine)
    }

    fn count(&self, verdict: Verdict) -> usize {
        self.probes.iter().filter(|p| p.verdict == verdict).count()
    }

    /// The report as text: one block per probe, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for probe in &self.probes {
            let _ = writeln!(out, "[{}] {}", probe.verdict.as_str(), probe.name);
            let _ = writeln!(out, "  asked:    {}", probe.asked);
            let _ = writeln!(out, "  answered: {}", probe.answered);
            for detail in &probe.details {
                let _ = writeln!(out, "    - {detail}");
            }
            let _ = writeln!(out, "  sync:     {}", probe.consequence);
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{} fine, {} degraded, {} blocking: {}",
            self.count(Verdict::Fine),
            self.count(Verdict::Degraded),
            self.count(Verdict::Blocking),
            if self.worst() == Verdict::Blocking {
                "fix the blocking findings before the first sync."
            } else {
                "nothing blocks a sync."
            }
        );
        out
    }

    /// The report as one JSON document.
    pub fn to_json(&self, exit_code: u8) -> serde_json::Value {
        serde_json::json!({
            "version": 1,
            "exit_code": exit_code,
            "summary": {
                "fine": self.count(Verdict::Fine),
                "degraded": self.count(Verdict::Degraded),
                "blocking": self.count(Verdict::Blocking),
            },
            "probes": self.probes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_forms() {
        let mut report = Report::default();
        assert_eq!(report.worst(), Verdict::Fine);
        report.push(Probe::new(
            "a",
            "GET /x",
            "200",
            Verdict::Fine,
            "nothing to do",
        ));
        report.push(
            Probe::new("b", "GET /y", "404", Verdict::Degraded, "defaults")
                .with_details(vec!["one".to_owned()]),
        );
        assert_eq!(report.worst(), Verdict::Degraded);
        assert_eq!(
            report.to_text(),
            "[fine] a\n  asked:    GET /x\n  answered: 200\n  sync:     nothing to do\n\n\
             [degraded] b\n  asked:    GET /y\n  answered: 404\n    - one\n  sync:     defaults\n\n\
             1 fine, 1 degraded, 0 blocking: nothing blocks a sync.\n"
        );
        let json = report.to_json(0);
        assert_eq!(json["summary"]["degraded"], 1);
        assert_eq!(json["probes"][1]["verdict"], "degraded");
        assert_eq!(json["probes"][1]["details"][0], "one");
        assert!(json["probes"][0].get("details").is_none());
        report.push(Probe::new("c", "", "", Verdict::Blocking, ""));
        assert!(
            report
                .to_text()
                .ends_with("fix the blocking findings before the first sync.\n")
        );
    }
}
