# promgate container image: HTTPS gateway in front of Prometheus.
#
#   docker build -t promgate .
#   docker run -p 443:8443 -v "$PWD/certs:/certs:ro" -e PROMGATE_UPSTREAM_URL=http://prometheus:9090 promgate
#
# Configure with PROMGATE_* environment variables or flags after the image name (see
# `docker run --rm promgate --help`). The certificate and key are read from /certs (mount it
# read-only); the key must be readable by uid 1000 (the `node` user).
# (F4 will harden this further: health check, metrics, compose/Kubernetes examples.)

ARG NODE_IMAGE=node:24-slim

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
RUN npm run build

# ---- runtime: production dependencies + compiled output, non-root --------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PROMGATE_TLS_CERT_FILE=/certs/tls.crt \
    PROMGATE_TLS_KEY_FILE=/certs/tls.key
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# Owned by root and not writable by the runtime user.
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8443
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
