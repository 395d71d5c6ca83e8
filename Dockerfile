# The ledger's one image; each role is a container of it started with `--role <role>`
# (docker-compose.yml). Build: docker build -t payment-ledger .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the lockfile's install scripts are not needed to build (and `prepare` would
# build before the sources are copied).
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY domain ./domain
COPY commands ./commands
COPY ports ./ports
COPY write-api ./write-api
COPY read-api ./read-api
COPY projections ./projections
COPY processes ./processes
COPY infra ./infra
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    LEDGER_DATA_DIR=/var/lib/ledger
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
RUN mkdir -p /var/lib/ledger && chown node:node /var/lib/ledger
USER node
EXPOSE 8080 8081 9464 9465 12111
# /livez answers for the process alone; compose and orchestrators use /readyz for traffic.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD node -e "const p=process.env.HEALTH_PORT||8080;fetch('http://127.0.0.1:'+p+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/ledger.js", "start"]
CMD ["--role", "all"]
