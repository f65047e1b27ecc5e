"""Schemathesis hooks of `cargo xtask contract`, which sets the environment they read:
FLEET_CONTRACT_KEY (the run's admin key), FLEET_CONTRACT_PROJECT (its project's id), and
FLEET_CONTRACT_REGIONS / FLEET_CONTRACT_TYPES (the catalog's names, comma-separated).

Region and server type are strings checked against the catalog fleetd runs with (a user's
catalog may differ from the built-in one), so the spec cannot list them: a schema-valid
request naming one the catalog lacks is refused, and that refusal (with a list cursor
fleetd never handed out, and a wait that timed out) is what the run accepts. Most
generated names are swapped for the catalog's, so that provisioning succeeds often enough
for the run to reach the servers it creates. A wait is cut to a second: one for a state
the virtual clock never reaches would otherwise last a minute.

Label keys are likewise beyond OpenAPI 3.0 (which cannot bound an object's keys): a label
whose key breaks the label rules is refused (`invalid-labels`), and most generated keys
are swapped for valid ones.

An Idempotency-Key names one request, so the same key sent with another request is
refused (`idempotency-key-reused`), as a request still in flight with it is.
"""

import datetime
import os
import zlib

import schemathesis

# What a schema-valid request may be refused for, by operation: a region or server type
# the catalog lacks (the types fleetd answers, 422 in a body, 400 in a query; a bulk
# action's filters are optional, so only the ones it sends are swapped); when
# listing (or paging a billing history), a cursor fleetd did not hand out (opaque, so its validity is no schema's either);
# and a wait whose timeout passed first (408, which no schema can foresee: on the virtual
# clock only an advance moves a server on).
UNKNOWN_CATALOG_NAME = ["urn:fleet:problem:unknown-region", "urn:fleet:problem:unknown-server-type"]
INVALID_CURSOR = "urn:fleet:problem:invalid-cursor"
# A label whose key breaks the label rules (OpenAPI 3.0 has no `propertyNames`, so the
# spec bounds a label's value and the number of labels, but a key only in words), or, for a
# patch, labels that would leave a server more than 64 (a count of the server's labels
# after the change, which no schema of the patch can state).
INVALID_LABELS = "urn:fleet:problem:invalid-labels"
# An `If-Match` of entity-tags (the header's schema is their syntax) that name no version
# the server is at: which generation a server is at is state, not schema.
PRECONDITION_FAILED = "urn:fleet:problem:precondition-failed"
# An Idempotency-Key is a name for one request, which no schema can know: the run draws few
# distinct keys, so a schema-valid request often names a key an earlier request of another
# operation, server or body used (422), and a concurrent one may find it in flight (409).
KEY_TAKEN = ["urn:fleet:problem:idempotency-key-reused", "urn:fleet:problem:idempotency-key-in-flight"]
# A fault rule's checks that span fields or name the catalog (`ends_at` after `starts_at`,
# `max_ms` at least `min_ms`, a status among five within the range the schema states, a
# region or type of the catalog) are words in its description, which no schema states.
INVALID_FAULT_RULE = "urn:fleet:problem:invalid-fault-rule"
# A webhook's URL is checked beyond what a schema states (that it parses as an absolute
# URL, http or https, without credentials, not aimed at a forbidden address), a project
# holds at most 25 webhooks (state, not schema), and a change racing another is refused.
WEBHOOK_REFUSALS = [
    "urn:fleet:problem:invalid-webhook-url",
    "urn:fleet:problem:too-many-webhooks",
    "urn:fleet:problem:webhook-changed-concurrently",
]
ACCEPTED_REFUSALS = {
    "createWebhook": WEBHOOK_REFUSALS,
    "updateWebhook": WEBHOOK_REFUSALS,
    "listWebhooks": [INVALID_CURSOR],
    "listWebhookDeliveries": [INVALID_CURSOR],
    "createFaultRule": [INVALID_FAULT_RULE],
    "provisionServer": [*UNKNOWN_CATALOG_NAME, INVALID_LABELS, *KEY_TAKEN],
    "provisionServerAlias": [*UNKNOWN_CATALOG_NAME, INVALID_LABELS, *KEY_TAKEN],
    "updateServer": [INVALID_LABELS, PRECONDITION_FAILED, *KEY_TAKEN],
    "actOnServer": [PRECONDITION_FAILED, *KEY_TAKEN],
    "actOnServers": [*UNKNOWN_CATALOG_NAME, *KEY_TAKEN],
    "listServers": [*UNKNOWN_CATALOG_NAME, INVALID_CURSOR],
    "listServerActions": [INVALID_CURSOR],
    "getServerBilling": [INVALID_CURSOR],
    "listFaultRules": [INVALID_CURSOR],
    "waitForServer": ["urn:fleet:problem:wait-timeout"],
    # A range must run forward and fit 10,000 buckets, and group keys must not repeat: rules
    # between parameters (or of a list in one) no schema states.
    "getCosts": ["urn:fleet:problem:invalid-range", "urn:fleet:problem:invalid-group-by"],
    "getCostForecast": ["urn:fleet:problem:invalid-range"],
    # An amount of zero or over a billion, a selector naming more than three label keys,
    # and the twenty-first budget of a project: rules of value and of state, not of form.
    "createBudget": [
        "urn:fleet:problem:invalid-amount",
        "urn:fleet:problem:invalid-label-selector",
        "urn:fleet:problem:too-many-budgets",
    ],
}
PROVISIONING = ["provisionServer", "provisionServerAlias"]
LABELLING = [*PROVISIONING, "updateServer"]

