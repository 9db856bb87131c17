// Live capture hands every frame in one reused buffer and the pipeline no longer copies it:
// whatever the tracker and analyzers keep must be their own copy. Each recorded capture is fed
// twice, once from the file and once through a single buffer scribbled over after every frame,
// and the table (states, exchanges, verdicts, replay bytes) must come out the same.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { forEachPcapRecord } from '../../standby-agent/capture/pcap-file.js';
import { Pipeline } from '../../standby-agent/pipeline.js';
import { ConnectionTable } from '../../standby-agent/tracking/connection-table.js';
import { describeConnection } from '../../standby-agent/tracking/describe.js';

const fixture = (dir: string, name: string) =>
  new URL(`../fixtures/${dir}/${name}`, import.meta.url).pathname;

function snapshot(path: string, port: number, reuse: boolean) {
  const shared = Buffer.alloc(65536);
  const file = readFileSync(path);
  // watch whichever address serves `port` in the capture: the first IPv4 frame to it tells
  let serviceIp: string | undefined;
  forEachPcapRecord(file, (buf, start, end) => {
    if (serviceIp) return;
    const f = buf.subarray(start, end);
    if (f.length >= 54 && f.readUInt16BE(12) === 0x0800 && f.readUInt16BE(36) === port) {
      serviceIp = `${f[30]}.${f[31]}.${f[32]}.${f[33]}`;
    }
  });
  const watched = new ConnectionTable({ services: [{ ip: serviceIp ?? '', port }], maxEntries: 1000 });
  const p = new Pipeline(watched, (ts) => ts);
  // Connections close by the end of a recording (and leave the table), so the table is
  // compared after every frame, not just at the end.
  const states: ReturnType<typeof tableState>[] = [];
  forEachPcapRecord(file, (buf, start, end, tsMs) => {
    if (!reuse) p.onBytes(Buffer.from(buf.subarray(start, end)), 0, end - start, tsMs);
    else {
      buf.copy(shared, 0, start, end);
      p.onBytes(shared, 0, end - start, tsMs);
      shared.fill(0xa5); // the next capture overwrites the buffer
    }
    states.push(tableState(watched));
  });
  return states;
}

function tableState(table: ConnectionTable) {
  return [...table.entries()].map((c) => {
    const view = c.hasAnalyzer ? c.analyzer.view() : undefined;
    return {
      summary: describeConnection(c, 0),
      exchanges: view?.exchanges.map((e) => `${e.request.summary} -> ${e.reply?.summary ?? '-'}`),
      replay: view?.pendingRequestBytes()?.toString('hex'),
      unacked: `${c.unackedSeq}:${c.unacked?.copyFrom().toString('hex') ?? ''}`,
      held: [c.client.held, c.server.held].map((h) => h?.map((x) => x.data.toString('hex'))),
    };
  });
}

const captures: [string, string, number][] = [
  ['recorded', 'http-curl.pcap', 80],
  ['recorded', 'http-pipeline.pcap', 80],
  ['recorded', 'http-wrk.pcap', 80],
  ['recorded', 'nfs3-libnfs.pcap', 2049],
  ['recorded', 'smb2-smbclient.pcap', 445],
  ['crafted', 'handshake-http.pcap', 80],
  ['crafted', 'reordering.pcap', 80],
  ['crafted', 'gap.pcap', 80],
  ['crafted', 'retransmission.pcap', 80],
];

for (const [dir, name, port] of captures) {
  t.test(`${name}: same table from a reused, scribbled-over buffer`, async (t) => {
    const fresh = snapshot(fixture(dir, name), port, false);
    const reused = snapshot(fixture(dir, name), port, true);
    const all = fresh.flat();
    t.ok(all.length > 0, `connections tracked over ${fresh.length} frames`);
    t.ok(
      all.some((c) => (c.exchanges?.length ?? 0) > 0 || !c.unacked.endsWith(':') || c.held.some((h) => h)),
      'the capture has kept bytes or exchanges to compare',
    );
    t.same(reused, fresh);
  });
}
