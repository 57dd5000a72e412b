import { renderContext, renderTemplate, renderValues, TemplateRenderError } from '../../activities/render';
import { checkLiquid } from '../../compiler/liquid';
import { LIQUID_LIMITS } from '../../templating/liquid';
import { journeyContext } from './helpers';

const ctx = renderContext(
  { id: 'c1', tags: ['vip'], first_name: 'Ada', bio: '<script>alert(1)</script> & "friends"' },
  journeyContext(),
  '2024-05-01T11:00:00.000Z',
  { coupon: 'SAVE10' },
);
const where = { template: 'cart-reminder', part: 'subject' };

describe('renderTemplate', () => {
  it('reads profile, trigger, journey, data and now', async () => {
    const out = await renderTemplate(
      '{{ profile.first_name }} {{ trigger.properties.total }} {{ journey.id }}@{{ journey.version }} {{ journey.entered_at }} {{ data.coupon }} {{ now }}',
      ctx,
      'text',
      where,
    );
    expect(out).toBe('Ada 42 abandoned-cart@v1abc 2024-05-01T10:00:00.000Z SAVE10 2024-05-01T11:00:00.000Z');
  });

  it('fails on a missing variable with a message naming it and how to fix it', async () => {
    const error = await renderTemplate('Hi {{ profile.last_name }},', ctx, 'text', where).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateRenderError);
    expect((error as TemplateRenderError).variable).toBe('profile.last_name');
    expect((error as Error).message).toBe(
      'missing variable "profile.last_name" in subject of template cart-reminder (add | default: "..." right after the name, or set the trait)',
    );
  });

  it('uses the default filter when the variable is missing, and the value when present', async () => {
    expect(await renderTemplate('Hi {{ profile.last_name | default: "there" }}', ctx, 'text', where)).toBe('Hi there');
    expect(await renderTemplate("Hi {{ profile.first_name | default: 'there' }}", ctx, 'text', where)).toBe('Hi Ada');
    expect(await renderTemplate('{{ trigger.properties.nope.deeper | default: "-" }}', ctx, 'text', where)).toBe('-');
  });

  it('forgives a missing variable only when default is the first filter, as the docs say', async () => {
    expect(await renderTemplate('{{ profile.nick | default: "there" | capitalize }}', ctx, 'text', where)).toBe('There');
    await expect(renderTemplate('{{ profile.nick | capitalize | default: "x" }}', ctx, 'text', where)).rejects.toThrow(
      /missing variable "profile.nick"/,
    );
  });

  it('treats a missing variable in if/unless as false', async () => {
    const source = '{% if profile.missing %}yes{% else %}no{% endif %}{% unless profile.missing %}!{% endunless %}';
    expect(await renderTemplate(source, ctx, 'text', where)).toBe('no!');
  });

  it('names a missing data field with the data-specific hint', async () => {
    await expect(renderTemplate('{{ data.discount }}', ctx, 'text', where)).rejects.toThrow(
      /missing variable "data.discount" .*add it to the send step's data/,
    );
  });

  it('escapes values in html mode but not in text mode', async () => {
    expect(await renderTemplate('<p>{{ profile.bio }}</p>', ctx, 'html', where)).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &#34;friends&#34;</p>',
    );
    expect(await renderTemplate('{{ profile.bio }}', ctx, 'text', where)).toBe('<script>alert(1)</script> & "friends"');
  });

  it('cannot read files through include or render', async () => {
    await expect(renderTemplate("{% include '/etc/passwd' %}", ctx, 'text', where)).rejects.toThrow(TemplateRenderError);
    await expect(renderTemplate("{% render 'package.json' %}", ctx, 'text', where)).rejects.toThrow(TemplateRenderError);
  });

  it('stops a runaway loop at the render limit', async () => {
    const started = Date.now();
    await expect(
      renderTemplate('{% for i in (1..100000000) %}{{ i }}{% endfor %}', ctx, 'text', where),
    ).rejects.toThrow(/cannot render subject of template cart-reminder/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('returns a plain literal unchanged', async () => {
    expect(await renderTemplate('Hello <b>', ctx, 'html', where)).toBe('Hello <b>');
  });
});

describe('renderValues', () => {
  it('renders every string in nested objects and lists and keeps other values', async () => {
    const out = await renderValues(
      { a: '{{ now }}', b: 3, c: ['{{ profile.first_name }}', true], d: { e: '{{ data.coupon }}' } },
      ctx,
      where,
    );
    expect(out).toEqual({ a: '2024-05-01T11:00:00.000Z', b: 3, c: ['Ada', true], d: { e: 'SAVE10' } });
  });

  it('reports the path of the value that failed', async () => {
    await expect(renderValues({ d: { e: '{{ profile.nope }}' } }, ctx, { template: 't', part: 'data' })).rejects.toThrow(
      /in data\.d\.e of template t/,
    );
  });
});

describe('what the compiler accepts, the sender renders', () => {
  const long = 'x'.repeat(LIQUID_LIMITS.parseLimit);
  const sources = [
    '{{ profile.first_name | default: "x" }}',
    '{% if profile.vip %}VIP{% endif %}',
    '{% if x %}unclosed',
    'Hello {{ profile.first_name',
    '{{ profile.first_name | }}',
    '{% nosuchtag %}',
    `{{ profile.first_name }}${long}`,
    `${long}x`,
  ];

  test.each(sources.map((s) => [s.length > 60 ? `${s.slice(0, 40)}… (${s.length} characters)` : s, s]))('compiler and sender agree on %s', async (_label, source) => {
    const problems: string[] = [];
    const validates = checkLiquid(source, ['text'], (code) => problems.push(code));
    for (const mode of ['text', 'html'] as const) {
      // A render error other than a syntax or limit error (e.g. a missing variable) is not the compiler's to catch.
      const parseError = await renderTemplate(source, ctx, mode, where).then(
        () => undefined,
        (err: TemplateRenderError) => (err.variable === undefined ? err.message : undefined),
      );
      expect({ mode, validates, parseError: parseError !== undefined }).toEqual({ mode, validates, parseError: !validates });
    }
    expect(problems.length).toBe(validates ? 0 : 1);
  });

  test('refuses Liquid over the parse limit at send time, as the compiler says it will', async () => {
    await expect(renderTemplate(`{{ profile.first_name }}${long}`, ctx, 'html', where)).rejects.toThrow(/parse length limit exceeded/);
  });
});
