# Hubkeep tasks. `just run` and `just test` are the whole quick start.

set shell := ["bash", "-euo", "pipefail", "-c"]

tools := env_var_or_default("HUBKEEP_TOOLS_DIR", env_var("HOME") / ".hubkeep-tools")
export PATH := env_var("HOME") / ".cargo/bin" + ":" + tools / "node_modules/.bin" + ":" + env_var("PATH")

# List the recipes.
default:
    @just --list

# Install every tool the build and tests need (idempotent).
setup:
    bash scripts/setup.sh test

# Install only what running needs: the console's build tools (idempotent).
setup-run:
    bash scripts/setup.sh run

# Build the admin console (WASM, size profile, hashed and precompressed) into web/dist.
web: setup-run
    bash scripts/build-web.sh

# Start the API and the console on 127.0.0.1:8080 (SQLite under ./data, demo tenant). On a
# fresh machine the API compiles while the console's tools install and the console builds
# (the console has a target directory of its own, so neither waits for the other's lock).
run:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build -p hubkeep-api --bin hubkeep & api=$!
    trap 'kill "$api" 2>/dev/null || true' INT TERM EXIT
    just web
    wait "$api"
    trap - INT TERM EXIT
    exec cargo run -p hubkeep-api --bin hubkeep -- serve --demo

# Start the Autotask simulator on 127.0.0.1:8090 (the bundled directory).
psa-sim:
    cargo run -p hubkeep-psa-sim --bin hubkeep-psa-sim

# Start a test OpenID provider on 127.0.0.1:9400 (e2e/oidc/accounts.json, password `demo`).
oidc-dev: setup
    node e2e/oidc/provider.mjs --port 9400 --client-id hubkeep-dev --client-secret hubkeep-dev-secret --redirect-uri http://127.0.0.1:8080/api/v1/auth/oidc/callback

# Lints (Rust, OpenAPI), the generated clients, every test (shared, api, e2e: browser, script
# scenarios, schemathesis), console build and drift checks; then the hardening suite.
test: setup web lint openapi-lint clients
    cargo build -p hubkeep-api --bin hubkeep -p hubkeep-psa-sim --bin hubkeep-psa-sim
    status=0; cargo test --no-fail-fast -- --skip hardening || status=$?; just hardening || status=$?; exit $status

# Authorization sweeps, token attacks, bad input, concurrency, PSA faults, two instances and
# crash safety (docs/security.md): the hardening suite, with one summary line per family.
hardening:
    cargo build -p hubkeep-api --bin hubkeep
    log="${CARGO_TARGET_DIR:-target}/hardening.log"; mkdir -p "$(dirname "$log")"; : > "$log"; status=0; \
      [ -n "${HUBKEEP_TEST_POSTGRES_URL:-}" ] || echo "HUBKEEP_TEST_POSTGRES_URL is not set: PostgreSQL variants skipped" | tee -a "$log"; \
      cargo test --no-fail-fast -p hubkeep-api --test api -- hardening --show-output 2>&1 | tee -a "$log" || status=$?; \
      cargo test --no-fail-fast -p hubkeep-e2e --test hardening -- --test-threads=1 --show-output 2>&1 | tee -a "$log" || status=$?; \
      echo; echo "== hardening summary =="; grep -h '^hardening summary' "$log" | sort || status=1; exit $status

# rustfmt and clippy (host crates, and the console for wasm32).
lint:
    cargo fmt --all --check
    cargo clippy --all-targets -- -D warnings
    cargo clippy -p hubkeep-web --target wasm32-unknown-unknown -- -D warnings
    cargo check -p hubkeep-shared --target wasm32-unknown-unknown

# Benchmarks (docs/performance.md): the decision engine against casbin-rs and cedar-policy,
# HTTP throughput against the binary's own ceiling, lists at 100k users; then the report.
bench: bench-decision bench-http bench-scale bench-report

target_dir := env_var_or_default("CARGO_TARGET_DIR", justfile_directory() / "target")
bench_pg := env_var_or_default("HUBKEEP_BENCH_POSTGRES_URL", env_var_or_default("HUBKEEP_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"))
bench_env := "HUBKEEP_BIN=" + target_dir / "release/hubkeep" + " HUBKEEP_BENCH_POSTGRES_URL=" + bench_pg

# The decision engine bench (criterion).
bench-decision:
    cargo bench -p hubkeep-bench --bench decision

# The release binaries the HTTP and scale benches run.
bench-build: setup
    cargo build --release -p hubkeep-api --bin hubkeep -p hubkeep-bench --bin hubkeep-bench
    pg_isready -d "{{bench_pg}}" >/dev/null 2>&1 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | tail -1)" main start >/dev/null 2>&1 || true
    pg_isready -d "{{bench_pg}}" >/dev/null || { echo "PostgreSQL is not reachable at {{bench_pg}}: start it or set HUBKEEP_BENCH_POSTGRES_URL"; exit 1; }

# HTTP throughput and p99 of authenticated routes against the ceiling (wrk): SQLite (one
# instance) and PostgreSQL (two instances; wrk's threads alternate between them).
bench-http: bench-build
    {{bench_env}} {{target_dir}}/release/hubkeep-bench http sqlite postgres

# Lists at scale (100k users, 10k connections), SQLite and PostgreSQL.
bench-scale: bench-build
    {{bench_env}} {{target_dir}}/release/hubkeep-bench scale sqlite postgres

# Rewrite docs/performance.md and docs/performance/*.svg from the last results.
bench-report:
    cargo run --release -q -p hubkeep-bench --bin hubkeep-bench -- report

# Regenerate openapi/openapi.json from the code.
openapi:
    cargo run -q -p hubkeep-api --bin hubkeep -- openapi > openapi/openapi.json

# Lint openapi/openapi.json with redocly (recommended-strict): no error, no warning.
openapi-lint: setup
    bash scripts/openapi-lint.sh

# Generate the Python and TypeScript clients from openapi/openapi.json into
# openapi/generated/ (not committed; generator versions pinned in openapi/).
clients: setup
    rm -rf openapi/generated
    {{tools}}/venv/bin/openapi-python-client generate --path openapi/openapi.json --output-path openapi/generated/python --config openapi/python-client.yaml
    cd openapi && node_modules/.bin/openapi-typescript openapi.json --output generated/typescript/schema.d.ts
    openapi/node_modules/.bin/tsc -p openapi/typescript/tsconfig.json

# Regenerate the error-code table of docs/api.md from the code.
api-doc:
    HUBKEEP_BLESS=1 cargo test -q -p hubkeep-api --test api api_doc_error_codes_table_is_generated_from_the_code

# Regenerate docs/permissions.md from the shared matrix.
permissions-doc:
    HUBKEEP_BLESS=1 cargo test -q -p hubkeep-shared --test matrix permissions_doc_is_generated_from_the_code
