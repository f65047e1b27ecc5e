"""fleet's EC2 Query endpoint driven by the clients EC2 users point at it: boto3 (with
its waiters and paginators) and the AWS CLI, signing with SigV4 as a fresh member key of
a project of its own, on the virtual clock. The same servers are checked through the REST
API.

Run by `cargo xtask contract` against a fleetd with `--clock virtual`, in keys mode:

    python ec2.py http://127.0.0.1:PORT    (admin key in FLEET_CONTRACT_KEY; the AWS CLI's
                                           `aws` beside this Python or on PATH)

Steps: the catalog operations; RunInstances → instance_running → filters, status, tags,
reboot → StopInstances → instance_stopped → StartInstances → instance_running →
TerminateInstances → instance_terminated, with ClientToken idempotency and the REST view
compared at each stage; EC2's errors (a bad signature is AuthFailure, never a 5xx); the AWS
CLI; then over 1,000 instances read with MaxResults/NextToken and the paginator, each once,
and all of them terminated so that the run leaves nothing running.

Exits non-zero, saying what was wrong, when fleetd or a client does not behave as EC2 does.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from xml.etree import ElementTree

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
from botocore.exceptions import ClientError, WaiterError

# The region the clients sign for (one of the default catalog's).
REGION = "us-east-1"

# The server type launched.
INSTANCE_TYPE = "t2.micro"

# EC2's state names by fleet's states, and EC2's codes by name.
EC2_STATE = {
    "provisioning": "pending",
    "starting": "pending",
    "running": "running",
    "rebooting": "running",
    "stopping": "stopping",
    "stopped": "stopped",
    "terminating": "shutting-down",
    "terminated": "terminated",
    "failed": "terminated",
}
STATE_CODE = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

# A waiter polls every second, at most a minute, while the clock is moved for it.
WAITER_CONFIG = {"Delay": 1, "MaxAttempts": 60}

# How far and how often the clock moves while a waiter waits: past any transition (5 s at
# most) in one step.
CLOCK_STEP_SECONDS = 5
CLOCK_PERIOD_SECONDS = 0.3

# Instances launched for pagination (over 1,000), in calls of BULK_CALL, and the page size
# read.
BULK_CALLS = 5
BULK_CALL = 210
PAGE_SIZE = 100

# What a fleet key's text is: its id (the access key id) and its secret.
KEY_TEXT = re.compile(r"^fleet_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$")
INSTANCE_ID = re.compile(r"^i-[0-9a-f]{17}$")


class ContractError(Exception):
    """fleetd or a client did not do what EC2 does."""


def check(condition, message):
    if not condition:
        raise ContractError(message)


# --- REST, as the admin or the member key -------------------------------------------------


class Rest:
    """fleet's REST API as one key."""

    def __init__(self, base_url, key):
        self.base_url = base_url
        self.key = key

    def call(self, method, path, body=None, expect=(200,)):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.key}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        check(status in expect, f"{method} {path} answered {status}: {payload[:500]!r}")
        return json.loads(payload) if payload else None

    def servers(self, label_selector):
        """Every server the key sees whose labels match, following the cursor."""
        query = {"label_selector": label_selector, "limit": "100"}
        servers = []
        while True:
            page = self.call("GET", "/servers?" + urllib.parse.urlencode(query))
            servers.extend(page["items"])
            if not page.get("next_cursor"):
                return servers
            query["cursor"] = page["next_cursor"]

    def advance(self, seconds):
        self.call("POST", "/admin/clock/advance", {"seconds": seconds})


class MovingClock:
    """While open, a thread moves the virtual clock CLOCK_STEP_SECONDS on every
    CLOCK_PERIOD_SECONDS, so that transitions complete while a waiter polls."""

    def __init__(self, admin):
        self.admin = admin
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        try:
            while not self.stop.is_set():
                self.admin.advance(CLOCK_STEP_SECONDS)
                self.stop.wait(CLOCK_PERIOD_SECONDS)
        except Exception as error:  # noqa: BLE001 (reported when the block closes)
            self.error = error

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=120)
        if self.error is not None and exc[0] is None:
            raise ContractError(f"moving the clock: {self.error}")
        return False


def instance_id_of(server):
    """The EC2 instance id of a REST server: `i-` and the first 17 hex digits of its id."""
    return "i-" + server["id"].replace("-", "")[:17]


# --- set-up ---------------------------------------------------------------------------------


