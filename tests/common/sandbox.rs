//! The sandbox served in the test process, for tests that call `Sandbox::regenerate_key` or
//! change its configuration directly.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use rekaz_proxy::sandbox::{Sandbox, SandboxConfig};
use secrecy::SecretString;
use tokio::sync::oneshot;

use super::secrets::{API_KEY, API_SECRET, TENANT_ID};

/// A sandbox on 127.0.0.1 with a free port, served by its own runtime on its own thread, so
/// it works from both plain and `#[tokio::test]` tests. Dropping it stops the server.
pub struct InProcessSandbox {
    address: SocketAddr,
    sandbox: Sandbox,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl InProcessSandbox {
    /// Serves a sandbox that accepts the harness credentials.
    pub fn start() -> Self {
        Self::start_with(Self::config())
    }

    /// Returns the harness credentials as a sandbox configuration, to change before
    /// [`InProcessSandbox::start_with`].
    pub fn config() -> SandboxConfig {
        SandboxConfig::new(
            SecretString::from(API_KEY),
            SecretString::from(API_SECRET),
            TENANT_ID.to_owned(),
        )
    }

    /// Serves a sandbox with `config`.
    pub fn start_with(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        let address = listener
            .local_addr()
            .expect("a bound listener has an address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener for tokio");

        let (stop, stopped) = oneshot::channel::<()>();
        let served = sandbox.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("building the sandbox runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("handing the listener to tokio");
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(error) = served.serve(listener, shutdown).await {
                    eprintln!("in-process sandbox failed: {error}");
                }
            });
        });
        InProcessSandbox {
            address,
            sandbox,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Returns the base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the listening address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns the sandbox itself, to call `regenerate_key` on.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for InProcessSandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
