# Open vSwitch with the userspace datapath (no kernel module needed): ovsdb-server +
# ovs-vswitchd in the container, one netdev bridge pointed at the Nonstop controller.
# Configuration (environment): OVS_BRIDGE (br0), OVS_DPID (16 hex digits), OVS_CONTROLLER
# (tcp:controller:6653), OVS_PORTS ("veth1:1 veth2:2": interface:ofport pairs to attach).
# Needs NET_ADMIN and /dev/net/tun (the userspace datapath's tap).
FROM debian:bookworm-slim
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openvswitch-switch iproute2 ethtool \
    && rm -rf /var/lib/apt/lists/*
COPY docker/ovs-entrypoint.sh /usr/local/bin/ovs-entrypoint.sh
RUN chmod 0755 /usr/local/bin/ovs-entrypoint.sh
ENV OVS_BRIDGE=br0 \
    OVS_DPID=0000000000000001 \
    OVS_CONTROLLER=tcp:controller:6653 \
    OVS_PORTS=""
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ovs-vsctl --timeout=2 br-exists "$OVS_BRIDGE" && ovs-ofctl -O OpenFlow13 show "$OVS_BRIDGE" >/dev/null
ENTRYPOINT ["/usr/local/bin/ovs-entrypoint.sh"]
