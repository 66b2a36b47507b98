# Hazard Ledger container image. Not built or run on the development machines (no container
# engine there); kept simple and conventional.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin hazard-ledger

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin hazard \
    && mkdir -p /data /app \
    && chown hazard /data
WORKDIR /app
COPY --from=build /src/target/release/hazard-ledger /usr/local/bin/hazard-ledger
COPY config/ /app/config/
COPY seeds/ /app/seeds/
ENV HAZARD_LEDGER__SERVER__LISTEN=0.0.0.0:8080 \
    HAZARD_LEDGER__DATA_DIR=/data \
    HAZARD_LEDGER__DATABASE__URL=sqlite:///data/hazard-ledger.db
USER hazard
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["hazard-ledger"]
CMD ["serve"]
