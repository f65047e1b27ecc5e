//! Planning state changes: what an action, a due transition, a billing period or the idle
//! reaper does to a server, as data a store applies in one transaction.

use chrono::{DateTime, TimeDelta, Utc};

use crate::action::{ActionCommand, ActionEnd, ActionRecord, ActionStatus};
use crate::billing::{self, BillingPolicy, MonthToDate, UsageRecord};
use crate::entropy::Entropy;
use crate::event::{EventKind, EventSubject, NewEvent, RequestContext};
use crate::faults::ChaosState;
use crate::ids::{ActionId, FaultRuleId, ProjectId, ServerId};
use crate::labels::Labels;
use crate::money::Money;
use crate::reason::StateReason;
use crate::server::{NewServer, Server};
use crate::state::{self, Action, Conflict, Decision, ServerState};

/// How long each transitional state lasts before it completes on its own. Zero completes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionDelays {
    /// `provisioning` → `running`.
    pub provisioning: TimeDelta,
    /// `starting` → `running`.
    pub starting: TimeDelta,
    /// `stopping` → `stopped`.
    pub stopping: TimeDelta,
    /// `rebooting` → `running`.
    pub rebooting: TimeDelta,
    /// `terminating` → `terminated`.
    pub terminating: TimeDelta,
}

impl TransitionDelays {
    /// Every transition completes at once.
    pub const ZERO: TransitionDelays = TransitionDelays {
        provisioning: TimeDelta::zero(),
        starting: TimeDelta::zero(),
        stopping: TimeDelta::zero(),
        rebooting: TimeDelta::zero(),
        terminating: TimeDelta::zero(),
    };

    /// How long `state` lasts, if it is transitional.
    pub fn of(&self, state: ServerState) -> Option<TimeDelta> {
        match state {
            ServerState::Provisioning => Some(self.provisioning),
            ServerState::Starting => Some(self.starting),
            ServerState::Stopping => Some(self.stopping),
            ServerState::Rebooting => Some(self.rebooting),
            ServerState::Terminating => Some(self.terminating),
            _ => None,
        }
    }
}

impl Default for TransitionDelays {
    /// Roughly what a small cloud VM takes.
    fn default() -> Self {
        Self {
            provisioning: TimeDelta::seconds(5),
            starting: TimeDelta::seconds(3),
            stopping: TimeDelta::seconds(3),
            rebooting: TimeDelta::seconds(2),
            terminating: TimeDelta::seconds(3),
        }
    }
}

/// The timing rules of the lifecycle engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleConfig {
    /// Transitional state durations.
    pub delays: TransitionDelays,
    /// The length of a usage record of an open run, aligned to the clock (an hour, by
    /// default: one record per server and clock hour).
    pub billing_period: TimeDelta,
    /// A server stopped longer than this is terminated by the reaper.
    pub idle_timeout: TimeDelta,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        Self {
            delays: TransitionDelays::default(),
            billing_period: TimeDelta::hours(1),
            idle_timeout: TimeDelta::minutes(30),
        }
    }
}

/// A planned change to one server, applied by a store in one transaction, and only if the
/// stored server is still at `expected_generation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    /// The generation the change was planned from.
    pub expected_generation: i64,
    /// The server as it is after the change.
    pub server: Server,
    /// Events to append, oldest first.
    pub events: Vec<NewEvent>,
    /// Usage records to append, oldest first.
    pub usage: Vec<UsageRecord>,
    /// Whether the server's address goes back to its pool.
    pub release_address: bool,
    /// How the server's running action record ends, applied before `action_opened` is
    /// stored: a completed transition succeeds it, a terminate in mid-transition fails it.
    pub action_ended: Option<ActionEnd>,
    /// The action record this change opens (an accepted action), already ended when its
    /// transition completed within the change.
    pub action_opened: Option<ActionRecord>,
    /// The fault rules that fired in this change, each counted once in the same
    /// transaction.
    pub faults_fired: Vec<FaultRuleId>,
}