# The run's own key and project: revoking the key, or rate-limiting or capping its project,
# would turn the rest of the run into 401s, 429s and 403s, which pass every check.
RUN_KEY_ID = os.environ["FLEET_CONTRACT_KEY"].split("_")[1]
RUN_PROJECT = os.environ["FLEET_CONTRACT_PROJECT"]
CATALOG = {
    "region": os.environ["FLEET_CONTRACT_REGIONS"].split(","),
    "type": os.environ["FLEET_CONTRACT_TYPES"].split(","),
}


@schemathesis.hook("filter_failure").apply_to(operation_id=list(ACCEPTED_REFUSALS))
def accept_refusals_no_schema_can_foresee(context, failure, case, response):
    """Drops ST202 (schema-valid request rejected) when the problem's type is one the
    operation's entry in ACCEPTED_REFUSALS names; keeps every other failure."""
    if failure.code != "ST202":
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    accepted = ACCEPTED_REFUSALS[case.operation.definition.raw["operationId"]]
    return not (isinstance(problem, dict) and problem.get("type") in accepted)


@schemathesis.hook("filter_failure")
def a_body_too_large_was_refused(context, failure, case, response):
    """Drops ST201 (schema-violating request accepted) when the answer is a 413
    `payload-too-large`: the request was refused, by its size, before its fields were
    read. Schemathesis counts only its own list of refusal statuses, which lacks 413; a
    generated value far beyond a field's `maxLength` (as UTF-8, several bytes a character)
    makes such a body. Every other failure is kept."""
    if failure.code != "ST201" or response.status_code != 413:
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    return not (isinstance(problem, dict) and problem.get("type") == "urn:fleet:problem:payload-too-large")


@schemathesis.hook("filter_failure").apply_to(operation_id="streamEvents")
def events_are_not_the_stream_schema(context, failure, case, response):
    """Drops ST108 (response violates schema) for the events of the stream's 200.

    OpenAPI 3.0 has no schema for one Server-Sent Event: the document describes the 200 as
    the stream's text, while schemathesis reads a 3.0 `schema` as each event's and finds
    every event (an object of `id`, `event` and `data`) not a string. fleetd's
    tests/e2e/watching.rs holds each event's `data` to the event as `GET /events` lists it,
    which this run holds to `WatchEvent`. Every other failure of the stream is kept."""
    return not (failure.code == "ST108" and response.status_code == 200)


@schemathesis.hook("map_body").apply_to(operation_id=[*PROVISIONING, "actOnServers"])
def mostly_known_catalog_names(context, body):
    """Replaces three in four generated region and type strings (the empty one, the most
    generated, among them) with catalog names, chosen from the generated text so that a
    seed replays the same requests."""
    if not isinstance(body, dict):
        return body
    for field, names in CATALOG.items():
        value = body.get(field)
        if isinstance(value, str):
            digest = zlib.crc32(value.encode("utf-8", "surrogatepass"))
            if digest % 4 != 1:
                body[field] = names[digest % len(names)]
    return body


# Where the run's webhooks deliver: the discard port of this host, which refuses at once,
# so no delivery of the run leaves the machine or waits on a name lookup.
WEBHOOK_URL_MAX_CHARS = 2048
WEBHOOK_URLS = ["http://127.0.0.1:9/hook", "http://127.0.0.1:9/a/b?c=d", "https://127.0.0.1:9/"]


@schemathesis.hook("map_body").apply_to(operation_id=["createWebhook", "updateWebhook"])
def mostly_valid_webhook_urls(context, body):
    """Replaces three in four generated URLs (which are mostly not URLs) with ones fleetd
    delivers to, chosen from the generated text so that a seed replays the same requests;
    the others test the refusal of a bad one. A URL outside the schema's length bounds
    is kept: it is a negative case, which fleetd must refuse as generated."""
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str) or not 1 <= len(url) <= WEBHOOK_URL_MAX_CHARS:
        return body
    digest = zlib.crc32(body["url"].encode("utf-8", "surrogatepass"))
    if digest % 4 != 1:
        body["url"] = WEBHOOK_URLS[digest % len(WEBHOOK_URLS)]
    return body


# A project no request of the run is in: every fault rule the run makes is scoped to it.
NO_ONES_PROJECT = "00000000-0000-4000-8000-00000000fa17"


