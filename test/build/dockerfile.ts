/**
 * Runs a Dockerfile's own instructions on this machine, without a Docker daemon: each stage is a
 * directory standing for its WORKDIR, COPY copies from the build context (or from an earlier
 * stage's directory), RUN runs the shell command there. Only the instructions the project's
 * Dockerfile uses are understood; anything else is an error, so the file cannot outgrow its test.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** One instruction: its keyword, the `--flag=value` options before its arguments, the rest. */
export interface Instruction {
  keyword: string;
  flags: Record<string, string>;
  args: string;
}

/** One `FROM … AS name` stage and its instructions in order. */
export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

const KNOWN = new Set(['FROM', 'WORKDIR', 'ENV', 'COPY', 'RUN', 'USER', 'VOLUME', 'EXPOSE', 'HEALTHCHECK', 'CMD']);

/** Parses a Dockerfile into stages; throws on an instruction or line continuation it does not know. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('\\')) throw new Error(`Dockerfile line ${index + 1}: write each instruction on one line`);
    const instruction = parseInstruction(line);
    if (!KNOWN.has(instruction.keyword)) throw new Error(`Dockerfile line ${index + 1}: ${instruction.keyword} is not understood by the test`);
    if (instruction.keyword === 'FROM') {
      const [base, as, name] = instruction.args.split(/\s+/);
      if (as?.toUpperCase() !== 'AS' || !name) throw new Error(`Dockerfile line ${index + 1}: name every stage (FROM image AS name)`);
      stages.push({ name, base, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile line ${index + 1}: ${instruction.keyword} before FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

function parseInstruction(line: string): Instruction {
  const [keyword, ...rest] = line.split(/\s+/);
  const flags: Record<string, string> = {};
  let args = line.slice(keyword.length).trim();
  for (const word of rest) {
    const flag = /^--([a-z-]+)=(\S+)$/.exec(word);
    if (!flag) break;
    flags[flag[1]] = flag[2];
    args = args.slice(word.length).trim();
  }
  return { keyword: keyword.toUpperCase(), flags, args };
}

/** `ENV a=1 b=2` pairs of a stage, in order (values without spaces or quotes). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    for (const pair of args.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0 || /["']/.test(pair)) throw new Error(`ENV ${args}: write ENV as name=value pairs without quotes`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The exec-form (JSON array) command of CMD or of HEALTHCHECK's CMD. */
export function execForm(stage: Stage, keyword: 'CMD' | 'HEALTHCHECK'): string[] {
  const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  if (!found) throw new Error(`stage ${stage.name} has no ${keyword}`);
  const json = keyword === 'HEALTHCHECK' ? found.args.replace(/^(--\S+\s+)*CMD\s+/, '') : found.args;
  const command: unknown = JSON.parse(json);
  if (!Array.isArray(command) || !command.every((part) => typeof part === 'string')) {
    throw new Error(`${keyword} must be in exec form (a JSON array of strings)`);
  }
  return command;
}

/** Files of the build context: the checkout's files git knows or would add, minus .dockerignore. */
export function contextFiles(root: string): string[] {
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, encoding: 'utf8' });
  const ignored = dockerIgnore(path.join(root, '.dockerignore'));
  return [...new Set(listed.split('\0'))]
    .filter((file) => file !== '' && !ignored(file))
    .filter((file) => fs.statSync(path.join(root, file), { throwIfNoEntry: false })?.isFile());
}

/** A matcher for the simple .dockerignore forms: `dir/`, `name`, `*.ext`; anything else throws. */
function dockerIgnore(file: string): (relative: string) => boolean {
  const patterns = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const tests = patterns.map((pattern): ((relative: string) => boolean) => {
    if (/^\*\.[\w.]+$/.test(pattern)) return (relative) => relative.endsWith(pattern.slice(1));
    if (/^[\w.-]+(\/[\w.-]+)*\/?$/.test(pattern)) {
      const prefix = pattern.replace(/\/$/, '');
      return (relative) => relative === prefix || relative.startsWith(`${prefix}/`);
    }
    throw new Error(`.dockerignore pattern ${pattern} is not understood by the test`);
  });
  return (relative) => tests.some((matches) => matches(relative));
}

/** Where things are while running the stages: the context and one directory per stage. */
export interface Layout {
  contextDir: string;
  stageDir(name: string): string;
  /** Environment of every RUN (PATH, HOME and the like), before the stage's ENV. */
  baseEnv: NodeJS.ProcessEnv;
}

/** The stage's WORKDIR, the absolute path its directory stands for. */
export function workdirOf(stage: Stage): string {
  const workdir = stage.instructions.find((i) => i.keyword === 'WORKDIR')?.args;
  if (!workdir || !path.posix.isAbsolute(workdir)) throw new Error(`stage ${stage.name}: set an absolute WORKDIR first`);
  return workdir;
}

/** Runs one stage's COPY and RUN instructions; WORKDIR must be the same absolute path throughout. */
export function runStage(stage: Stage, layout: Layout, log: (line: string) => void): void {
  const dir = layout.stageDir(stage.name);
  fs.mkdirSync(dir, { recursive: true });
  const workdir = workdirOf(stage);
  for (const [index, instruction] of stage.instructions.entries()) {
    if (instruction.keyword === 'WORKDIR' && instruction.args !== workdir) throw new Error(`stage ${stage.name}: one WORKDIR per stage`);
    if (instruction.keyword === 'COPY') copy(instruction, dir, layout, workdir);
    if (instruction.keyword === 'RUN') {
      log(`${stage.name}: RUN ${instruction.args}`);
      execFileSync('sh', ['-c', instruction.args], {
        cwd: dir,
        // ENV applies to the instructions after it.
        env: { ...layout.baseEnv, ...inStage(stageEnv({ ...stage, instructions: stage.instructions.slice(0, index) }), workdir, dir) },
        stdio: ['ignore', 'pipe', 'pipe'],
        maxBuffer: 64 * 1024 * 1024,
      });
    }
  }
}

/** Values pointing into the image's WORKDIR point into the stage's directory instead. */
export function inStage(env: Record<string, string>, workdir: string, dir: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).map(([name, value]) => [name, value === workdir || value.startsWith(`${workdir}/`) ? dir + value.slice(workdir.length) : value]),
  );
}

function copy(instruction: Instruction, dir: string, layout: Layout, workdir: string): void {
  const parts = instruction.args.split(/\s+/);
  const dest = parts.pop();
  if (!dest || parts.length === 0) throw new Error(`COPY ${instruction.args}: needs sources and a destination`);
  const from = instruction.flags.from;
  const sourceRoot = from ? layout.stageDir(from) : layout.contextDir;
  const destPath = path.resolve(dir, dest.startsWith('/') ? path.posix.relative(workdir, dest) : dest);
  for (const source of parts) {
    const relative = from ? path.posix.relative(workdir, source) : source;
    if (relative.startsWith('..')) throw new Error(`COPY ${instruction.args}: ${source} is outside the stage's WORKDIR`);
    const sourcePath = path.resolve(sourceRoot, relative);
    const isDir = fs.statSync(sourcePath).isDirectory();
    // Docker copies a directory's contents; a file goes into a destination that ends in '/'.
    const target = !isDir && (dest.endsWith('/') || parts.length > 1) ? path.join(destPath, path.basename(source)) : destPath;
    fs.mkdirSync(isDir ? target : path.dirname(target), { recursive: true });
    fs.cpSync(sourcePath, target, { recursive: true });
  }
}