def member_key(admin):
    """A new project without limits and a member key of it, as the admin makes them."""
    name = f"ec2-contract-{uuid.uuid4().hex[:12]}"
    project = admin.call("POST", "/projects", {"name": name}, expect=(201,))
    admin.call("PUT", f"/projects/{project['id']}/quotas", {"max_servers": None, "max_vcpus": None})
    body = {"role": "member", "description": "cargo xtask contract: ec2.py"}
    created = admin.call("POST", f"/projects/{project['id']}/keys", body, expect=(201,))
    return created["key"]


def credentials_of(key_text):
    """The access key id and the secret access key of a fleet key's text."""
    match = KEY_TEXT.match(key_text)
    check(match is not None, "a new key's text is not fleet_<32 hex>_<43 base64url>")
    return match.group(1), match.group(2)


def ec2_client(endpoint, key_id, secret, region=REGION):
    config = botocore.config.Config(retries={"max_attempts": 1}, read_timeout=120, connect_timeout=10)
    return boto3.client(
        "ec2",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=config,
    )


def expect_error(call, code, what):
    """Calls `call`, which must fail with the EC2 error `code` and a 4xx status."""
    try:
        call()
    except ClientError as error:
        got = error.response["Error"].get("Code")
        status = error.response["ResponseMetadata"].get("HTTPStatusCode")
        codes = code if isinstance(code, tuple) else (code,)
        check(got in codes, f"{what}: the error is {got} ({status}), not {' or '.join(codes)}")
        check(400 <= status < 500, f"{what}: {got} came with status {status}, not a 4xx")
        check(error.response["ResponseMetadata"].get("RequestId"), f"{what}: the error has no RequestID")
        return error
    raise ContractError(f"{what}: succeeded, expected {code}")


def wait(ec2, admin, waiter, ids):
    """Runs a boto3 waiter for `ids` while the clock moves."""
    try:
        with MovingClock(admin):
            ec2.get_waiter(waiter).wait(InstanceIds=ids, WaiterConfig=WAITER_CONFIG)
    except WaiterError as error:
        raise ContractError(f"the waiter {waiter}: {error}") from error


# --- reading instances ----------------------------------------------------------------------


def instances(ec2, **kwargs):
    """The instances of one DescribeInstances call, reservations flattened."""
    answer = ec2.describe_instances(**kwargs)
    return [i for reservation in answer["Reservations"] for i in reservation["Instances"]]


def by_id(ec2, ids):
    found = {i["InstanceId"]: i for i in instances(ec2, InstanceIds=ids)}
    check(sorted(found) == sorted(ids), f"DescribeInstances of {ids} returned {sorted(found)}")
    return found


def check_state(instance, name):
    state = instance["State"]
    check(state["Name"] == name, f"{instance['InstanceId']} is {state['Name']}, not {name}")
    check(state["Code"] == STATE_CODE[name], f"{instance['InstanceId']}: {name} has the code {state['Code']}")


def check_changes(changes, ids, previous, current, what):
    """The InstanceStateChange list of a Start/Stop/TerminateInstances answer."""
    check(sorted(c["InstanceId"] for c in changes) == sorted(ids), f"{what} answered for {changes}")
    for change in changes:
        for key, name in (("PreviousState", previous), ("CurrentState", current)):
            state = change[key]
            check(
                state["Name"] == name and state["Code"] == STATE_CODE[name],
                f"{what}: {change['InstanceId']}'s {key} is {state}, not {name}",
            )


def check_launched(instance, image_id, pool):
    check(INSTANCE_ID.match(instance["InstanceId"]), f"{instance['InstanceId']} is not i- and 17 hex digits")
    check(instance["ImageId"] == image_id, f"{instance['InstanceId']} runs {instance['ImageId']}, not {image_id}")
    check(instance["InstanceType"] == INSTANCE_TYPE, f"{instance['InstanceId']} is a {instance['InstanceType']}")
    zone = instance["Placement"]["AvailabilityZone"]
    check(zone in {REGION + s for s in "abc"}, f"{instance['InstanceId']} is placed in {zone}")
    check("LaunchTime" in instance, f"{instance['InstanceId']} has no LaunchTime")
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    check(tags.get("team") == "blue", f"{instance['InstanceId']}'s tags are {tags}")
    if "PrivateIpAddress" in instance:
        address = ipaddress.ip_address(instance["PrivateIpAddress"])
        check(address in pool, f"{instance['InstanceId']}'s address {address} is outside {pool}")


