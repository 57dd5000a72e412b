import { splitReports } from '../../core/splits';
import { splitsSection } from '../../console/pages/splits';

const plan = {
  steps: [{ kind: 'split', id: '<script>alert(1)</script>', holdout: 10, variants: [{ name: 'A<b>', weight: 50, steps: [] }, { name: 'B', weight: 50, steps: [] }] }],
} as never;

test('a journey without splits has no split section', () => {
  expect(splitsSection([])).toBe('');
});

test('each split shows its arms, intervals, lift, the verdict, and escapes every name from the YAML', () => {
  const html = splitsSection(
    splitReports(plan, [
      { stepId: '<script>alert(1)</script>', variant: 'A<b>', entered: 1000, converted: 100 },
      { stepId: '<script>alert(1)</script>', variant: 'B', entered: 1000, converted: 130 },
      { stepId: '<script>alert(1)</script>', variant: 'holdout', entered: 1000, converted: 100 },
    ]),
  );
  expect(html).not.toContain('<script>');
  expect(html).not.toContain('A<b>');
  expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  expect(html).toMatch(/B converts better than holdout with 9\d % probability\./);
  expect(html).toContain('13.0 %');
  expect(html).toContain('+30.0 %');
  expect(html).toContain('aria-label="B: 11.1 % to 15.2 %"');
  expect(html).toContain('holdout <span class="muted">(baseline)</span>');
});