impl StateChange {
    /// Whether the change carries an action someone asked for, rather than only completing
    /// a transition that was due.
    pub fn carries_action(&self) -> bool {
        self.events
            .iter()
            .any(|event| event.kind == EventKind::ActionRequested)
    }

    /// The change that starts from `server` as read: its next generation, nothing else yet.
    pub(crate) fn from(server: &Server) -> Self {
        let mut next = server.clone();
        next.generation += 1;
        Self {
            expected_generation: server.generation,
            server: next,
            events: Vec::new(),
            usage: Vec::new(),
            release_address: false,
            action_ended: None,
            action_opened: None,
            faults_fired: Vec::new(),
        }
    }

    /// Ends the server's running action: the one this change opened if it did, else the
    /// stored one.
    fn end_action(&mut self, end: ActionEnd) {
        match &mut self.action_opened {
            Some(opened) if opened.status == ActionStatus::Running => opened.end(end),
            _ => self.action_ended = Some(end),
        }
    }
}

/// What a client's `action` does to `server` at `now`: a change, nothing (a no-op), or a
/// conflict. A stop or a terminate gives the server the reason `Client.UserInitiatedShutdown`
/// ([`StateReason::of_client`]).
///
/// A transition that was already due by `now` but not yet completed by a worker is completed
/// first, in the same change, so the action meets the state the server really is in.
///
/// The action record an accepted action opens takes its id from `ids`.
pub fn plan_action(
    server: &Server,
    action: Action,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
    ctx: &RequestContext,
    ids: &Entropy,
) -> Result<Option<StateChange>, Conflict> {
    let reason = StateReason::of_client(action);
    plan_action_because(server, action, now, config, ctx, ids, reason)
}

/// [`plan_action`] for an action taken for `reason`: the service's own (the reaper's, a
/// fault's), which a client's action does not say. The server keeps the reason if the
/// action takes it out of service (see [`crate::reason`]); an action into service clears it.
pub fn plan_action_because(
    server: &Server,
    action: Action,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
    ctx: &RequestContext,
    ids: &Entropy,
    reason: Option<StateReason>,
) -> Result<Option<StateChange>, Conflict> {
    let overdue = plan_completion(server, now, config);
    let current = overdue.as_ref().map_or(server, |change| &change.server);
    match state::decide(current.state, action)? {
        Decision::NoOp => Ok(overdue),
        Decision::Transition(to) => {
            let mut change = overdue.unwrap_or_else(|| StateChange::from(server));
            change.server.state_reason = reason;
            enter(
                &mut change,
                to,
                now,
                config,
                ctx,
                EventKind::ActionRequested,
                Some(ids.action_id()),
            );
            Ok(Some(change))
        }
    }
}

/// Completes `server`'s transitional state if it is due by `now`.
///
/// The completion is dated at its due time, not at `now`, so a late worker or a restart
/// bills and records exactly what a punctual one would have.
pub fn plan_completion(
    server: &Server,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> Option<StateChange> {
    let due = server.transition_due_at.filter(|due| *due <= now)?;
    server.state.completes_to()?;
    let mut change = StateChange::from(server);
    complete(&mut change, due, config);
    Some(change)
}

/// The most billing periods one accrual bills; a longer backlog is billed over several.
pub const MAX_PERIODS_PER_ACCRUAL: usize = 1_000;

/// Accrues `server`'s open run into the ledger, one record per billing period that has
/// ended by `now` since its watermark; what is left of a period waits for the next accrual.
///
/// Records end on the clock's period boundaries ([`billing::period_end`]), so the ledger is
/// the same whether a worker accrued every period as it ended or caught up later (after a
/// restart, or a virtual clock moved by a month at once).
pub fn plan_accrual(
    server: &Server,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
) -> Option<StateChange> {
    let mut change = StateChange::from(server);
    while change.usage.len() < MAX_PERIODS_PER_ACCRUAL {
        let end = billing::piece_end(change.server.billed_until?, Some(config.billing_period));
        if end > now {
            break;
        }
        let record = billing::accrue(&mut change.server, end)?;
        change.usage.push(record);
    }
    (!change.usage.is_empty()).then_some(change)
}

/// Terminates `server` for the reaper, with the reason `Client.IdleReaped`, if it has been
/// stopped longer than the idle timeout.
pub fn plan_reap(
    server: &Server,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
    ids: &Entropy,
) -> Option<StateChange> {
    let stopped_at = server.stopped_at?;
    if server.state != ServerState::Stopped || now - stopped_at < config.idle_timeout {
        return None;
    }
    plan_action_because(
        server,
        Action::Terminate,
        now,
        config,
        &RequestContext::reaper(),
        ids,
        Some(StateReason::IdleReaped),
    )
    .ok()
    .flatten()
}

/// What a new server is, before the lifecycle gives it a state, a due time and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSpec {
    /// Its id.
    pub id: ServerId,
    /// The project it belongs to.
    pub project: ProjectId,
    /// Its name.
    pub name: String,
    /// Its labels.
    pub labels: Labels,
    /// Its region.
    pub region: String,
    /// Its server type.
    pub server_type: String,
    /// The hourly price it will be billed at.
    pub hourly_price: Money,
    /// How its time will be charged.
    pub policy: BillingPolicy,
    /// Its type's vCPUs, counted against its project's vCPU quota.
    pub vcpus: u32,
}

