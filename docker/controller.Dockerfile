# Nonstop OpenFlow 1.3 controller + REST API.
# Configuration (environment): NONSTOP_OF_LISTEN (default 0.0.0.0:6653),
# NONSTOP_API_LISTEN (default 0.0.0.0:8080), NONSTOP_API_TOKEN (bearer token for mutating calls).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# npm ci rejects the lock npm 11 writes (foreign-platform optional deps); npm install follows it
RUN npm install --no-audit --no-fund --ignore-scripts
COPY controller controller
COPY standby-agent standby-agent
COPY topology topology
RUN npx tsc -p tsconfig.build.json
ENV NONSTOP_OF_LISTEN=0.0.0.0:6653 \
    NONSTOP_API_LISTEN=0.0.0.0:8080 \
    NODE_ENV=production
EXPOSE 6653 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.NONSTOP_API_LISTEN || ':8080').split(':').pop() + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["sh", "-c", "exec node dist/controller/cli.js --of-listen \"$NONSTOP_OF_LISTEN\" --api-listen \"$NONSTOP_API_LISTEN\""]
