/**
 * What the production image promises without running it: a build stage apart from the runtime,
 * a runtime installed without dev packages, a non-root user, reachable on its exposed port, and a
 * health check on /healthz. And the reader the image test relies on refuses what it cannot run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execForm, parseDockerfile, stageEnv } from './dockerfile';

const stages = parseDockerfile(fs.readFileSync(path.resolve(__dirname, '..', '..', 'Dockerfile'), 'utf8'));
const runtime = stages[stages.length - 1];
const lines = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

test('the runtime stage installs production packages only and takes the compiled code from the build stage', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  expect(lines('RUN').some((run) => /\bnpm ci --omit=dev\b/.test(run))).toBe(true);
  expect(lines('RUN').some((run) => /npm run build/.test(run))).toBe(false);
  expect(runtime.instructions).toContainEqual({ keyword: 'COPY', flags: { from: stages[0].name }, args: '/app/dist ./dist' });
});

test('the runtime runs as a non-root user, listens on every interface on the port it exposes, and checks /healthz with node', () => {
  const user = lines('USER').at(-1);
  expect(user).toBeDefined();
  expect(user).not.toMatch(/^(root|0)(:|$)/);
  const env = stageEnv(runtime);
  expect(env.HOST).toBe('0.0.0.0');
  expect(lines('EXPOSE')).toEqual([env.PORT]);
  const check = execForm(runtime, 'HEALTHCHECK');
  expect(check[0]).toBe('node');
  expect(check.join(' ')).toContain('/healthz');
  expect(execForm(runtime, 'CMD')).toEqual(['node', 'dist/bin/unbroken.js', 'start']);
});

test('the image test refuses instructions and line forms it would not run', () => {
  expect(() => parseDockerfile('FROM node:20 AS a\nARG X=1\n')).toThrow('ARG is not understood by the test');
  expect(() => parseDockerfile('FROM node:20\n')).toThrow('name every stage');
  expect(() => parseDockerfile('FROM node:20 AS a\nRUN npm ci \\\n  --omit=dev\n')).toThrow('one line');
});