/// What provisioning `spec` at `now` asks the store to create: the server in `provisioning`,
/// due to be running after the provisioning delay, and the event recording its creation.
/// A new server is in service: it has no state reason, nor has its creation.
pub fn plan_provision(
    spec: ServerSpec,
    now: DateTime<Utc>,
    config: &LifecycleConfig,
    ctx: &RequestContext,
    ids: &Entropy,
) -> NewServer {
    let event = NewEvent {
        subject: EventSubject::Server(spec.id),
        at: now,
        kind: EventKind::Created,
        from_state: None,
        to_state: Some(ServerState::Provisioning),
        actor: ctx.actor,
        request_id: ctx.request_id.clone(),
        trace: ctx.trace,
        key: ctx.key,
        message: format!("provisioned as {} in {}", spec.server_type, spec.region),
        reason: None,
    };
    let vcpus = spec.vcpus;
    let action = ActionRecord {
        id: ids.action_id(),
        project: spec.project,
        server_id: spec.id,
        command: ActionCommand::Provision,
        status: ActionStatus::Running,
        started_at: now,
        finished_at: None,
        error: None,
        request_id: ctx.request_id.clone(),
    };
    let server = Server {
        id: spec.id,
        project: spec.project,
        name: spec.name,
        labels: spec.labels,
        region: spec.region,
        server_type: spec.server_type,
        state: ServerState::Provisioning,
        state_reason: None,
        ip: None,
        hourly_price: spec.hourly_price,
        generation: 0,
        created_at: now,
        updated_at: now,
        started_at: None,
        stopped_at: None,
        terminated_at: None,
        transition_due_at: Some(now + config.delays.provisioning),
        billed_until: None,
        billed_seconds: 0,
        billed_stopped_seconds: 0,
        billed_amount: Money::ZERO,
        policy: spec.policy,
        month_to_date: MonthToDate::default(),
        chaos: ChaosState::default(),
    };
    NewServer {
        server,
        event,
        vcpus,
        action,
    }
}