@schemathesis.hook("before_call").apply_to(operation_id="createFaultRule")
def fault_rules_hit_no_request_of_the_run(context, case, kwargs):
    """Scopes every fault rule the run makes, in every phase (explicit examples and the
    coverage phase included, which `map_body` does not see), to a project no request of the
    run is in: a rule that fired would answer the run's other requests with the errors and
    delays it asks for, which the checks count against those operations. fleetd's
    tests/e2e/faults.rs holds the rules' effects instead."""
    if isinstance(case.body, dict):
        case.body["project"] = NO_ONES_PROJECT


# Label keys a generated one is swapped for: a name, a prefixed one, and the longest.
LABEL_KEYS = ["env", "tier", "app.kubernetes.io/name", "team-a_b.c", "x" * 63]


@schemathesis.hook("map_body").apply_to(operation_id=LABELLING)
def mostly_valid_label_keys(context, body):
    """Replaces three in four generated label keys (which are mostly not label keys) with
    valid ones, chosen from the generated text, so that labelled servers are provisioned
    and patched often enough; the others test the refusal of a bad key."""
    labels = body.get("labels") if isinstance(body, dict) else None
    if not isinstance(labels, dict):
        return body
    swapped = {}
    for key, value in labels.items():
        digest = zlib.crc32(key.encode("utf-8", "surrogatepass"))
        valid = LABEL_KEYS[digest % len(LABEL_KEYS)]
        # Never two keys into one: a body with too many labels keeps them all.
        if digest % 4 != 1 and valid not in labels and valid not in swapped:
            key = valid
        swapped[key] = value
    body["labels"] = swapped
    return body


@schemathesis.hook("map_headers").apply_to(operation_id=["actOnServer", "updateServer"])
def mostly_unconditional_changes(context, headers):
    """Drops three in four generated `If-Match` headers, chosen from the generated text so
    that a seed replays the same requests: a generated entity-tag almost never names the
    server's version, so with every one kept nearly every change would be a 412 and the
    changes themselves would go untested; the others test the condition."""
    if not isinstance(headers, dict) or "If-Match" not in headers:
        return headers
    value = str(headers["If-Match"])
    if zlib.crc32(value.encode("utf-8", "surrogatepass")) % 4 != 1:
        del headers["If-Match"]
    return headers


@schemathesis.hook("filter_case").apply_to(operation_id=["revokeKey", "updateProject", "setProjectQuotas"])
def spare_the_run_key(context, case):
    """Leaves the run's own key and project alone."""
    target = str(case.path_parameters.get("id", "")).replace("-", "")
    return target not in (RUN_KEY_ID, RUN_PROJECT.replace("-", ""))


# The shortest and the longest wait fleetd accepts, in seconds (the spec's bounds).
SHORTEST_WAIT, LONGEST_WAIT = 1, 60


@schemathesis.hook("map_case").apply_to(operation_id="waitForServer")
def short_waits(context, case):
    """Cuts a valid wait's `timeout` (or its absence, 60 s) to SHORTEST_WAIT; leaves an
    invalid one, which the case may be about, alone."""
    query = case.query if isinstance(case.query, dict) else None
    if query is None:
        return case
    timeout = query.get("timeout")
    if timeout is None or (isinstance(timeout, int) and SHORTEST_WAIT < timeout <= LONGEST_WAIT):
        query["timeout"] = SHORTEST_WAIT
    return case


# Group keys fleetd knows, as `group_by` lists them.
GROUPINGS = ["region", "type,region", "label:team", "project,server", "region,type,label:app"]


@schemathesis.hook("map_query").apply_to(operation_id="getCosts")
def mostly_forward_cost_ranges(context, query):
    """Three in four generated reports get a range that runs forward and fits the bucket
    limit (`to` 1 to 720 hours after `from`) and known group keys, chosen from the
    generated text so that a seed replays the same requests: a generated pair of instants
    is reversed half the time and a generated `group_by` is almost never a list of known
    keys, so the reports themselves would go untested; the others test the refusals."""
    if not isinstance(query, dict) or not isinstance(query.get("from"), str):
        return query
    digest = zlib.crc32(query["from"].encode("utf-8", "surrogatepass"))
    if digest % 4 == 1:
        return query
    try:
        start = datetime.datetime.fromisoformat(query["from"])
        query["to"] = (start + datetime.timedelta(hours=digest % 720 + 1)).isoformat()
    except (ValueError, OverflowError):
        return query
    if "group_by" in query:
        query["group_by"] = GROUPINGS[digest % len(GROUPINGS)]
    return query


@schemathesis.hook("map_query").apply_to(operation_id="getCostForecast")
def mostly_future_forecasts(context, query):
    """Three in four generated forecasts end 1 to 300 days after the system clock's now,
    which fleetd's virtual clock starts from (until the run moves it on); which ones, and
    how many days, come from the generated text, so a seed replays the same choices. A
    generated instant is almost always in the past, so the forecast itself would go
    untested."""
    if not isinstance(query, dict) or not isinstance(query.get("until"), str):
        return query
    digest = zlib.crc32(query["until"].encode("utf-8", "surrogatepass"))
    if digest % 4 != 1:
        now = datetime.datetime.now(datetime.timezone.utc)
        query["until"] = (now + datetime.timedelta(days=digest % 300 + 1)).isoformat()
    return query