def check_rest_view(ec2, member, ids, selector):
    """The REST API lists the same servers under `selector`: ids, states, types, regions
    and addresses as EC2 shows them."""
    servers = {instance_id_of(s): s for s in member.servers(selector)}
    check(sorted(servers) == sorted(ids), f"REST lists {sorted(servers)} for {selector}, EC2 launched {sorted(ids)}")
    for instance_id, instance in by_id(ec2, ids).items():
        server = servers[instance_id]
        name = EC2_STATE[server["state"]]
        check(
            instance["State"]["Name"] == name,
            f"{instance_id}: EC2 says {instance['State']['Name']}, REST {server['state']}",
        )
        check(
            instance["InstanceType"] == server["type"],
            f"{instance_id}: EC2's type {instance['InstanceType']}, REST's {server['type']}",
        )
        zone = instance["Placement"]["AvailabilityZone"]
        check(zone[:-1] == server["region"], f"{instance_id}: EC2's zone {zone}, REST's region {server['region']}")
        check(
            instance.get("PrivateIpAddress") == server.get("ip"),
            f"{instance_id}: EC2's address {instance.get('PrivateIpAddress')}, REST's {server.get('ip')}",
        )
        check(server["labels"].get("team") == "blue", f"{instance_id}: REST's labels are {server['labels']}")
        reason = server.get("state_reason")
        if reason:
            got = instance.get("StateReason", {}).get("Code")
            check(got == reason["code"], f"{instance_id}: EC2's StateReason {got}, REST's {reason['code']}")
    return servers


# --- the steps ------------------------------------------------------------------------------


def check_catalog(ec2, catalog):
    """DescribeRegions, DescribeAvailabilityZones, DescribeInstanceTypes and DescribeImages
    answer from fleet's catalog; returns an image id to launch."""
    regions = {r["RegionName"] for r in ec2.describe_regions()["Regions"]}
    wanted = {r["name"] for r in catalog["regions"]}
    check(regions == wanted, f"DescribeRegions lists {sorted(regions)}, the catalog {sorted(wanted)}")

    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    names = sorted(z["ZoneName"] for z in zones)
    check(names == [REGION + s for s in "abc"], f"DescribeAvailabilityZones in {REGION} lists {names}")
    for zone in zones:
        check(zone["RegionName"] == REGION and zone["State"] == "available", f"a zone: {zone}")

    paginator = ec2.get_paginator("describe_instance_types")
    types = {t["InstanceType"]: t for page in paginator.paginate() for t in page["InstanceTypes"]}
    spec = {t["name"]: t for t in catalog["server_types"]}
    check(sorted(types) == sorted(spec), f"DescribeInstanceTypes lists {sorted(types)}, the catalog {sorted(spec)}")
    for name, info in types.items():
        check(info["VCpuInfo"]["DefaultVCpus"] == spec[name]["vcpus"], f"{name}'s vCPUs: {info['VCpuInfo']}")
        check(info["MemoryInfo"]["SizeInMiB"] == spec[name]["memory_mib"], f"{name}'s memory: {info['MemoryInfo']}")
    one = ec2.describe_instance_types(InstanceTypes=[INSTANCE_TYPE])["InstanceTypes"]
    check([t["InstanceType"] for t in one] == [INSTANCE_TYPE], f"DescribeInstanceTypes of {INSTANCE_TYPE}: {one}")

    images = ec2.describe_images()["Images"]
    check(images, "DescribeImages lists no image")
    for image in images:
        check(re.match(r"^ami-[0-9a-f]{17}$", image["ImageId"]), f"an image id: {image['ImageId']}")
        check(image.get("State") == "available", f"{image['ImageId']} is {image.get('State')}")
    image_id = images[0]["ImageId"]
    again = ec2.describe_images(ImageIds=[image_id])["Images"]
    check([i["ImageId"] for i in again] == [image_id], f"DescribeImages of {image_id}: {again}")
    return image_id


