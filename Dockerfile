# Tickplex: build with the Swift toolchain and libhiredis-dev, run on a slim Debian with libhiredis only.
# The build steps mirror Scripts/run: apt libhiredis-dev, then `swift build -c release --product tickplex`.

# ---- build ----
FROM swift:6.2-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Resolve dependencies in their own layer so that source edits do not refetch them.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product tickplex --static-swift-stdlib \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)/tickplex" /out/tickplex

# ---- run ----
FROM debian:bookworm-slim
# libhiredis0.14 is the runtime half of libhiredis-dev on bookworm; curl serves the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 libstdc++6 ca-certificates tzdata curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --create-home tickplex
COPY --from=build /out/tickplex /usr/local/bin/tickplex
WORKDIR /app
USER tickplex
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT}/ready" || exit 1
ENTRYPOINT ["/usr/local/bin/tickplex"]
CMD ["serve"]
