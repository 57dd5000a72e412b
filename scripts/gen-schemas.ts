/** Regenerates definitions/schema/*.json from the compiler's zod schemas (`npm run schemas`). */
import path from 'node:path';
import { writeSchemaFiles } from '../compiler/schema-files';

for (const file of writeSchemaFiles(path.resolve(__dirname, '..', 'definitions', 'schema'))) {
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
