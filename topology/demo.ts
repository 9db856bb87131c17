export const DEMO_HELP = 'usage: nonstop demo';
export async function runDemo(_values: Record<string, string | boolean | undefined>): Promise<number> {
  return 1;
}
