/**
 * The Nonstop lab harness: private Open vSwitch instances and hosts as network namespaces,
 * everything named with a per-run random prefix and removed by `lab.destroy()`.
 * Used by every end-to-end test (through test/helpers/lab.ts) and by `nonstop lab`.
 *
 * Usage in a tap test:
 *
 *   import t from 'tap';
 *   import { createTestLab } from '../helpers/lab.js';
 *
 *   t.test('ping through OVS', async (t) => {
 *     const lab = await createTestLab(t);            // destroyed in t.teardown and on exit/SIGINT
 *     const sw = await lab.addSwitch('s1', { dpid: '0000000000000001' }); // own ns + private OVS,
 *                                                     // bridge br0, netdev, OpenFlow13, fail_mode=secure
 *     const h1 = await lab.addHost('h1', { sw, ofport: 1, ip: '10.0.0.1/24', mac: '02:00:00:00:00:01' });
 *     const h2 = await lab.addHost('h2', { sw, ofport: 2, ip: '10.0.0.2/24', mac: '02:00:00:00:00:02' });
 *     await sw.addFlow('priority=0,actions=NORMAL');  // or point it at a controller:
 *     // await sw.setController([`unix:${sw.controllerSocket}`]);   (controller listens there;
 *     //   sw.controllerSocket: OVS only accepts unix sockets inside its run dir; unix sockets cross
 *     //   namespaces, so an in-process controller can serve a switch living in its own ns)
 *     await h1.exec('ping', ['-c', '1', '-W', '2', h2.ip]);              // rejects on failure
 *     const web = h2.spawn('nginx', [...], { logFile: join(lab.dir, 'nginx.log') }); // tracked
 *     t.match(await sw.dumpFlows(), ...);             // ovs-ofctl -O OpenFlow13 dump-flows lines
 *   });
 *
 * Pieces:
 * - Lab (lab.ts): create({prefix?, dir?}), prefix, dir (temp dir), nsName(short), addNamespace(short),
 *   addSwitch(short, {bridge, dpid, failMode, protocols, controllers}), addHost(short, {sw, ofport, ip, mac,
 *   ifname, portName}), addSwitchPort(sw, portName, ofport, otherEnd), link(endA, endB),
 *   rootIfName(hint) (root-namespace veth names must carry the prefix), exec(ns, cmd, args),
 *   spawn(ns, cmd, args, {logFile, env, stdio:'pipe'}) -> LabProcess {pid, child, exited, stop()},
 *   destroy() (never throws), destroySync() (exit handlers).
 *   Namespace names are `${prefix}-${short}`; ns `null` means the root namespace.
 * - PrivateOvs (ovs.ts): start(dir, ns), vsctl(...), appctl(...), addBridge, addPort(br, iface, {ofport}),
 *   deletePort, setController(br, ['tcp:IP:PORT'|'ssl:IP:PORT'|'unix:/path'|'unix:NAME']) (OVS only dials
 *   unix sockets inside its run dir: controllerSocket(name) gives a path there, 'unix:NAME' resolves
 *   there; sw.controllerSocket is the default one), controllerConnected(br),
 *   setSsl(key, cert, ca), ofctl(br, cmd, ...), addFlow, dumpFlows, dumpPorts, dumpPortsDesc, show,
 *   mgmtSocket(br), env (OVS_RUNDIR...), stop().
 * - netns.ts: createNamespace, deleteNamespace, listNamespaces, namespacePids, createVethPair (TX offload
 *   off on both ends), addAddress, addRoute, setLinkUp, listLinks, nsExec, nsSpawn, ip().
 * - cleanup.ts: findLeftovers(prefix), cleanupPrefix(prefix) (a crashed run's namespaces, root links,
 *   temp dirs and processes), reapOrphanLabs() (temp-dir labs whose owner process died; createTestLab
 *   calls it), isEmpty().
 * - exec.ts: run/tryRun (CommandError names the command and its stderr), waitFor(what, check, ms).
 */
export * from './cleanup.js';
export * from './exec.js';
export * from './lab.js';
export * from './netns.js';
export * from './ovs.js';
export * from './proc.js';
