# syntax=docker/dockerfile:1
# The bot's image: compiled JavaScript on Node 20, production dependencies only, run as a non-root user.
#   docker build -t slurm-chatops .
#   docker run --env-file .env -v /path/to/ssh:/run/chatops-ssh:ro slurm-chatops
# README.md ("Running the bot") lists what to mount and set; test/unit/deploy/dockerfile.test.ts checks this
# file against the package.

# ---- build: every dependency, then the esbuild bundle → dist/ ----
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Dependencies first, so a source change rebuilds only the layers below. `prepare` finds no sources yet.
COPY package.json package-lock.json ./
COPY bin/ bin/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY src/ src/
COPY commands/ commands/
COPY jobs/ jobs/
RUN npm run build

# ---- runtime: production dependencies and dist/ only ----
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    OPS_HOST=0.0.0.0 \
    OPS_PORT=9464 \
    PORT=3000 \
    AUDIT_LOG=/var/log/slurm-chatops/audit.jsonl
WORKDIR /app
COPY package.json package-lock.json ./
# bin/: `prepare` (a no-op here: the image holds no sources) and `docker exec … node bin/chatops.cjs help`.
COPY bin/ bin/
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && mkdir -p /var/log/slurm-chatops && chown node:node /var/log/slurm-chatops
COPY --from=build /app/dist/ dist/
# The audit log outlives the container.
VOLUME ["/var/log/slurm-chatops"]
# The node image's unprivileged user (uid 1000).
USER node
# OPS_PORT (GET /healthz, /readyz, /metrics) and PORT (Slack's requests in HTTP mode).
EXPOSE 9464 3000
# Liveness, with node itself (the slim image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.OPS_PORT || 9464}/healthz`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and handles SIGTERM itself (src/main.ts: stop intake, finish, close); exec form, no shell.
STOPSIGNAL SIGTERM
CMD ["node", "dist/src/main.js"]
