# promgate container image: HTTPS gateway in front of Prometheus.
#
#   docker build -t promgate .
#   docker run -p 443:8443 -v "$PWD/certs:/certs:ro" -e PROMGATE_UPSTREAM_URL=http://prometheus:9090 promgate
#
# Configure with PROMGATE_* environment variables (see `docker run --rm promgate --help`); the
# HEALTHCHECK reads them too, so prefer them to flags after the image name. Mount /certs read-only:
#   tls.crt, tls.key      the server certificate and key (key readable by uid 1000, `node`)
#   .htpasswd             optional: basic auth is on when it is there
#   web-config.yml        optional: Prometheus's web config (TLS, mTLS, users, headers)
# Your own plugins go in /plugins (mount it read-only) and are named by absolute path in the config
# file; the bundled ones are `promgate/plugins/tenant-header` and `promgate/plugins/audit-log`.
# The root filesystem can be read-only: promgate writes nothing but its logs (stderr).

# Pinned to the Node version the tests run on (the `node` devDependency in package-lock.json), so a
# base-image update is a reviewed change, not a surprise at the next build.
ARG NODE_IMAGE=node:24.21.0-bookworm-slim

# ---- build: compile TypeScript to dist/ -------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: skips `prepare` (the sources are not copied yet; we build explicitly below) and
# the preinstall of the `node` devDependency, which would download a second Node binary we do not
# need (the base image already has Node 24).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY middleware ./middleware
COPY plugins ./plugins
RUN npm run build

# ---- runtime: production dependencies + compiled output, non-root --------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# Owned by root and not writable by the runtime user.
COPY --from=build /app/dist ./dist
COPY deploy/docker/entrypoint.sh /usr/local/bin/promgate-entrypoint
# From /, promgate's default certificate paths (certs/tls.crt, certs/tls.key) are /certs/tls.*,
# and a tls_server_config in /certs/web-config.yml can take their place without a conflict.
WORKDIR /
USER node
EXPOSE 8443
# `promgate healthcheck` asks the running gateway for /-/promgate/healthy (no curl in the image).
# Through the entrypoint, so it reads the same configuration (files found in /certs) as the gateway.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["promgate-entrypoint", "healthcheck"]
ENTRYPOINT ["promgate-entrypoint"]
