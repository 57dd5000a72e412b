import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openProfileStore, ProfileStoreError } from '../../profiles';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unbroken-open-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('openProfileStore', () => {
  it('opens profiles.sqlite in the data directory when no URL is given', async () => {
    const store = await openProfileStore(undefined, path.join(dir, 'data'));
    await store.identify('c1', {});
    await store.close();
    expect(fs.existsSync(path.join(dir, 'data', 'profiles.sqlite'))).toBe(true);
  });

  it('opens an in-memory store for sqlite::memory: and :memory:', async () => {
    for (const url of ['sqlite::memory:', ':memory:']) {
      const store = await openProfileStore(url, dir);
      await store.identify('c1', { plan: 'pro' });
      expect((await store.getProfile('c1'))?.plan).toBe('pro');
      await store.close();
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('opens the file a sqlite: URL names', async () => {
    const file = path.join(dir, 'custom', 'p.db');
    for (const url of [`sqlite:${file}`, `sqlite://${file}`]) {
      const store = await openProfileStore(url, dir);
      await store.close();
    }
    expect(fs.existsSync(file)).toBe(true);
  });

  it('reports an unreachable PostgreSQL plainly, without echoing the password', async () => {
    const error = await openProfileStore('postgres://app:s3cret@127.0.0.1:1/unbroken', dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ProfileStoreError);
    expect((error as ProfileStoreError).code).toBe('unreachable');
    expect(JSON.stringify({ m: (error as Error).message, d: (error as ProfileStoreError).details })).not.toMatch(/s3cret/);
  });

  it('rejects a URL it does not understand and lists what it accepts', async () => {
    await expect(openProfileStore('mysql://x', dir)).rejects.toThrow(/use postgres:\/\/…, sqlite:<path>, sqlite::memory:/);
  });
});
