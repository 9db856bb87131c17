# Nonstop standby agent: captures the mirrored traffic, tracks connections, restores them with
# TCP_REPAIR on failover. Needs NET_ADMIN + NET_RAW (capture, address takeover, TCP_REPAIR) and
# the standby's network (network_mode: host, or the standby's netns).
# Configuration (environment): NONSTOP_IFACE, NONSTOP_SERVICE (IP:PORT), NONSTOP_CONTROLLER_URL,
# NONSTOP_DPID, NONSTOP_SERVICE_PORT, NONSTOP_STANDBY_PORT, NONSTOP_LOCAL_SERVICE (IP:PORT),
# NONSTOP_LOCAL_POOL (idle connections to it kept for a failover: auto, N, or 0),
# NONSTOP_AGENT_API_LISTEN (default 0.0.0.0:8081), NONSTOP_API_TOKEN (the agent's API),
# NONSTOP_CONTROLLER_TOKEN (the controller's API).
FROM node:20-bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libpcap-dev g++ make python3 iproute2 ethtool \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm install --no-audit --no-fund
COPY controller controller
COPY standby-agent standby-agent
COPY topology topology
RUN npx tsc -p tsconfig.build.json
RUN npx node-gyp rebuild -C standby-agent/native
ENV NONSTOP_IFACE=eth0 \
    NONSTOP_AGENT_API_LISTEN=0.0.0.0:8081 \
    NONSTOP_CONTROLLER_URL=http://controller:8080 \
    NONSTOP_DPID=0000000000000001 \
    NONSTOP_SERVICE_PORT=3 \
    NONSTOP_STANDBY_PORT=4 \
    NONSTOP_SERVICE=10.0.0.10:80 \
    NONSTOP_LOCAL_SERVICE=127.0.0.1:80 \
    NONSTOP_LOCAL_POOL=auto \
    NODE_ENV=production
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.NONSTOP_AGENT_API_LISTEN || ':8081').split(':').pop() + '/v1/status').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["sh", "-c", "exec node dist/standby-agent/cli.js --iface \"$NONSTOP_IFACE\" --service \"$NONSTOP_SERVICE\" --api-listen \"$NONSTOP_AGENT_API_LISTEN\" --controller \"$NONSTOP_CONTROLLER_URL\" --dpid \"$NONSTOP_DPID\" --service-port \"$NONSTOP_SERVICE_PORT\" --standby-port \"$NONSTOP_STANDBY_PORT\" --local-service \"$NONSTOP_LOCAL_SERVICE\" --local-pool \"$NONSTOP_LOCAL_POOL\""]
