# Build stage: compile the release binary (SQLite is bundled; PostgreSQL links the system libpq).
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY .cargo ./.cargo
COPY src ./src
COPY migrations ./migrations
# Cargo.toml declares these benches: cargo refuses a manifest whose targets are missing.
COPY benches/reanchor.rs benches/markdown.rs ./benches/
RUN cargo build --release --locked

# Run stage: a slim Debian with libpq, as a non-root user, data in a volume.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin gloss \
    && mkdir -p /data \
    && chown gloss:gloss /data
COPY --from=build /src/target/release/gloss /usr/local/bin/gloss
USER gloss
WORKDIR /data
# Inside a container the server must listen on every interface; the SQLite file lives in the volume.
ENV GLOSS_BIND=0.0.0.0:8080 \
    GLOSS_DATABASE_URL=/data/gloss.db \
    GLOSS_MEDIA_DIR=/data/media
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["gloss"]
CMD ["serve"]
