"""Mininet topologies built from Nonstop's topology files (topology/*.json).

    mn --custom mininet/nonstop_topo.py --topo ha-basic \
       --controller remote,ip=127.0.0.1,port=6653 --switch ovs,datapath=user

Run with Debian's /usr/bin/python3 (its mininet package), as root. Hosts get the file's names,
addresses, MACs and switch port numbers, so the controller and agent see the same ports as in
the netns lab. NONSTOP_TOPOLOGY=/path/to/file.json adds a topology named after that file.

Mininet puts its switches in the namespace it runs in, and only one userspace ovs-vswitchd can
run per network namespace: run it in a namespace of its own (mininet/scenario.py does) unless
nothing else on the machine runs a userspace OVS in the root namespace.
"""

import json
import os

from mininet.topo import Topo

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY_DIR = os.path.join(os.path.dirname(HERE), 'topology')
ROLES = ('client', 'service', 'standby', 'analyzer')


class TopologyFileError(Exception):
    pass


def load_topology(name_or_path):
    """Reads a topology file by path or shipped name; checks what Mininet needs from it."""
    path = name_or_path
    if not os.path.exists(path):
        path = os.path.join(TOPOLOGY_DIR, name_or_path if name_or_path.endswith('.json') else name_or_path + '.json')
    try:
        with open(path) as f:
            topo = json.load(f)
    except FileNotFoundError:
        raise TopologyFileError('topology %r not found (looked for %s)' % (name_or_path, path))
    except json.JSONDecodeError as e:
        raise TopologyFileError('%s: line %d, column %d: %s' % (path, e.lineno, e.colno, e.msg))
    problems = []
    switches = {s.get('name') for s in topo.get('switches', [])}
    for i, h in enumerate(topo.get('hosts', [])):
        for field in ('name', 'role', 'ip', 'mac', 'switch', 'port'):
            if field not in h:
                problems.append('hosts[%d].%s: is required' % (i, field))
        if h.get('role') not in ROLES:
            problems.append('hosts[%d].role: must be one of %s' % (i, ', '.join(ROLES)))
        if h.get('switch') not in switches:
            problems.append('hosts[%d].switch: unknown switch "%s"' % (i, h.get('switch')))
    if problems:
        raise TopologyFileError('%s: invalid topology:\n  %s' % (path, '\n  '.join(problems)))
    topo['_path'] = path
    return topo


class NonstopTopo(Topo):
    """One Mininet switch per topology switch (its dpid), one host per topology host."""

    def build(self, topology='ha-basic'):
        spec = load_topology(topology)
        self.spec = spec
        for s in spec['switches']:
            self.addSwitch(s['name'], dpid=s['dpid'].lower(), protocols='OpenFlow13')
        for h in spec['hosts']:
            self.addHost(h['name'], ip=h['ip'], mac=h['mac'].lower())
            # port2 is the OpenFlow port number on the switch (ofport_request)
            self.addLink(h['name'], h['switch'], port1=0, port2=int(h['port']))


def _factory(name):
    return lambda: NonstopTopo(topology=name)


topos = {
    'ha-basic': _factory('ha-basic'),
    'ha-cluster': _factory('ha-cluster'),
}
if os.environ.get('NONSTOP_TOPOLOGY'):
    _extra = load_topology(os.environ['NONSTOP_TOPOLOGY'])
    topos[_extra.get('name', 'custom')] = _factory(_extra['_path'])
