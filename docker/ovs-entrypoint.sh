#!/bin/sh
# Starts ovsdb-server and a userspace ovs-vswitchd, creates the Nonstop bridge
# (netdev datapath, OpenFlow 1.3, fail_mode=secure) and points it at the controller.
set -eu
: "${OVS_BRIDGE:=br0}" "${OVS_DPID:=0000000000000001}" "${OVS_CONTROLLER:=tcp:controller:6653}" "${OVS_PORTS:=}"
export OVS_RUNDIR=/var/run/openvswitch OVS_DBDIR=/etc/openvswitch OVS_LOGDIR=/var/log/openvswitch
mkdir -p "$OVS_RUNDIR" "$OVS_DBDIR" "$OVS_LOGDIR"
[ -f "$OVS_DBDIR/conf.db" ] || ovsdb-tool create "$OVS_DBDIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server --remote=punix:"$OVS_RUNDIR/db.sock" --pidfile --detach --log-file "$OVS_DBDIR/conf.db"
ovs-vsctl --no-wait init
ovs-vswitchd --pidfile --detach --log-file
# the OVS controller target resolves a host name only once: resolve it here
case "$OVS_CONTROLLER" in
  tcp:*|ssl:*)
    proto=${OVS_CONTROLLER%%:*}; rest=${OVS_CONTROLLER#*:}; host=${rest%:*}; port=${rest##*:}
    addr=$(getent hosts "$host" | awk '{print $1; exit}')
    [ -n "$addr" ] && OVS_CONTROLLER="$proto:$addr:$port"
    ;;
esac
ovs-vsctl --may-exist add-br "$OVS_BRIDGE" -- set bridge "$OVS_BRIDGE" datapath_type=netdev \
  protocols=OpenFlow13 fail_mode=secure other-config:datapath-id="$OVS_DPID" other-config:disable-in-band=true
for p in $OVS_PORTS; do
  iface=${p%%:*}; ofport=${p##*:}
  ethtool -K "$iface" tx off >/dev/null 2>&1 || true
  ovs-vsctl --may-exist add-port "$OVS_BRIDGE" "$iface" -- set interface "$iface" ofport_request="$ofport"
done
ovs-vsctl set-controller "$OVS_BRIDGE" "$OVS_CONTROLLER"
echo "ovs: bridge $OVS_BRIDGE dpid $OVS_DPID -> $OVS_CONTROLLER"
# stay in the foreground with the daemons; exit when vswitchd does
exec tail --pid="$(cat "$OVS_RUNDIR/ovs-vswitchd.pid")" -f /dev/null
