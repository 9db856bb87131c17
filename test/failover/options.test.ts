import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { failoverSettings } from '../../standby-agent/failover/options.js';
import { LOCAL_POOL_DEFAULTS, localPoolSize, poolResizeNeeded } from '../../standby-agent/failover/resume.js';

const base = {
  controller: 'unix:/run/c.sock',
  dpid: '1',
  'service-port': '2',
  'standby-port': '3',
  'local-service': '127.0.0.1:80',
};

t.test('flags -> settings', async (t) => {
  t.equal(failoverSettings({}), undefined, 'no --controller: failover off');
  t.throws(() => failoverSettings({ dpid: '1' }), /--dpid needs --controller/);
  const s = failoverSettings(base, ['10.0.0.1:80'], {});
  t.match(s, {
    dpid: '0000000000000001',
    servicePort: 2,
    standbyPort: 3,
    serviceIp: '10.0.0.1',
    localService: { host: '127.0.0.1', port: 80 },
    heartbeat: {
      target: { kind: 'tcp', host: '10.0.0.1', port: 80 },
      intervalMs: 100,
      timeoutMs: 80,
      misses: 2,
    },
    autoFailover: true,
    restoreEnabled: true,
    mirror: true,
    localPool: 'auto',
    localPoolMaxAgeMs: 15_000,
  });
  t.match(failoverSettings({ ...base, 'local-pool': '0' }, ['10.0.0.1:80']), { localPool: 0 });
  t.match(
    failoverSettings({ ...base, 'local-pool': '300', 'local-pool-max-age-ms': '5000' }, ['10.0.0.1:80']),
    { localPool: 300, localPoolMaxAgeMs: 5000 },
  );
  const h = failoverSettings(
    { ...base, heartbeat: 'http://10.0.0.1/health', 'heartbeat-misses': '3', 'no-restore': true },
    ['10.0.0.1:80'],
  );
  t.match(h, { heartbeat: { target: { kind: 'http' }, misses: 3 }, restoreEnabled: false });
  t.equal(failoverSettings({ ...base, 'no-heartbeat': true }, ['10.0.0.1:80'])?.heartbeat, false);
});

t.test('bad flags get clear errors', async (t) => {
  t.throws(
    () => failoverSettings({ ...base, controller: 'ftp://x' }, ['10.0.0.1:80']),
    /--controller must be/,
  );
  t.throws(() => failoverSettings({ ...base, dpid: 'xyz' }, ['10.0.0.1:80']), /--dpid/);
  t.throws(() => failoverSettings({ ...base, 'standby-port': '2' }, ['10.0.0.1:80']), /must differ/);
  t.throws(
    () => failoverSettings({ ...base, 'service-port': '0' }, ['10.0.0.1:80']),
    /--service-port must be/,
  );
  t.throws(() => failoverSettings(base, []), /service address/);
  t.throws(
    () => failoverSettings({ ...base, 'local-service': undefined }, ['10.0.0.1:80']),
    /--local-service/,
  );
  t.throws(
    () => failoverSettings({ ...base, heartbeat: 'x', 'no-heartbeat': true }, ['10.0.0.1:80']),
    /contradict/,
  );
  t.throws(() => failoverSettings({ ...base, 'heartbeat-interval-ms': '-5' }, ['10.0.0.1:80']), /interval/);
  t.throws(
    () => failoverSettings({ ...base, 'local-pool': 'lots' }, ['10.0.0.1:80']),
    /--local-pool must be/,
  );
  t.throws(
    () => failoverSettings({ ...base, 'local-pool-max-age-ms': '500' }, ['10.0.0.1:80']),
    /--local-pool-max-age-ms must be at least 1000/,
  );
});

t.test('ports and addresses from a topology file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nonstop-opt-'));
  const file = join(dir, 'topo.json');
  writeFileSync(
    file,
    JSON.stringify({
      name: 't',
      switches: [{ name: 's1', dpid: '00000000000000aa', bridge: 'br0' }],
      hosts: [
        { name: 'svc', role: 'service', ip: '10.0.0.10/24', mac: '02:00:00:00:00:10', switch: 's1', port: 3 },
        {
          name: 'stb',
          role: 'standby',
          ip: '10.0.0.20/24',
          mac: '02:00:00:00:00:20',
          switch: 's1',
          port: 4,
          protects: ['svc'],
        },
      ],
    }),
  );
  const s = failoverSettings({
    controller: 'http://127.0.0.1:8080',
    topology: file,
    'local-service': '127.0.0.1:80',
  });
  t.match(s, { dpid: '00000000000000aa', servicePort: 3, standbyPort: 4, serviceIp: '10.0.0.10' });
});

t.test('the pool of idle local connections follows the tracked connections', async (t) => {
  t.equal(localPoolSize('auto', 0), 0, 'nothing tracked: none');
  t.equal(localPoolSize('auto', 1000), 1100, '10% more than tracked');
  t.equal(localPoolSize('auto', 100_000), LOCAL_POOL_DEFAULTS.autoMax, 'capped');
  t.equal(localPoolSize(250, 1000), 250, 'a fixed size is kept');
  t.equal(localPoolSize(0, 1000), 0, '0: no pool');
  t.ok(poolResizeNeeded(0, 22), 'from none');
  t.ok(poolResizeNeeded(22, 0), 'to none');
  t.notOk(poolResizeNeeded(1100, 1103), 'small changes are not worth a call');
  t.ok(poolResizeNeeded(1100, 1200), 'larger ones are');
});
