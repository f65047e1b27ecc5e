"""A server's whole life through the Python client generated from docs/openapi.json, as a
user of that client would drive it: provision, run on the virtual clock, stop, bill, read
the logs, follow the action records, the event sequence and waits, and read a refused
request as a typed Problem.

Run by `cargo xtask contract` against a fleetd with `--clock virtual`:

    python lifecycle.py http://127.0.0.1:PORT    (API key in FLEET_CONTRACT_KEY)

Exits non-zero, saying what was wrong, when fleetd or the client does not behave as the
spec promises.
"""

import os
import sys

from fleet_client import AuthenticatedClient
from fleet_client.types import Unset
from fleet_client.api.actions import get_action, list_server_actions
from fleet_client.api.admin import advance_clock, read_clock
from fleet_client.api.catalog import get_catalog
from fleet_client.api.events import list_events
from fleet_client.api.servers import (
    act_on_server,
    get_server,
    get_server_billing,
    get_server_events,
    provision_server,
    wait_for_server,
)
from fleet_client.models import (
    ActionCommand,
    ActionList,
    ActionRecord,
    ActionRequest,
    ActionStatus,
    AdvanceReport,
    AdvanceRequest,
    ClockReading,
    EventPage,
    Problem,
    ProvisionRequest,
    Server,
    ServerState,
    WatchEventType,
)

# How long the server runs before it is stopped: past the 60 s a run is billed at least.
RUN_SECONDS = 90

# How far the clock may be moved, a second at a time, waiting for a transition.
MAX_WAIT_SECONDS = 600


class ContractError(Exception):
    """fleetd or the generated client did not do what the spec says."""


def check(condition, message):
    if not condition:
        raise ContractError(message)


def expect(value, kind, what):
    """`value` when it is a `kind`; a Problem or anything else fails, naming `what`."""
    if isinstance(value, kind):
        return value
    if isinstance(value, Problem):
        raise ContractError(f"{what}: {value.status} {value.type_}: {value.detail}")
    raise ContractError(f"{what}: expected a {kind.__name__}, got {value!r}")


def advance(client, seconds):
    """Moves the virtual clock `seconds` on, and checks it moved that far."""
    before = expect(read_clock.sync(client=client), ClockReading, "read the clock").now
    body = AdvanceRequest(seconds=seconds)
    report = expect(advance_clock.sync(client=client, body=body), AdvanceReport, "advance the clock")
    moved = (report.now - before).total_seconds()
    check(moved == seconds, f"advancing the clock {seconds} s moved it {moved} s")


def wait_for_state(client, server_id, state):
    """Moves the virtual clock a second at a time until the server is in `state`."""
    for _ in range(MAX_WAIT_SECONDS):
        server = expect(get_server.sync(server_id, client=client), Server, "get the server")
        if server.state == state:
            return server
        advance(client, 1)
    raise ContractError(f"the server did not reach {state.value} within {MAX_WAIT_SECONDS} virtual seconds")


def provision(client, region, server_type):
    request = ProvisionRequest(region=region, type_=server_type, name="contract-lifecycle")
    server = expect(provision_server.sync(client=client, body=request), Server, "provision")
    check(server.state == ServerState.PROVISIONING, f"a new server is {server.state.value}, not provisioning")
    check(server.name == "contract-lifecycle", f"the server is named {server.name!r}")
    check(server.region == region, f"the server is in {server.region}, not {region}")
    check_action(server.action, ActionCommand.PROVISION, ActionStatus.RUNNING)
    return server


def check_action(action, command, status):
    """`action` is an action record of `command` in `status`, finished unless running."""
    record = expect(action, ActionRecord, f"the {command.value} action")
    check(record.command == command, f"the {command.value} action records {record.command.value}")
    check(record.status == status, f"the {command.value} action is {record.status.value}, not {status.value}")
    finished = not isinstance(record.finished_at, Unset)
    check(finished == (status != ActionStatus.RUNNING), f"the {command.value} action's end: {record.finished_at!r}")
    return record


def stop(client, server_id):
    answer = act_on_server.sync(server_id, client=client, body=ActionRequest.from_dict({"action": "stop"}))
    stopping = expect(answer, Server, "stop")
    check(stopping.state == ServerState.STOPPING, f"a stopped server is {stopping.state.value}, not stopping")
    check_action(stopping.action, ActionCommand.STOP, ActionStatus.RUNNING)
    return wait_for_state(client, server_id, ServerState.STOPPED)


def check_billing(client, server_id, hourly_micros):
    report = get_server_billing.sync(server_id, client=client)
    check(not isinstance(report, Problem), f"billing: {report!r}")
    check(len(report.records) >= 1, "a server that ran has no usage record")
    billing = report.billing
    check(billing.unbilled_seconds == 0, f"a stopped server has {billing.unbilled_seconds} unbilled seconds")
    check(billing.billed_seconds == RUN_SECONDS, f"a {RUN_SECONDS} s run was billed {billing.billed_seconds} s")
    check(
        billing.total.micros == RUN_SECONDS * hourly_micros // 3600,
        f"{RUN_SECONDS} s at {hourly_micros} micros/h cost {billing.total.micros} micros",
    )
    check(
        sum(record.amount.micros for record in report.records) == billing.billed.micros,
        "the usage records do not add up to the billed amount",
    )


