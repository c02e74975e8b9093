//! The exit status contract.

use std::process::ExitCode;

/// How a run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: converged, or a plan was printed.
    Success,
    /// 1: a fatal error (configuration, authentication, a side unreachable or
    /// incomplete, a SCIM server that does not keep the ownership mark); nothing or
    /// only part was written.
    Fatal,
    /// 2: the command line could not be parsed.
    Usage,
    /// 3: some operations failed or conflicted, or an ACTIVATE user was held; the
    /// rest was applied.
    Partial,
    /// 4: a safety guard withheld deactivations or re-keys; the rest was applied.
    GuardWithheld,
}

impl Exit {
    /// The numeric status.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Fatal => 1,
            Self::Usage => 2,
            Self::Partial => 3,
            Self::GuardWithheld => 4,
        }
    }

    /// The status of a completed run. A tripped guard wins over failed operations:
    /// it needs a person's decision, while most failures heal on the next run; the
    /// summary reports both.
    pub fn of_run(guard_withheld: bool, failed_or_conflicted: bool) -> Self {
        if guard_withheld {
            Self::GuardWithheld
        } else if failed_or_conflicted {
            Self::Partial
        } else {
            Self::Success
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_contract() {
        let all = [
            Exit::Success,
            Exit::Fatal,
            Exit::Usage,
            Exit::Partial,
            Exit::GuardWithheld,
        ];
        assert_eq!(all.map(Exit::code), [0, 1, 2, 3, 4]);
        assert_eq!(Exit::of_run(false, false), Exit::Success);
        assert_eq!(Exit::of_run(false, true), Exit::Partial);
        assert_eq!(Exit::of_run(true, true), Exit::GuardWithheld);
    }
}
