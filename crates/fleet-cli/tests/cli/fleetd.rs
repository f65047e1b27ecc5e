//! A real fleetd on port 0, built by the production constructor; it can be stopped and
//! started again on the same database (and address), as a restart.

use std::net::SocketAddr;
use std::sync::OnceLock;

use fleetd::settings::ClockMode;
use fleetd::{Application, Config, Settings};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The recorder is process-wide: install it once for every fleetd of this test binary.
fn metrics() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| fleetd::telemetry::install_metrics().expect("install the recorder"))
        .clone()
}

/// A running fleetd; stopped when dropped.
pub struct Fleetd {
    pub url: String,
    pub address: SocketAddr,
    clock: ClockMode,
    stop: oneshot::Sender<()>,
    running: JoinHandle<Result<(), String>>,
    dir: tempfile::TempDir,
}

impl Fleetd {
    /// fleetd in open mode on `clock`, with a database of its own.
    pub async fn start(clock: ClockMode) -> Fleetd {
        let dir = tempfile::tempdir().expect("temp dir");
        let port_zero = "127.0.0.1:0".parse().expect("addr");
        Fleetd::start_on(clock, dir, port_zero).await
    }

    /// fleetd in open mode on the virtual clock with `--seed seed`, with a database of its
    /// own.
    pub async fn start_seeded(seed: u64) -> Fleetd {
        let dir = tempfile::tempdir().expect("temp dir");
        let port_zero = "127.0.0.1:0".parse().expect("addr");
        Fleetd::start_with(ClockMode::Virtual, Some(seed), dir, port_zero).await
    }

    /// fleetd in open mode on `clock`, serving the database in `dir` at `bind`.
    pub async fn start_on(clock: ClockMode, dir: tempfile::TempDir, bind: SocketAddr) -> Fleetd {
        Fleetd::start_with(clock, None, dir, bind).await
    }

    async fn start_with(
        clock: ClockMode,
        seed: Option<u64>,
        dir: tempfile::TempDir,
        bind: SocketAddr,
    ) -> Fleetd {
        let settings = Settings {
            bind: Some(bind),
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("fleet.db").display()
            )),
            clock: Some(clock),
            seed,
            ..Default::default()
        };
        let config =
            Config::from_settings(settings, |p| std::fs::read_to_string(p)).expect("config");
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let app = Application::build(config, logger, metrics())
            .await
            .expect("build fleetd");
        let address = app.address();
        let (stop, stopped) = oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            app.run_until(async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| format!("{e:#}"))
        });
        Fleetd {
            url: format!("http://{address}"),
            address,
            clock,
            stop,
            running,
            dir,
        }
    }

    /// Shuts it down (its event streams end) and returns once it has, with its database.
    pub async fn stop(self) -> Stopped {
        let _ = self.stop.send(());
        self.running
            .await
            .expect("fleetd's task")
            .expect("fleetd stops cleanly");
        Stopped {
            address: self.address,
            clock: self.clock,
            dir: self.dir,
        }
    }
}

/// A fleetd that was stopped: its address, clock and database.
pub struct Stopped {
    pub address: SocketAddr,
    clock: ClockMode,
    dir: tempfile::TempDir,
}

impl Stopped {
    /// fleetd again on the same database, at `bind`.
    pub async fn start_at(self, bind: SocketAddr) -> Fleetd {
        Fleetd::start_on(self.clock, self.dir, bind).await
    }
}