/// Moves the change's server into `to` at `at`; a requested action opens its record with
/// the id `opens`. Its state reason is the one it holds (an action's, set just before, or
/// the one a completing transition began with) if `to` keeps one, and every event of the
/// move carries it.
fn enter(
    change: &mut StateChange,
    to: ServerState,
    at: DateTime<Utc>,
    config: &LifecycleConfig,
    ctx: &RequestContext,
    kind: EventKind,
    opens: Option<ActionId>,
) {
    let from = change.server.state;
    let reason = change
        .server
        .state_reason
        .filter(|_| StateReason::is_kept_in(to));
    change.server.state_reason = reason;
    match kind {
        EventKind::TransitionCompleted if to.completes_to().is_none() => {
            change.end_action(ActionEnd {
                status: ActionStatus::Success,
                at,
                error: None,
            });
        }
        EventKind::ActionRequested if from.completes_to().is_some() => {
            change.end_action(ActionEnd {
                status: ActionStatus::Error,
                at,
                error: Some(format!("{} requested while {from}", verb(to))),
            });
        }
        _ => {}
    }
    if let Some(id) = opens {
        change.action_opened = Some(ActionRecord {
            id,
            project: change.server.project,
            server_id: change.server.id,
            command: ActionCommand::Lifecycle(action_into(to)),
            status: ActionStatus::Running,
            started_at: at,
            finished_at: None,
            error: None,
            request_id: ctx.request_id.clone(),
        });
    }
    let server = &mut change.server;
    let closes_run = from.is_billable() && !to.is_billable() && server.billed_until.is_some();
    let records = billing::on_transition(server, to, at, config.billing_period);
    server.chaos = chaos_after(server.chaos, from, to);
    server.state = to;
    server.updated_at = at;
    server.transition_due_at = config.delays.of(to).map(|delay| at + delay);
    if closes_run {
        let seconds: i64 = records.iter().map(|r| r.seconds).sum();
        let amount = records.iter().fold(Money::ZERO, |sum, r| sum + r.amount);
        change.events.push(NewEvent {
            subject: EventSubject::Server(change.server.id),
            at,
            kind: EventKind::Billed,
            from_state: None,
            to_state: None,
            actor: ctx.actor,
            request_id: ctx.request_id.clone(),
            trace: ctx.trace,
            key: ctx.key,
            message: format!("run closed: {seconds} s billed, {amount}"),
            reason,
        });
    }
    change.usage.extend(records);
    match to {
        ServerState::Stopped => change.server.stopped_at = Some(at),
        ServerState::Terminated => {
            change.server.terminated_at = Some(at);
            change.server.ip = None;
            change.release_address = true;
        }
        _ => {}
    }
    let message = match kind {
        EventKind::TransitionCompleted => format!("{from} completed: now {to}"),
        _ => format!("{} requested by {}: {from} → {to}", verb(to), ctx.actor),
    };
    change.events.push(NewEvent {
        subject: EventSubject::Server(change.server.id),
        at,
        kind,
        from_state: Some(from),
        to_state: Some(to),
        actor: ctx.actor,
        request_id: ctx.request_id.clone(),
        trace: ctx.trace,
        key: ctx.key,
        message,
        reason,
    });
    if change.server.transition_due_at == Some(at) {
        complete(change, at, config);
    }
}

fn complete(change: &mut StateChange, at: DateTime<Utc>, config: &LifecycleConfig) {
    if let Some(to) = change.server.state.completes_to() {
        let ctx = RequestContext::system();
        enter(
            change,
            to,
            at,
            config,
            &ctx,
            EventKind::TransitionCompleted,
            None,
        );
    }
}

/// What is left in store for a server moving from `from` to `to`: a transition's fault ends
/// with the transition; a scheduled one lasts while the server stays up (a reboot keeps
/// it). A new run (a launch or a start completing) has its schedule drawn afresh.
fn chaos_after(chaos: ChaosState, from: ServerState, to: ServerState) -> ChaosState {
    let up = |state| matches!(state, ServerState::Running | ServerState::Rebooting);
    let keeps = chaos.pending.is_some_and(|p| p.is_scheduled()) && up(from) && up(to);
    let new_run = to == ServerState::Running
        && matches!(from, ServerState::Provisioning | ServerState::Starting);
    match (keeps, new_run) {
        (true, _) => chaos,
        (false, true) => ChaosState::default(),
        (false, false) => chaos.cleared(),
    }
}

/// The action that leads into the transitional state `to`.
fn action_into(to: ServerState) -> Action {
    match to {
        ServerState::Starting => Action::Start,
        ServerState::Stopping => Action::Stop,
        ServerState::Rebooting => Action::Reboot,
        _ => Action::Terminate,
    }
}

fn verb(to: ServerState) -> &'static str {
    action_into(to).as_str()
}
