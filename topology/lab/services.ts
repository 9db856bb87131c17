// Configuration files for the services a topology names (nginx for now), kept under the lab dir.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface NginxSite {
  /** directory for the config, pid, logs, temp paths and www (made world-readable: workers run as nobody) */
  dir: string;
  /** addresses "IP:PORT" to listen on */
  listen: string[];
  /** written into the served pages and the X-Served-By header */
  servedBy: string;
}

/** Writes nginx.conf + www/ and returns the argv to run it in the foreground. */
export function writeNginxSite(site: NginxSite): { cmd: string; args: string[]; conf: string } {
  const { dir } = site;
  for (const d of [dir, join(dir, 'www'), join(dir, 'tmp')]) {
    mkdirSync(d, { recursive: true });
    chmodSync(d, 0o755);
  }
  writeFileSync(join(dir, 'www', 'index.html'), `served by ${site.servedBy}\n`);
  // a bigger object for throughput tests
  writeFileSync(join(dir, 'www', '64k.bin'), Buffer.alloc(65536, 0x61));
  const conf = join(dir, 'nginx.conf');
  const t = join(dir, 'tmp');
  writeFileSync(
    conf,
    `# workers as root: lab state dirs may sit under private (0700) temp dirs
user root;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${t}/body;
  proxy_temp_path ${t}/proxy;
  fastcgi_temp_path ${t}/fastcgi;
  uwsgi_temp_path ${t}/uwsgi;
  scgi_temp_path ${t}/scgi;
  keepalive_timeout 600s;
  keepalive_requests 1000000;
  default_type text/plain;
  server {
${site.listen.map((l) => `    listen ${l};`).join('\n')}
    root ${join(dir, 'www')};
    add_header X-Served-By ${site.servedBy} always;
    location = /who { return 200 "${site.servedBy}\\n"; }
  }
}
`,
  );
  return {
    cmd: 'nginx',
    args: ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'],
    conf,
  };
}
