import { migrations } from '../../../profiles/sqlite';
import { postgresMigrations } from '../../../profiles/postgres';

describe('the schema history', () => {
  it('has the same versions and names for both databases', () => {
    expect(postgresMigrations.map((m) => [m.version, m.name])).toEqual(migrations.map((m) => [m.version, m.name]));
  });

  // Databases in the field have applied these exact scripts: a shipped migration is never
  // edited, so a change here must be a new version instead (update the snapshot only to add one).
  it('renders each shipped version unchanged', () => {
    expect({ sqlite: migrations, postgres: postgresMigrations }).toMatchSnapshot();
  });
});
