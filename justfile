# Short names for the xtask commands; `just --list` shows them.

# Run the whole test suite (finds or starts a Postgres).
test *ARGS:
    cargo xtask test {{ARGS}}

# Format check, clippy with warnings denied, then the tests.
ci:
    cargo xtask ci

# The OpenAPI contract against a running fleetd: schemathesis and a generated Python client.
contract:
    cargo xtask contract

# Apply the Postgres migrations to DATABASE_URL.
migrate:
    cargo xtask migrate

# Serve fleetd and rebuild + restart it whenever a source file changes; ARGS go to fleetd
# (e.g. `just watch --clock virtual`). Needs watchexec.
watch *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! command -v watchexec >/dev/null 2>&1; then
        echo "just watch needs watchexec. Install it once with:" >&2
        echo "    cargo install --locked watchexec-cli    # about 4 minutes on two cores" >&2
        exit 1
    fi
    exec watchexec --restart --stop-signal SIGTERM --debounce 500ms \
        --watch crates --watch migrations --watch Cargo.toml --exts rs,toml,sql \
        -- cargo run -p fleetd -- --log-format human {{ARGS}}

# Check the deploy files (compose, Kubernetes, Prometheus, Grafana) against a running fleetd.
deploy-check:
    cargo xtask deploy-check
