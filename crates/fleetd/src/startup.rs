//! The one production constructor: builds the store, the use cases, the workers and the
//! HTTP server from a [`Config`]; `main` and the end-to-end tests both go through it.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{App, Error, HttpServer, web};
use anyhow::Context;
use fleet_console::ConsoleState;
use fleet_domain::Entropy;
use fleet_domain::entropy::purpose;
use fleet_domain::faults::{FaultBook, FaultInjector, InjectorParts, LifecycleFaults};
use fleet_domain::ports::{ActionStore, Clock, FaultStore, IdempotencyStore, Store, TenancyStore};
use fleet_domain::service::{
    BudgetService, CatalogService, ClaimLimits, CostService, DispatcherParts, Engine, FaultService,
    IdempotencyService, KeyPolicy, ManualClock, ProjectService, ServerService, WatchService,
    WebhookDispatcher, WebhookOutbox, WebhookService,
};
use fleet_domain::session::SessionSecret;
use fleet_ec2::{Ec2Auth, Ec2AuthMode, Ec2State};
use fleet_http::dto::WatchEventData;
use fleet_http::pause::TokioPause;
use fleet_http::{
    AppState, AuthMode, Authenticator, Services, Shutdown, ShutdownTrigger, VirtualClock,
};
use fleet_ops::{Ops, RequestIds};
use fleet_postgres::EventFeed;
use fleet_webhooks::HttpSender;
use metrics_exporter_prometheus::PrometheusHandle;
use slog::{Logger, o};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::{self, SystemClock};
use crate::config::Config;
use crate::engine_metrics::EngineMetrics;
use crate::fanout::FanOut;
use crate::faults::{FaultLog, FaultRefresher};
use crate::keys;
use crate::metrics::Exporter;
use crate::probes::Probe;
use crate::settings::ClockMode;
use crate::store;
use crate::webhooks::WebhookWorkers;
use crate::workers::{BudgetWorker, EngineWorker, Pruner, WorkerHealth, spawn_upkeep};

/// The most response bytes an HTTP connection gathers before writing them out.
const HTTP_WRITE_BUFFER: usize = 8 * 1024;
/// How long a console session lasts: a working day.
const CONSOLE_SESSION_S: i64 = 12 * 3600;

/// fleetd, built and listening, not yet serving.
pub struct Application {
    address: SocketAddr,
    server: actix_web::dev::Server,
    stop_streams: ShutdownTrigger,
    stop_workers: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    event_feed: Option<EventFeed>,
    logger: Logger,
}

