import fs from 'node:fs';
import path from 'node:path';
import { audienceJsonSchema, journeyJsonSchema, templateJsonSchema } from './schema';
import { journeyTestJsonSchema } from './test-schema';

/** The committed JSON Schema files, by name, as they should read byte for byte. */
export function renderSchemaFiles(): Record<string, string> {
  return {
    'audience.schema.json': `${JSON.stringify(audienceJsonSchema(), null, 2)}\n`,
    'journey.schema.json': `${JSON.stringify(journeyJsonSchema(), null, 2)}\n`,
    'journey-test.schema.json': `${JSON.stringify(journeyTestJsonSchema(), null, 2)}\n`,
    'template.schema.json': `${JSON.stringify(templateJsonSchema(), null, 2)}\n`,
  };
}

/** Writes the schema files into `dir` (definitions/schema). */
export function writeSchemaFiles(dir: string): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return Object.entries(renderSchemaFiles()).map(([name, text]) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  });
}

/** Names of schema files in `dir` that are missing or differ from the zod schemas; empty when current. */
export function staleSchemaFiles(dir: string): string[] {
  return Object.entries(renderSchemaFiles())
    .filter(([name, text]) => {
      const file = path.join(dir, name);
      return !fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text;
    })
    .map(([name]) => name);
}
