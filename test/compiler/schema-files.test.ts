import path from 'node:path';
import { staleSchemaFiles } from '../../compiler/schema-files';

describe('generated JSON schemas', () => {
  test('definitions/schema matches the compiler\'s zod schemas', () => {
    const stale = staleSchemaFiles(path.join(__dirname, '..', '..', 'definitions', 'schema'));
    if (stale.length > 0) {
      throw new Error(`definitions/schema is out of date (${stale.join(', ')}); run \`npm run schemas\` and commit the result`);
    }
  });
});
