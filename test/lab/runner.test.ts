// `nonstop lab up/status/exec/down` on real OVS: ha-basic comes up, a client reaches the service's
// nginx through the switch, `up` is idempotent, and `down` leaves nothing behind, also after a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { findLeftovers, isEmpty, killPid, readPidFile } from '../../topology/lab/index.js';
import { labDown, labStatus, labUp, readLabState } from '../../topology/lab/runner.js';

const stateRoot = mkdtempSync(join(tmpdir(), 'nonstop-labstate-'));
t.teardown(async () => {
  await labDown('ha-basic', { stateRoot });
  rmSync(stateRoot, { recursive: true, force: true });
});

t.test('up, status, traffic, idempotent up, down', async (t) => {
  const logged: string[] = [];
  const { state, alreadyUp } = await labUp({ topology: 'ha-basic', stateRoot, log: (l) => logged.push(l) });
  t.equal(alreadyUp, false);
  t.equal(Object.keys(state.hostNs).length, 4);
  const status = await labStatus('ha-basic', { stateRoot });
  t.ok(status.up, `lab is up: ${JSON.stringify(status.processes)}`);
  t.ok(status.namespaces.every((n) => n.present));

  const { nsExec } = await import('../../topology/lab/index.js');
  const r = await nsExec(state.hostNs.client1, 'curl', [
    '-s',
    '-D',
    '-',
    '--max-time',
    '5',
    'http://10.0.0.10/',
  ]);
  t.match(r.stdout, /X-Served-By: service/, 'client1 reaches the service through OVS');
  t.match(r.stdout, /served by service/);
  const sb = await nsExec(state.hostNs.client2, 'curl', ['-s', '--max-time', '5', 'http://10.0.0.20/who']);
  t.equal(sb.stdout.trim(), 'standby', "the standby's own nginx answers on its address");
  const mgmt = await nsExec(state.hostNs.standby, 'ping', ['-c', '1', '-W', '2', '10.254.0.1']);
  t.match(mgmt.stdout, /1 received/, 'management link between standby and switch namespaces');

  const again = await labUp({ topology: 'ha-basic', stateRoot });
  t.equal(again.alreadyUp, true, 'second up leaves the running lab alone');
  t.equal(again.state.prefix, state.prefix);

  if (state.processes.some((p) => p.role === 'agent')) {
    // up returns once protection is in force: the agent's capture sees the mirror
    t.match(logged.join('\n'), /agent on standby: capturing the mirror \(its barrier echoed in [\d.]+ ms\)/);
    // `nonstop lab failover`: the service node dies, the standby takes over its address
    const { execFile } = await import('node:child_process');
    const fo = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          'tsx',
          'topology/cli.ts',
          'lab',
          'failover',
          'ha-basic',
          '--json',
          '--state-dir',
          stateRoot,
        ],
        { timeout: 60_000 },
        (err, stdout) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
      );
    });
    t.equal(fo.code, 0, fo.stdout.slice(0, 500));
    t.equal(JSON.parse(fo.stdout).outcome, 'completed');
    const after = await nsExec(state.hostNs.client1, 'curl', [
      '-s',
      '--max-time',
      '5',
      'http://10.0.0.10/who',
    ]);
    t.equal(after.stdout.trim(), 'standby', "the service's address now reaches the standby");
  } else {
    t.ok(
      state.notes.some((n) => /agent not started/.test(n)),
      'no agent: the lab says so',
    );
  }

  const down = await labDown('ha-basic', { stateRoot });
  t.ok(down.found);
  t.ok(isEmpty(await findLeftovers(state.prefix, [state.labDir])), 'nothing left after down');
  t.equal(readLabState('ha-basic', stateRoot), null, 'state removed');
  t.equal((await labDown('ha-basic', { stateRoot })).found, false, 'down twice is harmless');
});