def launch(ec2, image_id, pool):
    """RunInstances of two tagged instances with a ClientToken; the same token replays the
    launch and a different request with it is refused."""
    token = f"ec2-contract-{uuid.uuid4()}"
    request = {
        "ImageId": image_id,
        "InstanceType": INSTANCE_TYPE,
        "MinCount": 2,
        "MaxCount": 2,
        "ClientToken": token,
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "blue"}]}],
    }
    reservation = ec2.run_instances(**request)
    check(reservation["ReservationId"].startswith("r-"), f"a reservation id: {reservation['ReservationId']}")
    launched = reservation["Instances"]
    check(len(launched) == 2, f"RunInstances of 2 launched {len(launched)}")
    for instance in launched:
        check_launched(instance, image_id, pool)
        check_state(instance, "pending")
    ids = sorted(i["InstanceId"] for i in launched)
    check(len(set(ids)) == 2, f"two instances share an id: {ids}")

    replay = ec2.run_instances(**request)
    replayed = sorted(i["InstanceId"] for i in replay["Instances"])
    check(replayed == ids, f"the same ClientToken launched {replayed}, not the first {ids} again")
    expect_error(
        lambda: ec2.run_instances(**{**request, "MinCount": 3, "MaxCount": 3}),
        "IdempotentParameterMismatch",
        "the same ClientToken with another count",
    )
    blue = instances(ec2, Filters=[{"Name": "tag:team", "Values": ["blue"]}])
    check(sorted(i["InstanceId"] for i in blue) == ids, f"after the replay tag:team=blue lists {len(blue)} instances")
    return ids


def check_filters(ec2, ids):
    """The filters fleet implements, ANDed across filters and ORed across values."""
    cases = [
        ([{"Name": "tag:team", "Values": ["blue"]}, {"Name": "instance-state-name", "Values": ["running"]}], ids),
        ([{"Name": "tag:team", "Values": ["red", "blue"]}], ids),
        ([{"Name": "tag:team", "Values": ["red"]}], []),
        ([{"Name": "tag-key", "Values": ["team"]}], ids),
        ([{"Name": "instance-state-name", "Values": ["stopped"]}], []),
        ([{"Name": "instance-id", "Values": [ids[0]]}], ids[:1]),
        ([{"Name": "instance-type", "Values": [INSTANCE_TYPE]}, {"Name": "tag:team", "Values": ["blue"]}], ids),
        ([{"Name": "instance-type", "Values": ["m5.large"]}], []),
        (
            [
                {"Name": "availability-zone", "Values": [REGION + s for s in "abc"]},
                {"Name": "tag:team", "Values": ["blue"]},
            ],
            ids,
        ),
    ]
    for filters, wanted in cases:
        got = sorted(i["InstanceId"] for i in instances(ec2, Filters=filters))
        check(got == sorted(wanted), f"DescribeInstances with {filters} lists {got}, not {sorted(wanted)}")


def check_status(ec2, admin, ids, stopped=()):
    """DescribeInstanceStatus: running instances report ok once instance_status_ok passes;
    a stopped one appears only with IncludeAllInstances."""
    running = [i for i in ids if i not in stopped]
    if running:
        wait(ec2, admin, "instance_status_ok", running)
    every = ec2.describe_instance_status(InstanceIds=ids, IncludeAllInstances=True)["InstanceStatuses"]
    check(sorted(s["InstanceId"] for s in every) == sorted(ids), f"IncludeAllInstances lists {every}")
    for status in every:
        name = "stopped" if status["InstanceId"] in stopped else "running"
        check(
            status["InstanceState"]["Name"] == name, f"the status of {status['InstanceId']}: {status['InstanceState']}"
        )
        check(status["AvailabilityZone"].startswith(REGION), f"the status' zone: {status['AvailabilityZone']}")
    default = ec2.describe_instance_status(InstanceIds=ids)["InstanceStatuses"]
    check(sorted(s["InstanceId"] for s in default) == sorted(running), f"without IncludeAllInstances: {default}")


def check_tags(ec2, member, instance_id):
    """CreateTags, DescribeTags and DeleteTags on one instance, seen as labels through REST."""
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "stage", "Value": "canary"}])
    filters = [{"Name": "resource-id", "Values": [instance_id]}, {"Name": "key", "Values": ["stage"]}]
    tags = ec2.describe_tags(Filters=filters)["Tags"]
    wanted = [{"Key": "stage", "ResourceId": instance_id, "ResourceType": "instance", "Value": "canary"}]
    check(tags == wanted, f"DescribeTags after CreateTags: {tags}")
    every = ec2.describe_tags(Filters=filters[:1])["Tags"]
    check({t["Key"] for t in every} >= {"team", "stage"}, f"DescribeTags of {instance_id}: {every}")
    labelled = [instance_id_of(s) for s in member.servers("stage=canary")]
    check(labelled == [instance_id], f"REST's stage=canary lists {labelled}")
    ec2.delete_tags(Resources=[instance_id], Tags=[{"Key": "stage"}])
    check(ec2.describe_tags(Filters=filters)["Tags"] == [], "DescribeTags lists a deleted tag")
    check(member.servers("stage=canary") == [], "REST keeps a deleted tag's label")


