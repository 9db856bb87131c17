// Where the ops CLI finds its endpoints and token: flags, then environment, then
// ~/.config/nonstop/config.json ({"controllerUrl", "agentUrl", "token"}), then defaults.
// Empty environment variables count as unset.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface OpsConfig {
  controllerUrl: string;
  agentUrl: string;
  token?: string;
}

export const DEFAULT_CONTROLLER_URL = 'http://127.0.0.1:8080';
export const DEFAULT_AGENT_URL = 'http://127.0.0.1:8081';

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NONSTOP_CONFIG) return env.NONSTOP_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'nonstop', 'config.json');
}

function readConfigFile(path: string): Partial<OpsConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== 'object') throw new Error(`${path}: must be a JSON object`);
  const out: Partial<OpsConfig> = {};
  for (const k of ['controllerUrl', 'agentUrl', 'token'] as const) {
    const v = (raw as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new Error(`${path}: "${k}" must be a string`);
    out[k] = v;
  }
  return out;
}

export function resolveOpsConfig(
  flags: { controller?: string; agent?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): OpsConfig {
  const file = readConfigFile(configFilePath(env));
  return {
    controllerUrl:
      flags.controller ??
      (env.NONSTOP_CONTROLLER_URL || undefined) ??
      file.controllerUrl ??
      DEFAULT_CONTROLLER_URL,
    agentUrl: flags.agent ?? (env.NONSTOP_AGENT_URL || undefined) ?? file.agentUrl ?? DEFAULT_AGENT_URL,
    token: flags.token ?? (env.NONSTOP_API_TOKEN || undefined) ?? file.token,
  };
}
