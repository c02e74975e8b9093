//! TLS: rustls with the system roots, plus the optional PEM bundle of
//! `CA_BUNDLE_FILE`. A bundle that cannot be read or holds no usable certificate is a
//! clear configuration error before any request; a valid one is accepted by every
//! client (ACTIVATE, SCIM, and the heartbeat/metrics client).

use std::path::Path;
use std::time::Duration;

use testkit::activate::Fixture;
use testkit::scim::ScimOptions;

use crate::support::world::World;

/// A self-signed CA certificate (public part only), valid until 2125.
const TEST_CA: &str = include_str!("fixtures/test-ca.pem");

struct BundleCase {
    name: &'static str,
    /// Writes the bundle into the directory and returns its path.
    make: fn(&Path) -> String,
    code: i32,
    expect: &'static [&'static str],
}

fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write the bundle");
    path.display().to_string()
}

fn cases() -> Vec<BundleCase> {
    vec![
        BundleCase {
            name: "missing file",
            make: |dir| dir.join("absent.pem").display().to_string(),
            code: 1,
            expect: &["CA_BUNDLE_FILE: cannot read", "absent.pem", "No such file"],
        },
        BundleCase {
            name: "a directory",
            make: |dir| dir.display().to_string(),
            code: 1,
            expect: &["CA_BUNDLE_FILE: cannot read", "Is a directory"],
        },
        BundleCase {
            name: "not PEM at all",
            make: |dir| write(dir, "junk.pem", b"this is not a certificate\n"),
            code: 1,
            expect: &["CA_BUNDLE_FILE holds no valid PEM certificate", "junk.pem"],
        },
        BundleCase {
            name: "a PEM block whose base64 is broken",
            make: |dir| {
                write(
                    dir,
                    "broken.pem",
                    b"-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
                )
            },
            code: 1,
            expect: &["CA_BUNDLE_FILE holds no valid PEM certificate"],
        },
        BundleCase {
            name: "a PEM block that is not a certificate",
            make: |dir| {
                write(
                    dir,
                    "notcert.pem",
                    b"-----BEGIN CERTIFICATE-----\nAAECAwQFBgcICQ==\n-----END CERTIFICATE-----\n",
                )
            },
            code: 1,
            expect: &["CA_BUNDLE_FILE", "notcert.pem"],
        },
        BundleCase {
            name: "a valid CA certificate",
            make: |dir| write(dir, "ca.pem", TEST_CA.as_bytes()),
            code: 0,
            expect: &[],
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_bundle_errors_are_clear_and_a_valid_bundle_is_accepted() {
    let world = World::start(Fixture::example(), ScimOptions::default()).await;
    let mut problems = Vec::new();
    for case in cases() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = (case.make)(dir.path());
        let before = world.scim_proxy.log().next_seq() + world.activate_proxy.log().next_seq();
        let out = world
            .run(
                &["sync"],
                &[
                    ("CA_BUNDLE_FILE", path.as_str()),
                    ("HEARTBEAT_URL", "http://127.0.0.1:9/ping"),
                ],
            )
            .await;
        world.scim_proxy.settle(Duration::from_secs(5)).await;
        let requests =
            world.scim_proxy.log().next_seq() + world.activate_proxy.log().next_seq() - before;
        let errors = out.errors();
        if out.code != case.code {
            problems.push(format!(
                "{}: exit {} (expected {}): {errors}",
                case.name, out.code, case.code
            ));
            continue;
        }
        for part in case.expect {
            if !errors.contains(part) {
                problems.push(format!(
                    "{}: the message lacks {part:?}: {errors}",
                    case.name
                ));
            }
        }
        if case.code == 1 && requests > 0 {
            problems.push(format!(
                "{}: {requests} requests before the error",
                case.name
            ));
        }
        if case.code == 0 && requests == 0 {
            problems.push(format!("{}: no request was made", case.name));
        }
        println!(
            "{}: exit {}: {}",
            case.name,
            out.code,
            errors.lines().next().unwrap_or_default()
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The TLS stack is rustls: no OpenSSL or native-tls in the lock file.
#[test]
fn no_openssl_or_native_tls_in_the_build() {
    let lock = include_str!("../../Cargo.lock");
    // (schannel and security-framework appear as the Windows and macOS root-store
    // readers of rustls-native-certs; they are not built on Linux.)
    for banned in ["openssl", "openssl-sys", "native-tls"] {
        assert!(
            !lock.contains(&format!("name = \"{banned}\"\n")),
            "{banned} is in Cargo.lock"
        );
    }
    assert!(
        lock.contains("name = \"rustls\"\n"),
        "rustls is the TLS stack"
    );
    assert!(
        lock.contains("name = \"rustls-native-certs\"\n"),
        "the system roots are loaded"
    );
}
