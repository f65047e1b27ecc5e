"""Schemathesis hooks of `cargo xtask contract`, which sets the environment they read:
FLEET_CONTRACT_KEY (the run's admin key), FLEET_CONTRACT_PROJECT (its project's id), and
FLEET_CONTRACT_REGIONS / FLEET_CONTRACT_TYPES (the catalog's names, comma-separated).

Region and server type are strings checked against the catalog fleetd runs with (a user's
catalog may differ from the built-in one), so the spec cannot list them: a schema-valid
request naming one the catalog lacks is refused, and that refusal is the one finding the
run accepts. Most generated names are swapped for the catalog's, so that provisioning
succeeds often enough for the run to reach the servers it creates.
"""

import os
import zlib

import schemathesis

# The problem types fleetd answers for a region or server type its catalog lacks.
UNKNOWN_CATALOG_NAME = {
    "urn:fleet:problem:unknown-region",
    "urn:fleet:problem:unknown-server-type",
}

# The operations that take a region or server type, in the body or the query.
TAKES_CATALOG_NAMES = ["provisionServer", "provisionServerAlias", "listServers"]
PROVISIONING = ["provisionServer", "provisionServerAlias"]

# The run's own key and project: revoking the key, or rate-limiting or capping its project,
# would turn the rest of the run into 401s, 429s and 403s, which pass every check.
RUN_KEY_ID = os.environ["FLEET_CONTRACT_KEY"].split("_")[1]
RUN_PROJECT = os.environ["FLEET_CONTRACT_PROJECT"]
CATALOG = {
    "region": os.environ["FLEET_CONTRACT_REGIONS"].split(","),
    "type": os.environ["FLEET_CONTRACT_TYPES"].split(","),
}


@schemathesis.hook("filter_failure").apply_to(operation_id=TAKES_CATALOG_NAMES)
def accept_unknown_catalog_names(context, failure, case, response):
    """Drops ST202 (schema-valid request rejected) when the problem says the region or
    server type is unknown; keeps every other failure."""
    if failure.code != "ST202":
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    return not (isinstance(problem, dict) and problem.get("type") in UNKNOWN_CATALOG_NAME)


@schemathesis.hook("map_body").apply_to(operation_id=PROVISIONING)
def mostly_known_catalog_names(context, body):
    """Replaces three in four generated region and type strings with catalog names, chosen
    from the generated text so that a seed replays the same requests."""
    if not isinstance(body, dict):
        return body
    for field, names in CATALOG.items():
        value = body.get(field)
        if isinstance(value, str):
            digest = zlib.crc32(value.encode("utf-8", "surrogatepass"))
            if digest % 4:
                body[field] = names[digest % len(names)]
    return body


@schemathesis.hook("filter_case").apply_to(operation_id=["revokeKey", "updateProject", "setProjectQuotas"])
def spare_the_run_key(context, case):
    """Leaves the run's own key and project alone."""
    target = str(case.path_parameters.get("id", "")).replace("-", "")
    return target not in (RUN_KEY_ID, RUN_PROJECT.replace("-", ""))
