//! Starts `scim2-server`, an independent SCIM 2.0 server, as a conformance peer.
//!
//! The peer is a Python program installed in a virtual environment by
//! `scripts/test` (at `<workspace>/.peer-venv`). [`Scim2Server::start`] runs it on a
//! free loopback port with the CoreWeave user extension loaded, waits until its
//! `ServiceProviderConfig` answers, and stops it when dropped.
//!
//! When the peer is not installed, `start` returns `Ok(None)` so that a developer
//! without Python can still run the other tests, except under `CI=true`, where a
//! missing or broken peer is an error and the calling test fails.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Options for one peer process.
#[derive(Debug, Clone)]
pub struct PeerOptions {
    /// Cap every page at 2 results (`filter.maxResults = 2`), with Bulk and sort off.
    pub page_cap_2: bool,
    /// The bearer token the peer accepts.
    pub token: String,
    /// The tenant segment of the base URL.
    pub tenant: String,
}

impl Default for PeerOptions {
    fn default() -> Self {
        Self {
            page_cap_2: false,
            token: "peer-token".to_owned(),
            tenant: "org-abc123".to_owned(),
        }
    }
}

/// A running `scim2-server`; killed on drop.
#[derive(Debug)]
pub struct Scim2Server {
    child: Child,
    base_url: String,
    token: String,
}

/// Why the peer could not be started.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// The executable was not found and `CI=true` requires it.
    #[error(
        "scim2-server is not installed at {0} (run scripts/test, or set SCIM2_SERVER_BIN); CI=true requires the conformance peer"
    )]
    Missing(PathBuf),
    /// The process could not be spawned.
    #[error("could not start scim2-server")]
    Spawn(#[source] std::io::Error),
    /// It did not answer in time.
    #[error("scim2-server did not answer on {0} within 30 s")]
    NotReady(SocketAddr),
}

impl Scim2Server {
    /// Starts a peer, or returns `Ok(None)` when it is not installed outside CI.
    pub fn start(options: &PeerOptions) -> Result<Option<Self>, PeerError> {
        let program = executable();
        if !program.exists() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                return Err(PeerError::Missing(program));
            }
            eprintln!(
                "skipping: scim2-server not installed at {} (scripts/test installs it)",
                program.display()
            );
            return Ok(None);
        }
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("peer");
        let addr = free_loopback_addr().map_err(PeerError::Spawn)?;
        let mut command = Command::new(&program);
        command
            .arg("--hostname")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(addr.port().to_string())
            .arg("--schema")
            .arg(data.join("coreweave-schemas.json"))
            .arg("--resource-type")
            .arg(data.join("coreweave-resource-types.json"))
            .arg("--bearer-token")
            .arg(&options.token)
            .arg("--tenant")
            .arg(&options.tenant)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if options.page_cap_2 {
            command
                .arg("--service-provider-config")
                .arg(data.join("coreweave-spc-cap2.json"));
        }
        let child = command.spawn().map_err(PeerError::Spawn)?;
        let server = Self {
            child,
            base_url: format!("http://{addr}/{}/v2", options.tenant),
            token: options.token.clone(),
        };
        let path = format!("/{}/v2/ServiceProviderConfig", options.tenant);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if http_status(addr, &path, &options.token) == Some(200) {
                return Ok(Some(server));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(PeerError::NotReady(addr))
    }

    /// Starts a peer for a test; `None` when skipped.
    ///
    /// # Panics
    ///
    /// When the peer is required (or installed) but cannot be started.
    pub fn start_for_test(options: &PeerOptions) -> Option<Self> {
        match Self::start(options) {
            Ok(server) => server,
            Err(error) => panic!("conformance peer: {error}"),
        }
    }

    /// The SCIM base URL, e.g. `http://127.0.0.1:40123/org-abc123/v2`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bearer token the peer accepts.
    pub fn token(&self) -> &str {
        &self.token
    }
}

impl Drop for Scim2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn executable() -> PathBuf {
    if let Some(path) = std::env::var_os("SCIM2_SERVER_BIN") {
        return PathBuf::from(path);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.peer-venv/bin/scim2-server")
}

fn free_loopback_addr() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn http_status(addr: SocketAddr, path: &str, token: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}