impl Application {
    /// Binds the listener (port 0 picks a free port), opens the store, syncs its address
    /// pools with the catalog, installs the bootstrap admin key, builds the HTTP server, and
    /// only then starts the workers: a start-up that fails leaves nothing running.
    pub async fn build(
        config: Config,
        logger: Logger,
        metrics: PrometheusHandle,
    ) -> anyhow::Result<Application> {
        let listener =
            TcpListener::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
        let address = listener.local_addr()?;
        let opened = store::open(&config).await?;
        let opened = if config.otlp_endpoint.is_some() {
            opened.traced()
        } else {
            opened
        };
        let store = opened.store.clone();
        store
            .sync_pools(config.catalog.regions())
            .await
            .context("syncing the address pools with the catalog")?;
        let fanout = FanOut::open(opened.events.clone())
            .await
            .context("reading the event sequence")?;
        let catalog = Arc::new(config.catalog.clone());
        let priced = catalog.clone();
        let catalog_service = Arc::new(CatalogService::new(catalog.clone(), opened.status.clone()));
        let manual = (config.clock == ClockMode::Virtual)
            .then(|| Arc::new(ManualClock::new(clock::virtual_start(config.seed))));
        let clock: Arc<dyn Clock> = match &manual {
            Some(manual) => manual.clone(),
            None => Arc::new(SystemClock),
        };
        // One source for the whole process: every worker draws from the same streams.
        let entropy = Arc::new(match config.seed {
            Some(seed) => Entropy::seeded(seed),
            None => Entropy::os(),
        });
        // The rules in force, shared by every worker and the engine; each request checks
        // them with its own store.
        let book = Arc::new(FaultBook::default());
        let fault_log = Arc::new(FaultLog {
            logger: logger.new(o!("component" => "faults")),
        });
        let costs = Arc::new(CostService::new(opened.costs.clone(), clock.clone()));
        let budgets = Arc::new(
            BudgetService::new(opened.budgets.clone(), costs.clone(), clock.clone())
                .with_entropy(entropy.clone()),
        );
        let engine = Arc::new(
            Engine::new(
                store.clone(),
                clock.clone(),
                config.lifecycle,
                config.batch_size,
            )
            .observed_by(Arc::new(EngineMetrics))
            .with_entropy(entropy.clone())
            .with_faults(LifecycleFaults::new(
                book.clone(),
                entropy.clone(),
                fault_log.clone(),
            ))
            .with_budgets(budgets.clone()),
        );
        let (injector_clock, injector_book, draws) = (clock.clone(), book.clone(), entropy.clone());
        let injector = move |faults: Arc<dyn FaultStore>| {
            FaultInjector::new(InjectorParts {
                book: injector_book.clone(),
                store: faults,
                clock: injector_clock.clone(),
                draw: draws.clone(),
                pause: Arc::new(TokioPause),
                observer: fault_log.clone(),
            })
        };
        let (fault_clock, fault_catalog, fault_ids) =
            (clock.clone(), catalog.clone(), entropy.clone());
        let fault_rules = move |faults: Arc<dyn FaultStore>| {
            Arc::new(
                FaultService::new(
                    faults,
                    fault_clock.clone(),
                    fault_catalog.clone(),
                    book.clone(),
                )
                .with_entropy(fault_ids.clone()),
            )
        };
        let lifecycle = config.lifecycle;
        let (service_clock, service_ids) = (clock.clone(), entropy.clone());
        let (terminated_listed_for, server_injector) =
            (config.terminated_listed_for, injector.clone());
        let servers = move |store: Arc<dyn Store>, faults: Arc<dyn FaultStore>| {
            Arc::new(
                ServerService::new(store, service_clock.clone(), catalog.clone(), lifecycle)
                    .with_entropy(service_ids.clone())
                    .with_faults(server_injector(faults))
                    .listing_terminated_for(terminated_listed_for),
            )
        };
        let (project_clock, pepper) = (clock.clone(), config.auth.pepper.clone());
        // One secret for every worker, so a session opened on one is good on all; derived
        // from the pepper, when there is one, so that every replica shares it.
        let session_secret = SessionSecret::for_pepper(&pepper)
            .context("no randomness for the console's session secret")?;
        let (default_quotas, project_ids) = (config.default_quotas, entropy.clone());
        let projects = move |tenancy: Arc<dyn TenancyStore>| {
            Arc::new(
                ProjectService::new(tenancy, project_clock.clone(), pepper.clone())
                    .with_default_quotas(default_quotas)
                    .with_entropy(project_ids.clone())
                    .with_session_secret(session_secret.clone()),
            )
        };
        let (watch_clock, watched) = (clock.clone(), fanout.clone());
        let watch = move |store: Arc<dyn Store>,
                          actions: Arc<dyn ActionStore>,
                          faults: Arc<dyn FaultStore>| {
            Arc::new(
                WatchService::new(store, watched.clone(), actions, watch_clock.clone())
                    .with_faults(injector(faults)),
            )
        };
        let (key_clock, key_policy) = (
            clock.clone(),
            KeyPolicy {
                retention: config.idempotency_retention,
                ..KeyPolicy::default()
            },
        );
        let idempotency = move |keys: Arc<dyn IdempotencyStore>| {
            Arc::new(IdempotencyService::new(keys, key_clock.clone(), key_policy))
        };
        let webhooks = Arc::new(
            WebhookService::new(
                opened.webhooks.clone(),
                fanout.clone(),
                clock.clone(),
                config.webhooks.sender.policy,
            )
            .with_entropy(entropy.clone()),
        );
        let sender = HttpSender::new(config.webhooks.sender)
            .context("building the HTTP client of webhook deliveries")?;
        let webhook_workers = WebhookWorkers {
            outbox: WebhookOutbox::new(
                opened.webhooks.clone(),
                fanout.clone(),
                Arc::new(WatchEventData),
            ),
            dispatcher: Arc::new(WebhookDispatcher::new(DispatcherParts {
                store: opened.webhooks.clone(),
                sender: Arc::new(sender),
                clock: clock.clone(),
                wall: Arc::new(SystemClock),
                schedule: config.webhooks.schedule.clone(),
                draws: entropy.clone(),
            })),
            store: opened.webhooks.clone(),
            events: fanout.clone(),
            clock: clock.clone(),
            limits: ClaimLimits {
                batch: config.webhooks.concurrency,
                per_webhook: config.webhooks.per_endpoint,
                lease: config.webhooks.lease(),
            },
            concurrency: config.webhooks.concurrency,
            logger: logger.new(o!("component" => "webhooks")),
        };
        let background_keys = idempotency(opened.keys.clone());
        let background_projects = projects(opened.tenancy.clone());
        let background_faults = fault_rules(opened.faults.clone());
        background_faults
            .refresh()
            .await
            .context("reading the fault rules")?;
        if let Some(key) = &config.auth.bootstrap_admin_key {
            keys::install_bootstrap(&background_projects, key, &logger).await?;
        }
        if config.seed.is_some() && config.clock == ClockMode::System {
            slog::warn!(
                logger,
                "a seed on the system clock: ids replay, times and the \
                order of background work do not (use --clock virtual to replay a run)"
            );
        }
        if config.auth.open_to_the_network(address) {
            slog::warn!(logger, "open mode on an address other hosts can reach: a request \
                without an API key acts as the admin of the project default";
                "address" => address.to_string());
        }
        let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let worker_pools = opened.http_worker_pools(config.db_pool.max_size, cpus);

        let pool_status = opened.pool_status();
        let feed_store = opened.clone();
        let delivery_store = opened.webhooks.clone();
        let description = opened.description.clone();
        let health = Arc::new(WorkerHealth::default());
        // Under the virtual clock, work runs when the clock is moved, in time order; a
        // worker on an interval would race it.
        let (virtual_clock, interval_engine) = match manual {
            Some(manual) => {
                health.set_running(true);
                (Some(VirtualClock::new(manual, engine)), None)
            }
            None => (None, Some(engine)),
        };
        let (stop_streams, streams_stop) = Shutdown::new();
        let state = AppState::new(
            Services {
                servers: servers(store.clone(), opened.faults.clone()),
                projects: background_projects,
                watch: watch(store.clone(), opened.actions.clone(), opened.faults.clone()),
                idempotency: background_keys.clone(),
                faults: background_faults.clone(),
                webhooks: webhooks.clone(),
                costs: costs.clone(),
                budgets: budgets.clone(),
            },
            Authenticator::new(config.auth.mode, config.auth.cache_ttl)
                .with_rate_limit(config.auth.rate_limit),
            catalog_service,
            virtual_clock,
            streams_stop,
        );
        let ops = web::Data::new(Ops {
            readiness: Arc::new(Probe {
                store: opened.status.clone(),
                health: health.clone(),
            }),
            metrics: Arc::new(Exporter {
                handle: metrics.clone(),
                store: opened.status.clone(),
                catalog: priced,
                pool_status,
                logger: logger.new(o!("component" => "metrics")),
            }),
            logger: logger.new(o!("component" => "http")),
            request_ids: request_ids(entropy.clone()),
        });
        // Each worker builds use cases over stores of its own, on its own thread (see
        // `OpenedStore::http_worker_stores`); one restarted after a panic builds new ones.
        // Should that fail, it serves from the background store.
        let http_workers = worker_pools.len();
        let worker_budgets = budgets.clone();
        let next_worker = Arc::new(AtomicUsize::new(0));
        let worker_logger = logger.new(o!("component" => "http"));
        let ec2_auth = Ec2Auth::new(
            match config.auth.mode {
                AuthMode::Open => Ec2AuthMode::Open,
                AuthMode::Keys => Ec2AuthMode::Keys,
            },
            config.auth.rate_limit,
        );
        let console_keys_required = config.auth.mode == AuthMode::Keys;
        let console_virtual_clock = config.clock == ClockMode::Virtual;
        let server = HttpServer::new(move || {
            let n = next_worker.fetch_add(1, Ordering::Relaxed) % worker_pools.len();
            let state = match opened.http_worker_stores(worker_pools[n]) {
                Ok(stores) => state.with_services(Services {
                    servers: servers(stores.store.clone(), stores.faults.clone()),
                    projects: projects(stores.tenancy),
                    watch: watch(stores.store, stores.actions, stores.faults.clone()),
                    idempotency: idempotency(stores.keys),
                    faults: fault_rules(stores.faults),
                    webhooks: webhooks.clone(),
                    costs: costs.clone(),
                    budgets: worker_budgets.clone(),
                }),
                Err(e) => {
                    slog::error!(worker_logger, "an HTTP worker uses the background store";
                        "error" => format!("{e:#}"));
                    state.clone()
                }
            };
            let ec2 = Ec2State {
                servers: state.servers.clone(),
                projects: state.projects.clone(),
                idempotency: state.idempotency.clone(),
                auth: ec2_auth.clone(),
            };
            let console = ConsoleState {
                projects: state.projects.clone(),
                keys_required: console_keys_required,
                virtual_clock: console_virtual_clock,
                session_lifetime_s: CONSOLE_SESSION_S,
            };
            http_app(
                ops.clone(),
                web::Data::new(state),
                web::Data::new(ec2),
                web::Data::new(console),
            )
        })
        .workers(http_workers)
        // A client that hangs up mid-request ends its request at once (actix otherwise
        // keeps a wait's handler running to its timeout for a reader that is gone).
        .h1_allow_half_closed(false)
        // An event stream whose client reads slowly holds at most this much unsent (actix's
        // default, 32 KiB, is 32 MiB over a thousand slow streams); larger single responses
        // are still written whole.
        .h1_write_buffer_size(HTTP_WRITE_BUFFER)
        .listen(listener)?
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .disable_signals()
        .run();

        // Nothing below can fail: the workers start only for a service that will run.
        let event_feed = feed_store.start_event_feed(&logger);
        let (stop_workers, stop) = watch::channel(false);
        let mut tasks = vec![
            spawn_upkeep(metrics, stop.clone()),
            fanout.spawn_reader(stop.clone(), logger.new(o!("component" => "fanout"))),
            Pruner {
                events: fanout,
                clock: clock.clone(),
                retention: config.event_retention,
                keys: background_keys,
                webhooks: delivery_store,
                ledger: store.clone(),
                usage_retention: config.usage_retention,
                logger: logger.new(o!("component" => "pruner")),
            }
            .spawn(stop.clone()),
            FaultRefresher {
                faults: background_faults,
                logger: logger.new(o!("component" => "faults")),
            }
            .spawn(stop.clone()),
        ];
        tasks.extend(webhook_workers.spawn(stop.clone()));
        if let Some(engine) = interval_engine {
            tasks.push(
                BudgetWorker {
                    budgets,
                    logger: logger.new(o!("component" => "budgets")),
                }
                .spawn(stop.clone()),
            );
            let worker = EngineWorker {
                engine,
                store,
                clock,
                interval: config.worker_interval,
                health,
                logger: logger.new(o!("component" => "worker")),
            };
            tasks.push(worker.spawn(stop));
        }
        slog::info!(logger, "fleetd listening";
            "address" => format!("http://{address}"),
            "store" => &description,
            "clock" => format!("{:?}", config.clock).to_lowercase(),
            "auth" => config.auth.mode.as_str(),
            "seed" => config.seed.map_or_else(|| "none".to_owned(), |seed| seed.to_string()),
            "swagger" => format!("http://{address}/swagger/"),
            "console" => format!("http://{address}/console/"),
            "traces" => config
                .otlp_endpoint
                .as_ref()
                .map_or_else(|| "not exported".to_owned(), |url| format!("exported to {url}")));
        Ok(Application {
            address,
            server,
            stop_streams,
            stop_workers,
            tasks,
            event_feed,
            logger,
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until `shutdown` completes, then ends the event streams and waits (which
    /// would hold a graceful stop until its timeout), stops accepting, lets in-flight
    /// requests finish (up to the shutdown timeout), stops the workers and the event feed,
    /// and closes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let mut server = self.server;
        tokio::select! {
            result = &mut server => result.context("the HTTP server failed")?,
            () = shutdown => {
                slog::info!(self.logger, "shutting down: finishing in-flight requests");
                self.stop_streams.fire();
                // The server future does the stopping, so it must be polled meanwhile.
                let ((), result) = tokio::join!(handle.stop(true), &mut server);
                result.context("the HTTP server failed while stopping")?;
            }
        }
        let _ = self.stop_workers.send(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                slog::error!(self.logger, "a worker ended abnormally"; "error" => %e);
            }
        }
        if let Some(feed) = self.event_feed {
            feed.stop().await;
        }
        slog::info!(self.logger, "fleetd stopped");
        Ok(())
    }
}

/// The ids of requests that come without one: random, or drawn from the seeded stream of
/// their class, so a replayed scenario's events and problems carry the same ids.
fn request_ids(entropy: Arc<Entropy>) -> RequestIds {
    if entropy.seed().is_none() {
        return RequestIds::random();
    }
    RequestIds::from_fn(move |stream| entropy.uuid(purpose::REQUEST_ID, stream).to_string())
}

/// The HTTP application of one server worker: the operational routes first, then each
/// driving adapter (a later one, such as the EC2 endpoint at `/ec2`, goes before the REST
/// API, which takes every path left), all inside the operational middleware.
fn http_app(
    ops: web::Data<Ops>,
    rest: web::Data<AppState>,
    ec2: web::Data<Ec2State>,
    console: web::Data<ConsoleState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let operational = App::new()
        .app_data(ops)
        .configure(fleet_ops::routes)
        .service(fleet_ec2::resources(ec2))
        .service(fleet_console::resources(console));
    fleet_http::mount(operational, rest).wrap(from_fn(fleet_ops::observe))
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