def lifecycle(ec2, admin, member, image_id, pool):
    """Two instances through their whole life, returning their ids once terminated."""
    ids = launch(ec2, image_id, pool)
    wait(ec2, admin, "instance_running", ids)
    for instance in by_id(ec2, ids).values():
        check_state(instance, "running")
        check_launched(instance, image_id, pool)
        check("PrivateIpAddress" in instance, f"running {instance['InstanceId']} has no PrivateIpAddress")
    check_filters(ec2, ids)
    check_rest_view(ec2, member, ids, "team=blue")
    check_status(ec2, admin, ids)

    ec2.reboot_instances(InstanceIds=ids)
    for instance in by_id(ec2, ids).values():
        check_state(instance, "running")
    wait(ec2, admin, "instance_running", ids)
    check_tags(ec2, member, ids[0])

    stopped = ec2.stop_instances(InstanceIds=ids[:1])["StoppingInstances"]
    check_changes(stopped, ids[:1], "running", "stopping", "StopInstances")
    wait(ec2, admin, "instance_stopped", ids[:1])
    check_state(by_id(ec2, ids[:1])[ids[0]], "stopped")
    reason = by_id(ec2, ids[:1])[ids[0]].get("StateReason", {})
    check(reason.get("Code") == "Client.UserInitiatedShutdown", f"a stopped instance's StateReason: {reason}")
    check_status(ec2, admin, ids, stopped=ids[:1])
    check_rest_view(ec2, member, ids, "team=blue")

    started = ec2.start_instances(InstanceIds=ids[:1])["StartingInstances"]
    check_changes(started, ids[:1], "stopped", "pending", "StartInstances")
    wait(ec2, admin, "instance_running", ids)

    terminating = ec2.terminate_instances(InstanceIds=ids)["TerminatingInstances"]
    check_changes(terminating, ids, "running", "shutting-down", "TerminateInstances")
    wait(ec2, admin, "instance_terminated", ids)
    for instance in by_id(ec2, ids).values():
        check_state(instance, "terminated")
    check_rest_view(ec2, member, ids, "team=blue")
    return ids