def check_logs(client, server_id):
    events = get_server_events.sync(server_id, client=client)
    check(not isinstance(events, Problem), f"logs: {events!r}")
    reached = [event.to_state for event in events.items if event.to_state]
    expected = [ServerState.STOPPED, ServerState.STOPPING, ServerState.RUNNING, ServerState.PROVISIONING]
    check(reached == expected, f"the states reached, newest first, are {[s.value for s in reached]}")


def check_watching(client, server_id, provisioning):
    """Once the server runs: a wait for its state answers at once, its provisioning
    succeeded, and the event sequence lists its provisioning."""
    waited = wait_for_server.sync(server_id, client=client, state=[ServerState.STOPPED, ServerState.RUNNING])
    check(expect(waited, Server, "wait for running").state == ServerState.RUNNING, f"waited for {waited.state}")
    check_action(get_action.sync(provisioning, client=client), ActionCommand.PROVISION, ActionStatus.SUCCESS)
    provisioned = [WatchEventType.SERVER_PROVISIONED]
    page = expect(list_events.sync(client=client, server_id=server_id, type_=provisioned), EventPage, "list events")
    check([event.type_ for event in page.items] == provisioned, f"the server's provisioning events: {page.items}")
    check(page.next_after >= page.items[0].seq, f"the next cursor {page.next_after} is behind the event")


def check_action_history(client, server_id):
    """The stopped server's actions, newest first: the stop, then the provisioning."""
    actions = expect(list_server_actions.sync(server_id, client=client), ActionList, "list the server's actions")
    commands = [action.command for action in actions.items]
    check(commands == [ActionCommand.STOP, ActionCommand.PROVISION], f"the server's actions: {commands}")
    for action in actions.items:
        check_action(action, action.command, ActionStatus.SUCCESS)


def check_waits_refused(client, server_id):
    """A wait for a state the stopped server can reach times out (408); once it is
    terminated, a wait for running is refused at once (409). Both problems name its state."""
    running = [ServerState.RUNNING]
    timed_out = expect(wait_for_server.sync(server_id, client=client, state=running, timeout=1), Problem, "wait")
    check(timed_out.status == 408, f"a wait that timed out is a {timed_out.status}")
    check(timed_out.state == ServerState.STOPPED, f"the timeout names the state {timed_out.state!r}")
    act_on_server.sync(server_id, client=client, body=ActionRequest.from_dict({"action": "terminate"}))
    wait_for_state(client, server_id, ServerState.TERMINATED)
    refused = expect(wait_for_server.sync(server_id, client=client, state=running), Problem, "wait for running")
    check(refused.status == 409, f"waiting for running on a terminated server is a {refused.status}")
    check(refused.type_ == "urn:fleet:problem:state-unreachable", f"the refusal is {refused.type_}")
    check(refused.state == ServerState.TERMINATED, f"the refusal names the state {refused.state!r}")


def check_problems(client, server_id, server_type):
    unknown = ProvisionRequest(region="no-such-region", type_=server_type)
    problem = expect(provision_server.sync(client=client, body=unknown), Problem, "an unknown region")
    check(problem.status == 422, f"an unknown region is a {problem.status}")
    check(problem.type_ == "urn:fleet:problem:unknown-region", f"an unknown region is {problem.type_}")
    check("no-such-region" in problem.detail, f"the detail does not name the region: {problem.detail}")
    check(bool(problem.request_id), "the problem carries no request id")

    # Rebooting a stopped server conflicts: the problem says its state and what it accepts.
    reboot = ActionRequest.from_dict({"action": "reboot"})
    conflict = expect(act_on_server.sync(server_id, client=client, body=reboot), Problem, "reboot a stopped server")
    check(conflict.status == 409, f"rebooting a stopped server is a {conflict.status}")
    check(conflict.state == ServerState.STOPPED, f"the conflict names the state {conflict.state!r}")
    allowed = sorted(action.value for action in conflict.allowed_actions)
    check(allowed == ["start", "stop", "terminate"], f"a stopped server accepts {allowed}")


def main():
    base_url, key = sys.argv[1], os.environ["FLEET_CONTRACT_KEY"]
    with AuthenticatedClient(base_url=base_url, token=key, raise_on_unexpected_status=True) as client:
        catalog = get_catalog.sync(client=client)
        check(not isinstance(catalog, Problem), f"catalog: {catalog!r}")
        region = catalog.regions[0].name
        server_type = catalog.server_types[0]

        server = provision(client, region, server_type.name)
        wait_for_state(client, server.id, ServerState.RUNNING)
        check_watching(client, server.id, server.action.id)
        advance(client, RUN_SECONDS)
        stop(client, server.id)
        check_billing(client, server.id, server_type.hourly_price.micros)
        check_logs(client, server.id)
        check_action_history(client, server.id)
        check_problems(client, server.id, server_type.name)
        check_waits_refused(client, server.id)
    print(
        "lifecycle: provisioned, ran, stopped, billed, logged, watched and terminated through "
        "the generated client"
    )


if __name__ == "__main__":
    try:
        main()
    except ContractError as error:
        print(f"lifecycle: {error}", file=sys.stderr)
        sys.exit(1)
