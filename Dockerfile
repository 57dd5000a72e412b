# syntax=docker/dockerfile:1
# Production image: the compiled JavaScript on plain node, the event API and a worker in one
# process (`unbroken start`), against an external Temporal, PostgreSQL and SMTP relay set by the
# environment (README, "Production"). Its build and start commands are run from a clean directory
# by test/build/dockerfile.test.ts, which reads them from this file: it understands FROM, WORKDIR,
# ENV, COPY, RUN, USER, VOLUME, EXPOSE, HEALTHCHECK and CMD, one instruction per line.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The compiler needs only JavaScript and types: no native builds, no Temporal binaries.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts
COPY . .
RUN npm run build

FROM node:20-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
COPY scripts/setup-temporal.js ./scripts/
# With scripts (better-sqlite3's native module); the postinstall downloads nothing for --omit=dev.
# npm's cache is a build cache mount, so it stays out of the image.
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev
COPY --from=build /app/dist ./dist
COPY definitions ./definitions
# The data folder keeps the generated write key and unsubscribe secret (and a SQLite store, if
# used); a volume mounted here starts out owned by the user below.
RUN mkdir -p .data && chown node:node .data
VOLUME /app/.data
USER node
ENV HOST=0.0.0.0 PORT=3000 UNBROKEN_DATA_DIR=/app/.data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/bin/unbroken.js", "start"]