def raw_call(endpoint, key_id, secret, body):
    """A SigV4-signed POST of `body` as botocore signs it: (status, XML root)."""
    request = botocore.awsrequest.AWSRequest(
        method="POST",
        url=endpoint,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    credentials = botocore.credentials.Credentials(key_id, secret)
    botocore.auth.SigV4Auth(credentials, "ec2", REGION).add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(endpoint, data=body.encode(), method="POST", headers=dict(prepared.headers))
    try:
        with urllib.request.urlopen(sent, timeout=60) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, ElementTree.fromstring(payload)
    except ElementTree.ParseError as error:
        raise ContractError(f"{body} answered {status} with no XML ({error}): {payload[:300]!r}") from error


def local(tag):
    return tag.rsplit("}", 1)[-1]


def check_wire(endpoint, key_id, secret):
    """The XML itself: a success is <ActionResponse> in EC2's namespace with a requestId; an
    unknown action is a 4xx <Response><Errors><Error> with a RequestID."""
    status, root = raw_call(endpoint, key_id, secret, "Action=DescribeRegions&Version=2016-11-15")
    check(status == 200, f"a raw DescribeRegions answered {status}")
    check(root.tag == "{http://ec2.amazonaws.com/doc/2016-11-15/}DescribeRegionsResponse", f"its root is {root.tag}")
    check(local(root[0].tag) == "requestId" and root[0].text, "its first element is not a requestId")

    status, root = raw_call(endpoint, key_id, secret, "Action=FrobnicateInstances&Version=2016-11-15")
    check(400 <= status < 500, f"an unknown action answered {status}, not a 4xx")
    code = root.findtext("Errors/Error/Code")
    check(
        root.tag == "Response" and code in ("InvalidAction", "UnsupportedOperation"),
        f"an unknown action: {root.tag} {code}",
    )
    check(root.findtext("Errors/Error/Message"), "the error has no Message")
    check(root.findtext("RequestID"), "the error has no RequestID")


def check_errors(ec2, endpoint, key_id, secret, terminated):
    """EC2's errors, as boto3 reads them: never a 5xx."""
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    impostor = ec2_client(endpoint, key_id, wrong)
    expect_error(lambda: impostor.describe_instances(), "AuthFailure", "a wrong secret")
    unknown = ec2_client(endpoint, uuid.uuid4().hex, secret)
    expect_error(lambda: unknown.describe_regions(), "AuthFailure", "an unknown key id")

    missing = "i-" + uuid.uuid4().hex[:17]
    expect_error(
        lambda: ec2.describe_instances(InstanceIds=[missing]), "InvalidInstanceID.NotFound", "an unknown instance"
    )
    expect_error(
        lambda: ec2.stop_instances(InstanceIds=[missing]), "InvalidInstanceID.NotFound", "stopping an unknown instance"
    )
    expect_error(lambda: ec2.describe_instances(InstanceIds=["i-xyz"]), "InvalidInstanceID.Malformed", "a malformed id")
    expect_error(
        lambda: ec2.start_instances(InstanceIds=terminated[:1]),
        "IncorrectInstanceState",
        "starting a terminated instance",
    )
    expect_error(
        lambda: ec2.describe_vpcs(),
        ("InvalidAction", "UnsupportedOperation"),
        "an EC2 action fleet does not implement (DescribeVpcs)",
    )
    check_wire(endpoint, key_id, secret)


def aws_cli():
    """The AWS CLI installed beside this Python (the venv's), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "aws")
    found = beside if os.path.exists(beside) else shutil.which("aws")
    check(found is not None, "no `aws` (the AWS CLI from PyPI) beside this Python or on PATH")
    return found


class Cli:
    """The AWS CLI as the member key, with credentials in its environment and no
    configuration files (nor the instance metadata service) to fall back on."""

    def __init__(self, endpoint, key_id, secret, home):
        self.aws = aws_cli()
        self.endpoint = endpoint
        self.env = {
            "PATH": os.path.dirname(self.aws) + os.pathsep + os.environ.get("PATH", ""),
            "HOME": home,
            "AWS_ACCESS_KEY_ID": key_id,
            "AWS_SECRET_ACCESS_KEY": secret,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
        }

    def ec2(self, *args):
        """`aws ec2 ARGS --endpoint-url … --output json`, parsed."""
        command = [self.aws, "ec2", *args, "--endpoint-url", self.endpoint, "--output", "json"]
        done = subprocess.run(command, check=False, env=self.env, capture_output=True, text=True, timeout=120)
        check(done.returncode == 0, f"`aws ec2 {' '.join(args)}` exited {done.returncode}: {done.stderr.strip()}")
        return json.loads(done.stdout) if done.stdout.strip() else {}


def check_cli(admin, endpoint, key_id, secret, image_id):
    """`aws ec2 run-instances`, then `describe-instances --filters` once it runs, then
    `terminate-instances`."""
    with tempfile.TemporaryDirectory(prefix="ec2-contract-home-") as home:
        cli = Cli(endpoint, key_id, secret, home)
        run = ["run-instances", "--image-id", image_id, "--instance-type", INSTANCE_TYPE, "--count", "1"]
        launched = cli.ec2(*run)["Instances"]
        check(len(launched) == 1, f"`aws ec2 run-instances --count 1` launched {len(launched)}")
        instance_id = launched[0]["InstanceId"]
        admin.advance(10)
        running = cli.ec2("describe-instances", "--filters", "Name=instance-state-name,Values=running")
        listed = {i["InstanceId"]: i for r in running.get("Reservations", []) for i in r["Instances"]}
        check(instance_id in listed, f"`aws ec2 describe-instances` of running instances lists {sorted(listed)}")
        check(listed[instance_id]["State"]["Name"] == "running", f"the CLI shows {listed[instance_id]['State']}")
        changes = cli.ec2("terminate-instances", "--instance-ids", instance_id)["TerminatingInstances"]
        check_changes(changes, [instance_id], "running", "shutting-down", "aws ec2 terminate-instances")


def check_pagination(ec2, admin, image_id):
    """Over 1,000 instances in the project: MaxResults/NextToken by hand and boto3's
    paginator each return every one exactly once. Then all are terminated."""
    bulk = []
    for _ in range(BULK_CALLS):
        answer = ec2.run_instances(
            ImageId=image_id,
            InstanceType=INSTANCE_TYPE,
            MinCount=BULK_CALL,
            MaxCount=BULK_CALL,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": "bulk"}]}],
        )
        bulk.extend(i["InstanceId"] for i in answer["Instances"])
    check(len(bulk) == len(set(bulk)) == BULK_CALLS * BULK_CALL, f"{len(set(bulk))} distinct of {len(bulk)} launched")

    seen, pages, token = [], 0, None
    while True:
        kwargs = {"MaxResults": PAGE_SIZE}
        if token:
            kwargs["NextToken"] = token
        answer = ec2.describe_instances(**kwargs)
        page = [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]
        check(len(page) <= PAGE_SIZE, f"a page of MaxResults={PAGE_SIZE} held {len(page)} instances")
        seen.extend(page)
        pages += 1
        token = answer.get("NextToken")
        if not token:
            break
        check(pages <= 100, "NextToken did not end after 100 pages")
    check(len(seen) == len(set(seen)), f"by hand, {len(seen) - len(set(seen))} instances came twice")
    check(set(bulk) <= set(seen), f"by hand, {len(set(bulk) - set(seen))} of the {len(bulk)} instances never came")
    check(pages >= len(bulk) // PAGE_SIZE, f"{len(seen)} instances came in {pages} pages of {PAGE_SIZE}")

    def paginate(**kwargs):
        paginator = ec2.get_paginator("describe_instances")
        config = {"PageSize": PAGE_SIZE}
        pages = paginator.paginate(PaginationConfig=config, **kwargs)
        return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r["Instances"]]

    tagged = [{"Name": "tag:batch", "Values": ["bulk"]}]
    got = paginate(Filters=tagged)
    check(len(got) == len(set(got)), f"the paginator returned {len(got) - len(set(got))} instances twice")
    check(sorted(got) == sorted(bulk), f"the paginator over tag:batch=bulk returned {len(got)} of {len(bulk)}")
    everything = paginate()
    check(sorted(everything) == sorted(seen), "the paginator and NextToken by hand disagree about the project")

    for start in range(0, len(bulk), BULK_CALL):
        part = bulk[start : start + BULK_CALL]
        changes = ec2.terminate_instances(InstanceIds=part)["TerminatingInstances"]
        check(sorted(c["InstanceId"] for c in changes) == sorted(part), "TerminateInstances answered for others")
    admin.advance(10)
    gone = paginate(Filters=tagged + [{"Name": "instance-state-name", "Values": ["terminated"]}])
    check(sorted(gone) == sorted(bulk), f"{len(gone)} of the {len(bulk)} instances terminated")
    return len(bulk)


def main():
    base_url, admin_key = sys.argv[1].rstrip("/"), os.environ["FLEET_CONTRACT_KEY"]
    endpoint = base_url + "/ec2"
    admin = Rest(base_url, admin_key)
    key = member_key(admin)
    member = Rest(base_url, key)
    key_id, secret = credentials_of(key)
    ec2 = ec2_client(endpoint, key_id, secret)

    catalog = member.call("GET", "/catalog")
    region = next((r for r in catalog["regions"] if r["name"] == REGION), None)
    check(region is not None, f"the catalog has no {REGION}")
    pool = ipaddress.ip_network(region["pool"]["cidr"])

    started = time.monotonic()
    image_id = check_catalog(ec2, catalog)
    terminated = lifecycle(ec2, admin, member, image_id, pool)
    check_errors(ec2, endpoint, key_id, secret, terminated)
    check_cli(admin, endpoint, key_id, secret, image_id)
    paged = check_pagination(ec2, admin, image_id)
    print(
        f"ec2: boto3 ran, waited for, stopped, started and terminated instances with tags, "
        f"filters and ClientToken; errors, the AWS CLI, the REST view and {paged} instances "
        f"paged by NextToken agree ({time.monotonic() - started:.0f} s)"
    )


if __name__ == "__main__":
    try:
        main()
    except ContractError as error:
        print(f"ec2: {error}", file=sys.stderr)
        sys.exit(1)
    except ClientError as error:
        print(f"ec2: an EC2 call failed: {error}", file=sys.stderr)
        sys.exit(1)
