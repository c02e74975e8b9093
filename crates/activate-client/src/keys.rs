//! Where users' SSH public keys come from: the REST endpoint (implemented by
//! [`crate::ActivateClient`]) or the `pw ssh-public-keys <username>` command
//! ([`PwCliKeys`]).
//!
//! Both return the raw key lines: one per line, blank lines and `#` comments skipped.
//! Validation and normalisation of the keys is not done here.

use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::error::ActivateError;

/// A source of one user's SSH public keys.
///
/// Implemented by [`crate::ActivateClient`] (`GET /api/users/{username}/ssh-public-keys`)
/// and [`PwCliKeys`] (`pw ssh-public-keys <username>`).
pub trait SshKeySource: Sync {
    /// The key lines of `username`, in the order the source lists them.
    fn ssh_keys(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<String>, ActivateError>> + Send;
}

/// Splits a key listing into lines, trimming each and skipping blank lines and `#`
/// comments.
///
/// ```
/// use activate_client::keys::parse_key_lines;
///
/// let listing = "# alice\nssh-ed25519 AAAA alice@a\r\n\n  ssh-rsa BBBB alice@b  \n";
/// assert_eq!(parse_key_lines(listing), ["ssh-ed25519 AAAA alice@a", "ssh-rsa BBBB alice@b"]);
/// ```
pub fn parse_key_lines(listing: &str) -> Vec<String> {
    listing
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Keys from the `pw` command-line tool: `pw ssh-public-keys <username>`.
///
/// The command is run without a shell, the username as one argument, standard input
/// closed. It inherits the environment, so `pw` finds its own credentials
/// (`PW_API_KEY`, the credentials file). It is killed when `timeout` passes. Its
/// standard output is read like the REST body: a JSON string or plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PwCliKeys {
    /// The program, `pw` by default (looked up in `PATH`).
    pub program: PathBuf,
    /// How long one call may run.
    pub timeout: Duration,
}

impl Default for PwCliKeys {
    fn default() -> Self {
        Self {
            program: PathBuf::from("pw"),
            timeout: Duration::from_secs(30),
        }
    }
}

const STDERR_EXCERPT_CHARS: usize = 300;

impl PwCliKeys {
    async fn run(&self, username: &str) -> Result<Vec<String>, ActivateError> {
        let program = self.program.display().to_string();
        let mut command = tokio::process::Command::new(&self.program);
        command.arg("ssh-public-keys");
        if username.starts_with('-') {
            // Keep a username such as "-x" from being read as an option.
            command.arg("--");
        }
        command
            .arg(username)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = command
            .spawn()
            .map_err(|source| ActivateError::KeysCommandSpawn {
                program: program.clone(),
                source,
            })?;
        // On timeout the future, and with it the child, is dropped: `kill_on_drop`
        // kills it.
        let output = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Ok(Ok(output)) => output,
            Ok(Err(source)) => {
                return Err(ActivateError::KeysCommandSpawn { program, source });
            }
            Err(_) => {
                return Err(ActivateError::KeysCommandTimeout {
                    program,
                    username: username.to_owned(),
                    timeout: self.timeout,
                });
            }
        };
        if !output.status.success() {
            return Err(ActivateError::KeysCommandFailed {
                program,
                username: username.to_owned(),
                code: output.status.code(),
                stderr: http_policy::excerpt::body_excerpt(&output.stderr, STDERR_EXCERPT_CHARS),
            });
        }
        let listing =
            crate::body::json_string_or_text(&output.stdout, &crate::body::MediaType::Absent)
                .map_err(|p| ActivateError::KeysCommandOutput {
                    program,
                    username: username.to_owned(),
                    problem: p.problem.replace("response body", "output"),
                    source: p.source,
                })?;
        Ok(parse_key_lines(&listing))
    }
}

impl SshKeySource for PwCliKeys {
    fn ssh_keys(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Vec<String>, ActivateError>> + Send {
        self.run(username)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_blank_lines_and_crlf() {
        assert_eq!(
            parse_key_lines("\n\n#c\n   # indented comment\r\nk1\r\n\tk2 c\t\n"),
            ["k1", "k2 c"]
        );
        assert!(parse_key_lines("").is_empty());
        assert!(parse_key_lines("   \n# only\n").is_empty());
    }
}
