/** Regenerates .env.example and the README's configuration table from worker/config.ts (`npm run config-docs`). */
import path from 'node:path';
import { writeConfigDocs } from '../worker/config-docs';

for (const file of writeConfigDocs(path.resolve(__dirname, '..'))) {
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
