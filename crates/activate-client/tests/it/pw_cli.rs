//! The `pw ssh-public-keys <username>` shim against a fake `pw` script.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use activate_client::{ActivateError, PwCliKeys, SshKeySource};

/// Scripts are written and run one test at a time: a script still open for writing
/// in one thread while another forks cannot be executed ("text file busy").
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn fake_pw(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("pw");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn two_keys_and_a_comment() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    // Fails unless the arguments arrive exactly, the username as one argument.
    let program = fake_pw(
        dir.path(),
        r#"[ "$#" = 2 ] && [ "$1" = "ssh-public-keys" ] && [ "$2" = "al ice;\$(x)" ] || { echo "bad args: $*" >&2; exit 9; }
printf '# keys of al ice\nssh-ed25519 AAAA alice@a\n\nssh-rsa BBBB alice@b\n'"#,
    );
    let keys = PwCliKeys {
        program,
        timeout: Duration::from_secs(20),
    };
    assert_eq!(
        keys.ssh_keys("al ice;$(x)").await.unwrap(),
        ["ssh-ed25519 AAAA alice@a", "ssh-rsa BBBB alice@b"]
    );
}

#[tokio::test]
async fn a_json_string_on_stdout_is_read_too() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let program = fake_pw(
        dir.path(),
        r#"printf '"ssh-ed25519 AAAA a\\nssh-rsa BBBB b"\n'"#,
    );
    let keys = PwCliKeys {
        program,
        timeout: Duration::from_secs(20),
    };
    assert_eq!(
        keys.ssh_keys("bob").await.unwrap(),
        ["ssh-ed25519 AAAA a", "ssh-rsa BBBB b"]
    );
}

#[tokio::test]
async fn non_zero_exit_carries_code_and_stderr() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let program = fake_pw(
        dir.path(),
        "echo 'partial output'\necho 'Error: user \"bob\" not found' >&2\necho '  (status 404)' >&2\nexit 3",
    );
    let keys = PwCliKeys {
        program: program.clone(),
        timeout: Duration::from_secs(20),
    };
    let err = keys.ssh_keys("bob").await.unwrap_err();
    match &err {
        ActivateError::KeysCommandFailed {
            code,
            stderr,
            username,
            ..
        } => {
            assert_eq!(*code, Some(3));
            assert_eq!(stderr, "Error: user \"bob\" not found (status 404)");
            assert_eq!(username, "bob");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "{} ssh-public-keys \"bob\" exited with status 3: Error: user \"bob\" not found (status 404)",
            program.display()
        )
    );
}

#[tokio::test]
async fn a_hanging_command_is_killed_at_the_timeout() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let program = fake_pw(dir.path(), "exec sleep 600");
    let keys = PwCliKeys {
        program,
        timeout: Duration::from_millis(200),
    };
    let err = keys.ssh_keys("bob").await.unwrap_err();
    assert!(
        matches!(&err, ActivateError::KeysCommandTimeout { timeout, .. } if *timeout == Duration::from_millis(200)),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_program_is_a_spawn_error() {
    let dir = tempfile::tempdir().unwrap();
    let keys = PwCliKeys {
        program: dir.path().join("no-such-pw"),
        timeout: Duration::from_secs(5),
    };
    let err = keys.ssh_keys("bob").await.unwrap_err();
    assert!(
        matches!(err, ActivateError::KeysCommandSpawn { .. }),
        "{err:?}"
    );
}

#[test]
fn default_program_is_pw() {
    let keys = PwCliKeys::default();
    assert_eq!(keys.program, PathBuf::from("pw"));
    assert_eq!(keys.timeout, Duration::from_secs(30));
}
