#!/usr/bin/python3
"""Scripted Mininet scenario for Nonstop (non-interactive; exit 0 only if every check ran and passed).

    ip netns add mnlab && ip netns exec mnlab /usr/bin/python3 mininet/scenario.py --workdir /tmp/mn1
    (then: ip netns delete mnlab)

Builds a topology file's network in Mininet with a private userspace Open vSwitch (its own
ovsdb-server/ovs-vswitchd under --workdir, found by Mininet's ovs-vsctl through OVS_RUNDIR),
starts the Nonstop controller (and the standby agent when it exists) and checks:
  ping       a client reaches the service node
  http       the client gets the service's nginx page
  mirroring  the controller mirrors the service port to the standby: tcpdump on the standby sees
             both directions of the client's HTTP exchange
  failover   the service node dies; after POST /v1/failover the client reaches the standby at the
             service's address
Run it in a network namespace of its own: Mininet's switch lives in the namespace it runs in, and
only one userspace ovs-vswitchd can run per namespace. Prints one JSON document on stdout.
Cleanup is Mininet's own net.stop() plus stopping what this script started, never `mn -c`.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from functools import partial

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from mininet.log import setLogLevel  # noqa: E402
from mininet.net import Mininet  # noqa: E402
from mininet.node import OVSSwitch, RemoteController  # noqa: E402

from nonstop_topo import NonstopTopo, load_topology  # noqa: E402


def log(msg):
    sys.stderr.write('[scenario] %s\n' % msg)
    sys.stderr.flush()


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def entry(rel):
    """node argv for one of Nonstop's CLIs: TypeScript source via tsx, else dist/."""
    node = shutil.which('node') or '/usr/bin/node'
    ts = os.path.join(REPO, rel + '.ts')
    if os.path.exists(ts) and os.path.isdir(os.path.join(REPO, 'node_modules', 'tsx')):
        return [node, '--import', 'tsx', ts]
    js = os.path.join(REPO, 'dist', rel + '.js')
    if os.path.exists(js):
        return [node, js]
    return None


