# Short names for the xtask commands; `just --list` shows them.

# Run the whole test suite (finds or starts a Postgres).
test *ARGS:
    cargo xtask test {{ARGS}}

# Format check, clippy with warnings denied, then the tests.
ci:
    cargo xtask ci

# Apply the Postgres migrations to DATABASE_URL.
migrate:
    cargo xtask migrate
