#!/usr/bin/env node
// `nonstop`: the ops CLI (controller and agent REST APIs), the lab runner and the demo.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { labCommand, LAB_HELP } from './lab/lab-command.js';
import { ApiClient, ApiError } from './ops/api-client.js';
import { OPS_COMMANDS, UsageError } from './ops/commands.js';
import { resolveOpsConfig } from './ops/config.js';
import { readLabState } from './lab/runner.js';

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  controller: { type: 'string' },
  agent: { type: 'string' },
  token: { type: 'string' },
  lab: { type: 'string' },
  'duration-ms': { type: 'string' },
  'src-ip': { type: 'string' },
  'src-port': { type: 'string' },
  'dst-ip': { type: 'string' },
  'dst-port': { type: 'string' },
  seq: { type: 'string' },
  'out-port': { type: 'string' },
  force: { type: 'boolean' },
  // lab / demo
  'state-dir': { type: 'string' },
  'no-controller': { type: 'boolean' },
  'no-agent': { type: 'boolean' },
  'no-kill': { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  keep: { type: 'boolean' },
  connections: { type: 'string' },
  'interval-ms': { type: 'string' },
  'before-ms': { type: 'string' },
  'after-ms': { type: 'string' },
} as const;

const GLOBAL_HELP = `nonstop: operate Nonstop (OpenFlow controller + standby agent), run labs and the demo

usage: nonstop COMMAND [ARGS] [--json] [--controller URL] [--agent URL] [--token T] [--lab NAME]

commands:
${OPS_COMMANDS.map((c) => `  ${c.name.padEnd(14)} ${c.summary}`).join('\n')}
  lab            build and run a topology on real OVS (nonstop lab --help)
  demo           bring up ha-basic, fail the service node, report what survived

options:
  --json               machine-readable output
  --controller URL     controller API: http://HOST:PORT or unix:/path
                       (env NONSTOP_CONTROLLER_URL, default http://127.0.0.1:8080)
  --agent URL          agent API (env NONSTOP_AGENT_URL, default http://127.0.0.1:8081)
  --token TOKEN        bearer token (env NONSTOP_API_TOKEN, or "token" in ~/.config/nonstop/config.json)
  --lab NAME           use the endpoints and token of a lab started by \`nonstop lab up\`
  -h, --help           help (also after any command)

config file ~/.config/nonstop/config.json (or $NONSTOP_CONFIG):
  {"controllerUrl": "http://127.0.0.1:8080", "agentUrl": "unix:/run/nonstop/agent.sock", "token": "..."}
`;

/**
 * `lab exec [NAME] HOST [--] CMD ARGS...`: the command's own arguments (dashes included) must not
 * reach the option parser. With `--` the split is explicit; without it, options right after
 * `exec` are ours, then NAME (when a lab of that name is up) and HOST, and the rest is CMD.
 */
export function splitLabExec(argv: string[]): [string[], string[]] {
  const labAt = argv.indexOf('lab');
  const execAt = labAt < 0 ? -1 : argv.indexOf('exec', labAt + 1);
  if (execAt < 0) return [argv, []];
  const dash = argv.indexOf('--', execAt);
  if (dash >= 0) return [argv.slice(0, dash), argv.slice(dash + 1)];
  const head = argv.slice(0, execAt + 1);
  let i = execAt + 1;
  const positionals: string[] = [];
  let stateDir: string | undefined;
  const sd = argv.indexOf('--state-dir');
  if (sd >= 0 && sd < execAt) stateDir = argv[sd + 1];
  while (i < argv.length && positionals.length < 2) {
    const a = argv[i];
    if (a === '--state-dir') {
      stateDir = argv[i + 1];
      head.push(a, argv[i + 1]);
      i += 2;
    } else if (a.startsWith('-')) {
      head.push(a);
      i++;
    } else {
      // the first positional is a lab name only if such a lab is up; else it is the host
      if (positionals.length === 0 && !readLabState(a, stateDir)) {
        positionals.push('ha-basic', a);
        head.push('ha-basic', a);
      } else {
        positionals.push(a);
        head.push(a);
      }
      i++;
    }
  }
  return [head, argv.slice(i)];
}

export async function main(argv: string[]): Promise<number> {
  let passthrough: string[] = [];
  [argv, passthrough] = splitLabExec(argv);
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`nonstop: ${(e as Error).message}\n(try nonstop --help)\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [cmd, ...rest] = positionals;
  const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);

  if (!cmd || cmd === 'help') {
    out(GLOBAL_HELP);
    return cmd || values.help ? 0 : 2;
  }
  try {
    if (cmd === 'lab') {
      if (values.help && !rest.length) {
        out(LAB_HELP);
        return 0;
      }
      return await labCommand(rest, passthrough, values, out);
    }
    if (cmd === 'demo') {
      const { runDemo, DEMO_HELP } = await import('./demo.js');
      if (values.help) {
        out(DEMO_HELP);
        return 0;
      }
      return await runDemo(values);
    }
    const command = OPS_COMMANDS.find((c) => c.name === cmd);
    if (!command) {
      process.stderr.write(`nonstop: unknown command "${cmd}"\n(try nonstop --help)\n`);
      return 2;
    }
    if (values.help) {
      out(`usage: ${command.usage}\n\n${command.summary}\n`);
      return 0;
    }
    let flags = { controller: values.controller, agent: values.agent, token: values.token };
    const labName = values.lab ?? process.env.NONSTOP_LAB;
    if (labName) {
      const state = readLabState(labName, values['state-dir']);
      if (!state) throw new UsageError(`lab ${labName} is not up (start it with: nonstop lab up ${labName})`);
      flags = {
        controller: flags.controller ?? state.controllerUrl,
        agent: flags.agent ?? state.agentUrl,
        token: flags.token ?? state.token,
      };
    }
    const cfg = resolveOpsConfig(flags);
    const result = await command.run({
      positionals: rest,
      options: values,
      controller: new ApiClient({ name: 'controller', url: cfg.controllerUrl, token: cfg.token }),
      agent: new ApiClient({ name: 'agent', url: cfg.agentUrl, token: cfg.token, timeoutMs: 60_000 }),
    });
    out(values.json ? JSON.stringify(result.json ?? null, null, 2) : result.text);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`nonstop: ${e.message}\n`);
      return 2;
    }
    if (values.json && e instanceof ApiError) {
      process.stdout.write(
        `${JSON.stringify({ error: e.kind, status: e.status, message: e.message, body: e.body }, null, 2)}\n`,
      );
    }
    process.stderr.write(`nonstop: ${(e as Error).message}\n`);
    return 1;
  }
}

// run when executed (also through a symlinked bin such as node_modules/.bin/nonstop), not when imported
function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`nonstop: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