def wait_for(what, check, timeout=20.0, step=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            if check():
                return True
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(step)
    raise RuntimeError('timed out waiting for %s%s' % (what, (': %s' % last) if last else ''))


class PrivateOvs:
    """ovsdb-server + ovs-vswitchd under one directory; OVS_RUNDIR points Mininet at them."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, 'ovs')
        os.makedirs(self.dir, exist_ok=True)
        for k in ('OVS_RUNDIR', 'OVS_DBDIR', 'OVS_LOGDIR', 'OVS_SYSCONFDIR'):
            os.environ[k] = self.dir
        db = os.path.join(self.dir, 'conf.db')
        run(['ovsdb-tool', 'create', db, '/usr/share/openvswitch/vswitch.ovsschema'])
        run(['ovsdb-server', '--remote=punix:' + os.path.join(self.dir, 'db.sock'), '--pidfile', '--detach',
             '--log-file', db])
        run(['ovs-vsctl', '--no-wait', 'init'])
        run(['ovs-vswitchd', '--pidfile', '--detach', '--log-file'])

    def pid(self, name):
        try:
            with open(os.path.join(self.dir, name + '.pid')) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        for name in ('ovs-vswitchd', 'ovsdb-server'):
            pid = self.pid(name)
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                for _ in range(50):
                    if not os.path.exists('/proc/%d' % pid):
                        break
                    time.sleep(0.05)
                else:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


def kill_in_netns(netns):
    """Whatever still runs in a Mininet host's network namespace after net.stop() (daemons that
    left their parent, such as nginx workers) is ours: kill it by PID."""
    if not netns:
        return
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.readlink('/proc/%s/ns/net' % entry) in netns:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            pass


def api(sock, token, method, path, body=None):
    cmd = ['curl', '-s', '--max-time', '30', '--unix-socket', sock, '-X', method, '-H', 'authorization: Bearer ' + token,
           '-w', '\n%{http_code}']
    if body is not None:
        cmd += ['-H', 'content-type: application/json', '-d', json.dumps(body)]
    out = subprocess.run(cmd + ['http://nonstop' + path], capture_output=True, text=True).stdout
    text, _, code = out.rpartition('\n')
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return int(code or 0), parsed


def nginx_conf(workdir, host, listen):
    d = os.path.join(workdir, 'nginx-' + host)
    os.makedirs(os.path.join(d, 'www'), exist_ok=True)
    os.makedirs(os.path.join(d, 'tmp'), exist_ok=True)
    with open(os.path.join(d, 'www', 'index.html'), 'w') as f:
        f.write('served by %s\n' % host)
    conf = os.path.join(d, 'nginx.conf')
    t = os.path.join(d, 'tmp')
    with open(conf, 'w') as f:
        f.write('user root;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n'
                'events { worker_connections 256; }\nhttp {\n  access_log off;\n'
                '  client_body_temp_path %s/b; proxy_temp_path %s/p; fastcgi_temp_path %s/f;'
                ' uwsgi_temp_path %s/u; scgi_temp_path %s/s;\n  keepalive_timeout 600s;\n'
                '  server {\n%s    root %s/www;\n    add_header X-Served-By %s always;\n'
                '    location = /who { return 200 "%s\\n"; }\n  }\n}\n'
                % (d, d, t, t, t, t, t, ''.join('    listen %s;\n' % l for l in listen), d, host, host))
    return ['nginx', '-p', d, '-c', conf, '-g', 'daemon off;']


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--topology', default='ha-basic')
    ap.add_argument('--workdir', required=True, help='private dir for OVS, logs and configs')
    ap.add_argument('--allow-root-netns', action='store_true',
                    help='run even in the root network namespace (only if no other userspace OVS runs there)')
    args = ap.parse_args()

    own_ns = subprocess.run(['ip', 'netns', 'identify', str(os.getpid())], capture_output=True, text=True).stdout.strip()
    if not args.allow_root_netns and not own_ns:
        sys.stderr.write('scenario.py: run me in a network namespace of my own (ip netns exec NS ...), '
                         'or pass --allow-root-netns\n')
        return 2
    os.makedirs(args.workdir, exist_ok=True)
    setLogLevel(os.environ.get('MN_LOGLEVEL', 'warning'))
    spec = load_topology(args.topology)
    hosts = {h['name']: h for h in spec['hosts']}
    role = lambda r: [h for h in spec['hosts'] if h['role'] == r]  # noqa: E731
    client, service = role('client')[0], role('service')[0]
    standby = (role('standby') or [None])[0]
    svc_ip = service['ip'].split('/')[0]
    sw = spec['switches'][0]
    result = {'topology': spec['name'], 'checks': {}, 'missing': []}
    checks = result['checks']
    token = secrets.token_hex(12)
    procs = []
    ovs = None
    net = None
    try:
        ovs = PrivateOvs(args.workdir)
        ctl_sock = os.path.join(args.workdir, 'controller.sock')
        ctl_cmd = entry('controller/cli')
        if ctl_cmd:
            ctl_log = open(os.path.join(args.workdir, 'controller.log'), 'w')
            procs.append(subprocess.Popen(ctl_cmd + ['--of-listen', '127.0.0.1:6653', '--api-listen', 'unix:' + ctl_sock,
                                                     '--token', token], cwd=REPO, stdout=ctl_log, stderr=subprocess.STDOUT))
            wait_for('controller API', lambda: api(ctl_sock, token, 'GET', '/health')[0] == 200)
        else:
            result['missing'].append('controller (controller/cli.ts): forwarding by a NORMAL flow, mirroring not checked')

        controller = partial(RemoteController, ip='127.0.0.1', port=6653) if ctl_cmd else None
        net = Mininet(topo=NonstopTopo(topology=spec['_path']),
                      switch=partial(OVSSwitch, datapath='user', failMode='secure', protocols='OpenFlow13'),
                      controller=controller, autoSetMacs=False, build=True, waitConnected=False)
        net.start()
        # TX checksum offload off on both ends of every veth, or TCP through the userspace datapath fails
        for h in net.hosts:
            for intf in h.intfList():
                h.cmd('ethtool -K %s tx off' % intf)
        for s in net.switches:
            for intf in s.intfList():
                if intf.name != 'lo':
                    subprocess.run(['ethtool', '-K', intf.name, 'tx', 'off'], capture_output=True)
        bridge = sw['name']
        if ctl_cmd:
            wait_for('switch connected to controller',
                     lambda: 'true' in run(['ovs-vsctl', '--columns=is_connected', 'list', 'controller']))
        else:
            run(['ovs-ofctl', '-O', 'OpenFlow13', 'add-flow', bridge, 'priority=0,actions=NORMAL'])

        for name, h in hosts.items():
            for svc in h.get('services', []):
                # the standby listens on every address: its own, the loopback (restored connections
                # are joined there) and the service address after the takeover (new connections)
                if h['role'] == 'standby':
                    listen = ['%d' % svc.get('port', 80)]
                else:
                    listen = ['%s:%d' % (h['ip'].split('/')[0], svc.get('port', 80))]
                procs.append(net.get(name).popen(nginx_conf(args.workdir, name, listen)))
        c = net.get(client['name'])
        wait_for('nginx on the service', lambda: 'served by' in c.cmd('curl -s --max-time 1 http://%s/' % svc_ip))

        loss = net.ping([c, net.get(service['name'])], timeout='2')
        checks['ping'] = {'ok': loss == 0, 'lossPercent': loss}
        body = c.cmd('curl -s --max-time 5 http://%s/who' % svc_ip).strip()
        checks['http'] = {'ok': body == service['name'], 'servedBy': body}

        if ctl_cmd and standby:
            code, m = api(ctl_sock, token, 'POST', '/v1/mirrors',
                          {'dpid': sw['dpid'], 'sourcePort': service['port'], 'targetPort': standby['port']})
            sb = net.get(standby['name'])
            pcap = os.path.join(args.workdir, 'mirror.pcap')
            td = sb.popen(['tcpdump', '--immediate-mode', '-Z', 'root', '-i', '%s-eth0' % standby['name'], '-n', '-U', '-w', pcap,
                           'tcp port 80 and host %s' % svc_ip])
            time.sleep(1.0)
            c.cmd('curl -s --max-time 5 http://%s/who' % svc_ip)
            time.sleep(0.5)
            td.send_signal(signal.SIGINT)
            td.wait(timeout=5)
            lines = subprocess.run(['tcpdump', '-r', pcap, '-n'], capture_output=True, text=True).stdout.splitlines()
            to_svc = sum(1 for l in lines if ('> %s.80:' % svc_ip) in l)
            from_svc = sum(1 for l in lines if (' %s.80 >' % svc_ip) in l)
            checks['mirroring'] = {'ok': code in (200, 201) and to_svc > 0 and from_svc > 0, 'status': code,
                                   'mirror': m, 'toService': to_svc, 'fromService': from_svc}
            if not checks['mirroring']['ok']:
                checks['mirroring']['flows'] = run(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows', bridge]).splitlines()
                checks['mirroring']['tcpdump'] = td.stderr.read().decode(errors='replace') if td.stderr else None

        agent_cmd = entry('standby-agent/cli') if ctl_cmd and standby else None
        if not agent_cmd:
            result['missing'].append('agent (standby-agent/cli.ts)' + ('' if ctl_cmd else ' or controller')
                                     + ': failover not checked')
        else:
            agent_sock = os.path.join(args.workdir, 'agent.sock')
            sb = net.get(standby['name'])
            agent_log = open(os.path.join(args.workdir, 'agent.log'), 'w')
            procs.append(sb.popen(agent_cmd + [
                '--iface', '%s-eth0' % standby['name'], '--service', '%s:80' % svc_ip,
                '--api-listen', 'unix:' + agent_sock, '--token', token, '--controller', 'unix:' + ctl_sock,
                '--controller-token', token,
                '--dpid', sw['dpid'], '--service-port', str(service['port']), '--standby-port', str(standby['port']),
                '--local-service', '127.0.0.1:80'], cwd=REPO, stdout=agent_log, stderr=subprocess.STDOUT))
            wait_for('agent API', lambda: api(agent_sock, token, 'GET', '/v1/status')[0] == 200)
            s = net.get(service['name'])
            s.cmd('ip link set %s-eth0 down' % service['name'])
            # the node dies whole: its nginx master and workers (a worker's command line does not
            # name the config, so stop the master first, then kill its children, then the master)
            pidfile = os.path.join(args.workdir, 'nginx-%s' % service['name'], 'nginx.pid')
            s.cmd('p=$(cat %s); kill -STOP $p; pkill -9 -P $p; kill -9 $p' % pidfile)
            code, report = api(agent_sock, token, 'POST', '/v1/failover', {})
            after = c.cmd('curl -s --max-time 5 http://%s/who' % svc_ip).strip()
            checks['failover'] = {'ok': code == 200 and after == standby['name'], 'status': code,
                                  'servedByAfter': after,
                                  'outcome': report.get('outcome') if isinstance(report, dict) else None}
    except Exception as e:  # noqa: BLE001 - reported in the JSON result
        result['error'] = '%s: %s' % (type(e).__name__, e)
    finally:
        host_netns = set()
        if net is not None:
            for h in net.hosts:
                try:
                    host_netns.add(os.readlink('/proc/%d/ns/net' % h.pid))
                except OSError:
                    pass
            try:
                net.stop()
            except Exception as e:  # noqa: BLE001
                result.setdefault('cleanupErrors', []).append(str(e))
        for p in procs:
            try:
                p.terminate()
                p.wait(timeout=3)
            except Exception:  # noqa: BLE001
                p.kill()
        kill_in_netns(host_netns)
        if ovs is not None:
            ovs.stop()
    result['ok'] = ('error' not in result and bool(checks) and all(v['ok'] for v in checks.values())
                    and not result['missing'])
    print(json.dumps(result, indent=2))
    return 0 if result['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
