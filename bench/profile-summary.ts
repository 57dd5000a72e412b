/**
 * `tsx bench/profile-summary.ts <file.cpuprofile> [top]`: self time of a `node --cpu-prof` profile
 * by area (our folders, each node_modules package, Node internals, idle/GC) and the hottest
 * functions — enough to tell whether a slow path burns CPU in our code or waits on something else.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const root = path.resolve(__dirname, '..');

function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('node_modules/');
  if (nm !== -1) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (file.startsWith(root)) return `ours:${path.relative(root, file).split('/')[0]}`;
  return file.startsWith('node:') ? 'node internals' : 'other';
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const key = `${functionName || '(anonymous)'} ${url ? `${path.relative(root, url.replace(/^file:\/\//, ''))}:${lineNumber + 1}` : ''}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  process.stdout.write(`profile: ${(total / 1e6).toFixed(1)} s sampled\n\nself time by area:\n`);
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, 15)) process.stdout.write(`  ${pct(us)}  ${a}\n`);
  process.stdout.write('\nhottest functions (self time):\n');
  for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, Number(topArg ?? 25))) process.stdout.write(`  ${pct(us)}  ${f}\n`);
}

main();
