# syntax=docker/dockerfile:1

# The messenger's production image: the release server and the site it serves.
#
#   docker build -t messenger .
#   docker run -p 3000:3000 -v messenger-data:/app/data messenger     (SQLite under /app/data)
#
# docker-compose.yml runs it on PostgreSQL and Redis behind nginx.
#
# Both stages are Debian 13 (trixie). Its binaryen (wasm-opt 120) reads the WebAssembly
# that Rust 1.95 and wasm-bindgen produce; Debian 12's (wasm-opt 108) fails on its
# table.fill instructions. The runtime is the same Debian release as the builder, since the
# server binary is linked against the builder's C library.

# ---- tools: the Rust toolchain with the WebAssembly target, wasm-opt and cargo-chef. The site
# is built by the workspace's own `cargo xtask` (xtask/): no other build tool to install.
FROM rust:1.95-slim-trixie AS chef
ARG CARGO_CHEF_VERSION=0.1.73
# binaryen: wasm-opt, which shrinks the release WASM.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends binaryen \
    && rm -rf /var/lib/apt/lists/*
# cargo-chef is compiled without LTO: much quicker to build, and fast enough to run.
RUN rustup target add wasm32-unknown-unknown \
    && CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
        cargo install cargo-chef --version "${CARGO_CHEF_VERSION}" --locked
WORKDIR /build

# ---- the list of dependencies, from the manifests and Cargo.lock only
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---- dependencies first (a layer that changes only with Cargo.lock), then the messenger
FROM chef AS builder
COPY --from=planner /build/recipe.json recipe.json
# .cargo/config.toml sets LEPTOS_OUTPUT_NAME for every cargo command and the `xtask` alias.
COPY .cargo .cargo
# The three builds of `cargo xtask build --release`: the server side (the workspace's default
# members, release profile), the browser app for WebAssembly (wasm-release profile), and
# xtask itself.
RUN cargo chef cook --release --recipe-path recipe.json \
    && cargo chef cook --profile wasm-release --target wasm32-unknown-unknown --package frontend \
        --recipe-path recipe.json \
    && cargo chef cook --release --package xtask --recipe-path recipe.json
COPY . .
# Writes target/release/messenger and target/site: pkg/ (the WASM, JS and CSS, named after
# their content, each also precompressed as .br and .gz, which the server sends to browsers
# that accept them) and the files of public/.
RUN WASM_OPT=/usr/bin/wasm-opt cargo xtask build --release

# ---- runtime
FROM debian:trixie-slim AS runtime
# ca-certificates: TLS to outside services. The user owns /app, the working directory,
# where the server keeps its SQLite file (./data) when DATABASE_URL is not set.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin messenger \
    && install -d -o messenger -g messenger -m 0750 /app
COPY --from=builder /build/target/release/messenger /usr/local/bin/messenger
COPY --from=builder /build/target/site /app/site
WORKDIR /app
USER 10001:10001
# The server applies the database migrations itself at start-up: no separate step.
# The other settings (DATABASE_URL, REDIS_URL, PUBLIC_URL, ADMIN_*, …) are in README.md.
ENV HOST=0.0.0.0 PORT=3000 LEPTOS_SITE_ROOT=/app/site
EXPOSE 3000
# Liveness: GET /healthz through bash's /dev/tcp, so the image needs no HTTP client.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PORT:-3000} && printf 'GET /healthz HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && read -r -t 2 _ status _ <&3 && [ \"$status\" = 200 ]"]
# SIGTERM (docker stop) makes the server finish the requests under way and exit.
CMD ["messenger"]
