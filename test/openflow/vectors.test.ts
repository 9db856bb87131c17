// Conformance against an independent implementation: every OpenFlow 1.3 vector (Ryu's test
// data) must decode to Ryu's JSON form and re-encode to exactly the same bytes. The folder
// comes from OF_VECTORS_DIR (laid out as packet/ and json/), default ../shared beside the repo.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { decode, encode } from '../../controller/openflow/index.js';
import { parseBigJson } from './helpers/big-json.js';
import { compareWithRyu } from './helpers/ryu-compare.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const dir = process.env.OF_VECTORS_DIR ?? resolve(repo, '../shared/openflow-vectors/of13');

t.ok(existsSync(join(dir, 'packet')), `vector folder ${dir}/packet exists`);
const packets = readdirSync(join(dir, 'packet')).filter((f) => f.endsWith('.packet'));
t.ok(packets.length > 0, 'vectors found');
let compared = 0;

for (const name of packets) {
  t.test(name, async (t) => {
    const bytes = readFileSync(join(dir, 'packet', name));
    const msg = decode(bytes);
    t.same(encode(msg), bytes, 'encode(decode(bytes)) is byte-exact');
    const json = parseBigJson(readFileSync(join(dir, 'json', `${name}.json`), 'utf8'));
    const mismatches = compareWithRyu(json, msg);
    t.same(mismatches, [], 'decodes to the same fields as Ryu');
    compared++;
  });
}

t.test('every vector had its JSON', async (t) => {
  t.equal(compared, packets.length);
});
