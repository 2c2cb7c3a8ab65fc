# syntax=docker/dockerfile:1
#
# weft's container image. Two targets:
#   weft       (default) the static binary on distroless/static, non-root
#   weft-node  the same binary on Node.js, for stdio MCP servers started with npx
#
#   docker build -t weft .
#   docker build --target weft-node -t weft:node .
#
# The contract both targets keep — non-root uid 65532, a read-only root
# filesystem, state only under the /var/cache/weft volume, the variables
# below, HEALTHCHECK through `weft health`, exit 0 on SIGTERM — is tested
# without a Docker daemon by deploy/test (TestImageContract).
# See docs/production.md.

ARG GO_VERSION=1.26
ARG NODE_VERSION=20

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# modernc.org/sqlite is pure Go: CGO_ENABLED=0 gives a static binary.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/weft ./cmd/weft \
    && mkdir -p /out/cache

FROM gcr.io/distroless/static-debian12:nonroot AS weft
COPY --from=build --chmod=0555 /out/weft /usr/local/bin/weft
COPY --chmod=0444 deploy/docker/weft.yaml /etc/weft/weft.yaml
COPY --from=build --chown=65532:65532 /out/cache /var/cache/weft
ENV WEFT_CONFIG=/etc/weft/weft.yaml \
    WEFT_CACHE_DIR=/var/cache/weft \
    WEFT_ADDR=0.0.0.0:8080 \
    HOME=/var/cache/weft
USER 65532:65532
VOLUME ["/var/cache/weft"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/usr/local/bin/weft", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/weft"]
CMD ["serve"]

FROM node:${NODE_VERSION}-bookworm-slim AS weft-node
COPY --from=build --chmod=0555 /out/weft /usr/local/bin/weft
COPY --chmod=0444 deploy/docker/weft.yaml /etc/weft/weft.yaml
COPY --from=build --chown=65532:65532 /out/cache /var/cache/weft
# npx keeps its package cache under HOME (on the volume); npm's own
# update check and funding notes stay off.
ENV WEFT_CONFIG=/etc/weft/weft.yaml \
    WEFT_CACHE_DIR=/var/cache/weft \
    WEFT_ADDR=0.0.0.0:8080 \
    HOME=/var/cache/weft \
    npm_config_update_notifier=false \
    npm_config_fund=false
USER 65532:65532
VOLUME ["/var/cache/weft"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["/usr/local/bin/weft", "health"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/weft"]
CMD ["serve"]
