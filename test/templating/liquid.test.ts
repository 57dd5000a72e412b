import { hasLiquidMarkup, LIQUID_LIMITS, liquidEngines, liquidParseProblem } from '../../templating/liquid';

describe('liquidParseProblem', () => {
  test('accepts valid Liquid', () => {
    expect(liquidParseProblem('{{ profile.first_name | default: "x" }}')).toBeUndefined();
  });

  test('returns the parser message for a syntax error', () => {
    expect(liquidParseProblem('{% if x %}unclosed')).toEqual({ kind: 'syntax', message: expect.stringMatching(/not closed/) });
  });

  test('reports Liquid longer than the parse limit with its length and the limit', () => {
    const source = `{{ a }}${'x'.repeat(LIQUID_LIMITS.parseLimit)}`;
    expect(liquidParseProblem(source)).toEqual({ kind: 'too_long', length: source.length, limit: LIQUID_LIMITS.parseLimit });
  });

  test('accepts Liquid of exactly the parse limit', () => {
    expect(liquidParseProblem(`{{ a }}${'x'.repeat(LIQUID_LIMITS.parseLimit - 7)}`)).toBeUndefined();
  });

  test('accepts plain text of any length, which is never parsed', () => {
    const text = 'x'.repeat(LIQUID_LIMITS.parseLimit + 1);
    expect(hasLiquidMarkup(text)).toBe(false);
    expect(liquidParseProblem(text)).toBeUndefined();
  });
});

describe('liquidEngines', () => {
  test('escape output in html mode only', async () => {
    const scope = { v: '<b>' };
    expect(await liquidEngines.html.parseAndRender('{{ v }}', scope)).toBe('&lt;b&gt;');
    expect(await liquidEngines.text.parseAndRender('{{ v }}', scope)).toBe('<b>');
  });

  test('refuse a missing variable in both modes', async () => {
    for (const engine of Object.values(liquidEngines)) await expect(engine.parseAndRender('{{ nope }}', {})).rejects.toThrow(/undefined variable/);
  });
});