t.test('a crashed lab is repaired by up and removed by down', async (t) => {
  const { state } = await labUp({ topology: 'ha-basic', stateRoot, controller: false });
  // the switch dies
  const vswitchd = readPidFile(join(state.labDir, 'ovs-s1', 'ovs-vswitchd.pid'));
  t.ok(vswitchd);
  await killPid(vswitchd!, { graceMs: 0 });
  const nginx = state.processes.find((p) => p.role === 'nginx' && p.host === 'service')!;
  await killPid(nginx.pid, { graceMs: 0 });
  const st = await labStatus('ha-basic', { stateRoot });
  t.equal(st.up, false, 'status notices the dead service');

  const { state: fresh, alreadyUp } = await labUp({ topology: 'ha-basic', stateRoot, controller: false });
  t.equal(alreadyUp, false, 'a broken lab is rebuilt');
  t.not(fresh.prefix, state.prefix, 'with a new prefix');
  t.ok(isEmpty(await findLeftovers(state.prefix)), "the broken run's leftovers are gone");

  await labDown('ha-basic', { stateRoot });
  t.ok(isEmpty(await findLeftovers(fresh.prefix, [fresh.labDir])), 'nothing left');
});

t.test('the CLI: lab up / exec / status --json / down', async (t) => {
  const { execFile } = await import('node:child_process');
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'topology/cli.ts', ...args],
        { timeout: 120_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const up = await cli(['lab', 'up', 'ha-basic', '--no-controller', '--state-dir', stateRoot]);
  t.equal(up.code, 0, up.stderr);
  t.match(up.stdout, /lab ha-basic is up/);
  t.match(up.stdout, /try: nonstop lab exec ha-basic client1 curl -s http:\/\/10\.0\.0\.10\/who/);
  t.match(up.stdout, /note: controller not started \(--no-controller\)/);
  const ex = await cli([
    'lab',
    'exec',
    'ha-basic',
    'client2',
    '--state-dir',
    stateRoot,
    '--',
    'curl',
    '-s',
    '--max-time',
    '5',
    'http://10.0.0.10/who',
  ]);
  t.equal(ex.code, 0, ex.stderr);
  t.equal(ex.stdout.trim(), 'service', 'exec runs the command inside the host namespace');
  const noDash = await cli([
    'lab',
    'exec',
    '--state-dir',
    stateRoot,
    'client2',
    'curl',
    '-s',
    '--max-time',
    '5',
    'http://10.0.0.10/who',
  ]);
  t.equal(
    noDash.stdout.trim(),
    'service',
    'without -- too (NAME defaults to ha-basic; CMD keeps its options)',
  );
  const failing = await cli(['lab', 'exec', 'ha-basic', 'client2', '--state-dir', stateRoot, '--', 'false']);
  t.equal(failing.code, 1, "exec passes the command's exit code through");
  const noHost = await cli(['lab', 'exec', 'ha-basic', 'nohost', '--state-dir', stateRoot, '--', 'true']);
  t.match(noHost.stderr, /no host "nohost"/);
  const st = await cli(['lab', 'status', 'ha-basic', '--json', '--state-dir', stateRoot]);
  t.equal(st.code, 0, st.stderr);
  const status = JSON.parse(st.stdout);
  t.equal(status.up, true);
  t.equal(status.state.token, undefined, 'the token is not printed');
  const down = await cli(['lab', 'down', 'ha-basic', '--state-dir', stateRoot]);
  t.match(down.stdout, /lab ha-basic is down: removed 5 namespaces/);
  t.ok(isEmpty(await findLeftovers(status.state.prefix, [status.state.labDir])), 'nothing left');
  const st2 = await cli(['lab', 'status', 'ha-basic', '--state-dir', stateRoot]);
  t.equal(st2.code, 1);
  t.match(st2.stdout, /not up/);
});

t.test('ha-cluster: four services, standby, analyzer, three clients', async (t) => {
  const { state } = await labUp({ topology: 'ha-cluster', stateRoot, controller: false });
  t.teardown(() => labDown('ha-cluster', { stateRoot }).then(() => {}));
  t.equal(Object.keys(state.hostNs).length, 9);
  const { nsExec } = await import('../../topology/lab/index.js');
  for (const [client, svc, ip] of [
    ['client1', 'svc1', '10.0.0.11'],
    ['client3', 'svc4', '10.0.0.14'],
  ]) {
    const r = await nsExec(state.hostNs[client], 'curl', ['-s', '--max-time', '5', `http://${ip}/who`]);
    t.equal(r.stdout.trim(), svc, `${client} reaches ${svc}`);
  }
  t.equal(
    state.processes.filter((p) => p.role === 'nginx').length,
    5,
    'nginx on four services and the standby',
  );
  await labDown('ha-cluster', { stateRoot });
  t.ok(isEmpty(await findLeftovers(state.prefix, [state.labDir])), 'nothing left');
});
