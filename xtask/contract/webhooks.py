"""Webhook deliveries checked by the reference Standard Webhooks verifier (the
`standardwebhooks` package), through the Python client generated from docs/openapi.json:
subscribe a receiver, make events, verify every delivery's signature, then rotate the
secret and verify a test message with the old and the new secret.

Run by `cargo xtask contract` against a fleetd with `--clock virtual`:

    python webhooks.py http://127.0.0.1:PORT    (API key in FLEET_CONTRACT_KEY)

Exits non-zero, saying what was wrong, when a delivery does not verify or does not come.
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from fleet_client import AuthenticatedClient
from fleet_client.api.admin import advance_clock
from fleet_client.api.catalog import get_catalog
from fleet_client.api.servers import provision_server
from fleet_client.api.webhooks import (
    create_webhook,
    delete_webhook,
    list_webhook_deliveries,
    rotate_webhook_secret,
    test_webhook,
)
from fleet_client.models import (
    AdvanceRequest,
    CreateWebhookRequest,
    Problem,
    ProvisionRequest,
    WebhookDeliveryList,
    WebhookWithSecret,
)

# How long deliveries may take to arrive, in real seconds.
PATIENCE = 30


class ContractError(Exception):
    """fleetd's deliveries did not do what Standard Webhooks says."""


def check(condition, message):
    if not condition:
        raise ContractError(message)


def expect(value, kind, what):
    if isinstance(value, kind):
        return value
    if isinstance(value, Problem):
        raise ContractError(f"{what}: {value.status} {value.type_}: {value.detail}")
    raise ContractError(f"{what}: expected a {kind.__name__}, got {value!r}")


class Receiver:
    """An HTTP receiver on 127.0.0.1 that keeps every delivery's headers and raw body."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.received.append((headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def until(self, done, what):
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            with self.lock:
                received = list(self.received)
            if done(received):
                return received
            time.sleep(0.1)
        raise ContractError(f"{what} did not arrive within {PATIENCE} s ({len(received)} deliveries)")


def verified(secret, headers, body):
    """The payload, verified by the reference library with `secret`."""
    return Webhook(secret).verify(body, headers)


def check_refused(secret, headers, body):
    try:
        Webhook(secret).verify(body + b" ", headers)
    except WebhookVerificationError:
        return
    raise ContractError("the verifier accepted a changed body")


def main():
    base_url, key = sys.argv[1], os.environ["FLEET_CONTRACT_KEY"]
    receiver = Receiver()
    with AuthenticatedClient(base_url=base_url, token=key, raise_on_unexpected_status=True) as client:
        created = expect(
            create_webhook.sync(client=client, body=CreateWebhookRequest(url=receiver.url)),
            WebhookWithSecret,
            "create a webhook",
        )
        webhook_id, secret = created.webhook.id, created.secret
        catalog = get_catalog.sync(client=client)
        request = ProvisionRequest(
            region=catalog.regions[0].name, type_=catalog.server_types[0].name, name="contract-webhooks"
        )
        server = provision_server.sync(client=client, body=request)
        check(not isinstance(server, Problem), f"provision: {server!r}")
        advance_clock.sync(client=client, body=AdvanceRequest(seconds=600))

        def has_both(received):
            types = {json.loads(body)["type"] for _, body in received}
            return {"server.provisioned", "server.state_changed"} <= types

        received = receiver.until(has_both, "the server's events")
        for headers, body in received:
            payload = verified(secret, headers, body)
            check(payload["data"]["server_id"] == str(server.id), f"a delivery of another server: {payload}")
            check_refused(secret, headers, body)

        rotated = expect(
            rotate_webhook_secret.sync(webhook_id, client=client), WebhookWithSecret, "rotate the secret"
        )
        check(rotated.secret != secret, "rotating kept the secret")
        test_webhook.sync(webhook_id, client=client)
        received = receiver.until(
            lambda got: any(json.loads(body)["type"] == "webhook.test" for _, body in got), "the test message"
        )
        headers, body = next((h, b) for h, b in received if json.loads(b)["type"] == "webhook.test")
        verified(rotated.secret, headers, body)
        verified(secret, headers, body)

        log = expect(
            list_webhook_deliveries.sync(webhook_id, client=client), WebhookDeliveryList, "list deliveries"
        )
        check(len(log.items) >= 3, f"the delivery log has {len(log.items)} deliveries")
        delete_webhook.sync_detailed(webhook_id, client=client)
    receiver.server.shutdown()
    print(f"webhooks: {len(received)} deliveries verified by the reference Standard Webhooks verifier")


if __name__ == "__main__":
    try:
        main()
    except ContractError as error:
        print(f"webhooks: {error}", file=sys.stderr)
        sys.exit(1)
