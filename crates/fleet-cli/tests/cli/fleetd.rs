//! A real fleetd on port 0, built by the production constructor.

use std::sync::OnceLock;

use fleetd::settings::ClockMode;
use fleetd::{Application, Config, Settings};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::oneshot;

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
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl Fleetd {
    /// fleetd in open mode on `clock`.
    pub async fn start(clock: ClockMode) -> Fleetd {
        let dir = tempfile::tempdir().expect("temp dir");
        let settings = Settings {
            bind: Some("127.0.0.1:0".parse().expect("addr")),
            database_url: Some(format!(
                "sqlite://{}",
                dir.path().join("fleet.db").display()
            )),
            clock: Some(clock),
            ..Default::default()
        };
        let config =
            Config::from_settings(settings, |p| std::fs::read_to_string(p)).expect("config");
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let app = Application::build(config, logger, metrics())
            .await
            .expect("build fleetd");
        let url = format!("http://{}", app.address());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        Fleetd {
            url,
            _stop: stop,
            _dir: dir,
        }
    }
}
