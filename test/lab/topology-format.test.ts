// The topology format: shipped files load, the JSON schema agrees with the validator on them,
// and bad input gets errors that name the field path or the JSON line/column.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import t from 'tap';
import {
  findHost,
  hostsByRole,
  loadTopology,
  parseTopology,
  protectionPlans,
  resolveTopologyPath,
  TopologyError,
} from '../../topology/index.js';

const base = JSON.parse(readFileSync(resolveTopologyPath('ha-basic'), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: tests mutate arbitrary JSON
const mutate = (fn: (o: any) => void): string => {
  const o = structuredClone(base);
  fn(o);
  return JSON.stringify(o, null, 2);
};
const problemsOf = (text: string): string[] => {
  try {
    parseTopology(text, 'x.json');
  } catch (e) {
    if (e instanceof TopologyError) return e.problems;
    throw e;
  }
  return [];
};

t.test('ha-basic: 1 switch, 2 clients, service, standby', async (t) => {
  const topo = loadTopology('ha-basic');
  t.equal(topo.switches.length, 1);
  t.equal(hostsByRole(topo, 'client').length, 2);
  t.equal(hostsByRole(topo, 'service').length, 1);
  t.equal(hostsByRole(topo, 'standby').length, 1);
  t.same(findHost(topo, 'service').services, [{ type: 'nginx', port: 80 }]);
  const [plan] = protectionPlans(topo);
  t.match(plan, { dpid: '0000000000000001', servicePort: 3, standbyPort: 4 });
});

t.test('ha-cluster: 4 services share one standby, analyzer port, 3 clients', async (t) => {
  const topo = loadTopology('ha-cluster');
  t.equal(hostsByRole(topo, 'service').length, 4);
  t.equal(hostsByRole(topo, 'standby').length, 1);
  t.equal(hostsByRole(topo, 'analyzer').length, 1);
  t.equal(hostsByRole(topo, 'client').length, 3);
  const plans = protectionPlans(topo);
  t.equal(plans.length, 4);
  t.ok(plans.every((p) => p.standbyPort === 5 && p.analyzerPorts[0] === 6));
});

t.test('shipped files satisfy topology/schema.json', async (t) => {
  const require = createRequire(import.meta.url);
  const Ajv2020 = require('ajv/dist/2020.js').default;
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(resolveTopologyPath('schema.json'), 'utf8')));
  for (const name of ['ha-basic', 'ha-cluster']) {
    const ok = validate(JSON.parse(readFileSync(resolveTopologyPath(name), 'utf8')));
    t.ok(ok, `${name}: ${JSON.stringify(validate.errors)}`);
  }
  t.notOk(
    validate(
      JSON.parse(
        mutate((o) => {
          o.hosts[0].role = 'boss';
        }),
      ),
    ),
    'schema rejects a bad role too',
  );
});

t.test('errors name the field path', async (t) => {
  t.same(
    problemsOf(
      mutate((o) => {
        o.hosts[2].ip = '10.0.0.300/24';
      }),
    ),
    ['hosts[2].ip: must be an IPv4 address with prefix length, e.g. 10.0.0.1/24'],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[1].role = 'boss';
      }),
    ),
    [/^hosts\[1\]\.role: must be one of client/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.switches[0].dpid = '12';
      }),
    ),
    [/^switches\[0\]\.dpid: must be 16 hex digits/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[0].port = 3;
      }),
    ),
    [/^hosts\[0\]\.port: port 3 of switch "s1"|hosts\[2\]\.port/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[1].switch = 's9';
      }),
    ),
    [/^hosts\[1\]\.switch: unknown switch "s9"/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[3].protects = ['client1'];
      }),
    ),
    [/protects\[0\]: host "client1" is not a service host/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.agent.host = 'client1';
      }),
    ),
    [/^agent\.host: host "client1" is not a standby host/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[0].colour = 'red';
      }),
    ),
    [/^hosts\[0\]\.colour: unknown field/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        delete o.hosts[0].mac;
      }),
    ),
    [/^hosts\[0\]\.mac: is required/],
  );
  t.match(
    problemsOf(
      mutate((o) => {
        o.hosts[1].mac = '03:00:00:00:00:01';
      }),
    ),
    [/unicast/],
  );
  t.equal(
    problemsOf(
      mutate((o) => {
        o.hosts[0].ip = 'x';
        o.hosts[1].port = 0;
      }),
    ).length,
    2,
    'all problems at once',
  );
});

t.test('JSON syntax errors give line and column', async (t) => {
  const text = '{\n  "name": "x",\n  "switches": [,]\n}';
  const problems = problemsOf(text);
  t.match(problems[0], /^line 3, column 16: JSON syntax error/);
  t.throws(() => parseTopology(text, 'my.json'), /my\.json: invalid topology/);
});

t.test('unknown topology names are a clear error', async (t) => {
  t.throws(() => loadTopology('no-such-topology'), /topology "no-such-topology" not found/);
});

t.test('JSON error offsets for several mistakes', async (t) => {
  const { jsonErrorOffset } = await import('../../topology/format.js');
  t.equal(jsonErrorOffset('{"a": 1,}'), 8, 'trailing comma');
  t.equal(jsonErrorOffset('{"a" 1}'), 5, 'missing colon');
  t.equal(jsonErrorOffset('{"a": tru}'), 6, 'bad literal');
  t.equal(jsonErrorOffset('{"a": 1} x'), 9, 'trailing garbage');
  t.equal(jsonErrorOffset('{"a": "b'), 8, 'unterminated string');
});
