# vmware-event-router container image.
#
#   make image                      (docker build with VERSION and COMMIT from git)
#   docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse --short HEAD) -t vmware-event-router .
#
# Stage "build" runs the same `npm run build` as the tests (tsc -p tsconfig.json, then
# scripts/write-version.js writes dist/version.json from COMMIT/VERSION), so the image
# runs the dist/ the test suite ran against. Stage "runtime" holds production
# dependencies, the compiled router and its two data files, and runs as a non-root user.

ARG NODE_VERSION=24

FROM node:${NODE_VERSION} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/
COPY test/ test/
ARG VERSION=""
ARG COMMIT=""
RUN COMMIT="${COMMIT}" VERSION="${VERSION}" npm run build

FROM node:${NODE_VERSION}-slim AS runtime
ARG VERSION=""
ARG COMMIT=""
LABEL org.opencontainers.image.title="vmware-event-router" \
      org.opencontainers.image.description="Routes VMware vCenter events as CloudEvents to OpenFaaS, AWS EventBridge, Knative, NATS JetStream, an HTTP event stream or stdout" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist/src/ dist/src/
COPY --from=build /build/dist/version.json dist/version.json
# The data file tsc does not copy: placed next to the compiled module that reads it
# (model.js looks beside itself first).
COPY --from=build /build/src/stream/vcenter/vim25/model.generated.json dist/src/stream/vcenter/vim25/model.generated.json
# Non-root (uid/gid 65532, as distroless "nonroot"); the deployment also sets runAsUser 65532
# and a read-only root filesystem: the router writes nothing to disk.
USER 65532:65532
EXPOSE 8080
# node's flags are src/cli/node-flags.ts's (why there; test/packaging keeps the copies equal).
ENTRYPOINT ["node", "--max-semi-space-size=4", "/app/dist/src/cli/main.js"]
CMD ["-config", "/etc/vmware-event-router/config"]
