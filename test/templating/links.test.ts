import { dropUnsafeLinks, isSafeLink } from '../../templating/links';

describe('dropUnsafeLinks', () => {
  it.each([
    ['<a href="javascript:alert(1)">x</a>'],
    ['<a href="JaVaScRiPt:alert(1)">x</a>'],
    ['<a href="  javascript:alert(1)">x</a>'],
    ['<a href="\u0001javascript:alert(1)">x</a>'],
    ['<a href="java\tscript:alert(1)">x</a>'],
    ['<a href="java&#x09;script:alert(1)">x</a>'],
    ['<a href="java&Tab;script:alert(1)">x</a>'],
    ['<a href="&#106;avascript:alert(1)">x</a>'],
    ['<a href="&#0000106&#0000097vascript:alert(1)">x</a>'],
    ['<a href="&#x6A;&#x61;vascript&#x3A;alert(1)">x</a>'],
    ['<a href="javascript&colon;alert(1)">x</a>'],
    ['<a href="javascript&#58;alert(1)">x</a>'],
    ["<a href='javascript:alert(1)'>x</a>"],
    ['<a href=javascript:alert(1)>x</a>'],
    ['<a HREF = "javascript:alert(1)">x</a>'],
    ['<a/href="javascript:alert(1)">x</a>'],
    ['<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'],
    ['<a href="DATA:text/html,<script>alert(1)</script>">x</a>'],
    ['<a href="vbscript:msgbox(1)">x</a>'],
    ['<a href="file:///etc/passwd">x</a>'],
    ['<a href="java&unknown;script:alert(1)">x</a>'],
    ['<a href="javascript:alert(1)'],
  ])('%j is no link afterwards', (html) => {
    const out = dropUnsafeLinks(html);
    expect(out).not.toMatch(/href/i);
    expect(out).toContain('<a');
  });

  it.each([
    ['<a href="https://shop.example.com/cart?x=1&amp;y=2">cart</a>'],
    ['<a href="HTTP://shop.example.com">shop</a>'],
    ['<a href="mailto:help@example.com">help</a>'],
    ['<a href="tel:+15550100000">call</a>'],
    ['<a href="#top">top</a>'],
    ['<a href="/account/settings?tab=mail:prefs">settings</a>'],
    ['<a href="//cdn.example.com/a.png">cdn</a>'],
    ['<a href="">empty</a>'],
    ['<a title="javascript:is not a link here" href="https://example.com">ok</a>'],
    ['<img src="https://example.com/logo.png" alt="javascript: in alt text">'],
  ])('%j is kept as written', (html) => {
    expect(dropUnsafeLinks(html)).toBe(html);
  });

  it('keeps the other attributes and the text of a tag whose link it drops', () => {
    expect(dropUnsafeLinks('<p>Hi <a class="btn" href="javascript:x()" style="color:red">Open</a>!</p>')).toBe(
      '<p>Hi <a class="btn"  style="color:red">Open</a>!</p>',
    );
  });

  it('drops form actions, svg links and base hrefs too', () => {
    expect(dropUnsafeLinks('<form action="javascript:x()"><button formaction="data:,x">go</button></form>')).toBe('<form ><button >go</button></form>');
    expect(dropUnsafeLinks('<svg><a xlink:href="javascript:x()">t</a></svg>')).toBe('<svg><a >t</a></svg>');
    expect(dropUnsafeLinks('<base href="javascript:x()//">')).toBe('<base >');
  });

  it('reads a > inside a quoted value as part of the value', () => {
    expect(dropUnsafeLinks('<a title="a > b" href="javascript:x()">t</a><a href="https://e.com">u</a>')).toBe('<a title="a > b" >t</a><a href="https://e.com">u</a>');
  });

  it('leaves text that only mentions javascript: alone', () => {
    const html = '<p>Type javascript: into nothing, and href="javascript:x" is just text here.</p>';
    expect(dropUnsafeLinks(html)).toBe(html);
  });
});

describe('isSafeLink', () => {
  it('allows http, https, mailto, tel and relative addresses only', () => {
    expect(['https://a.b', 'http://a.b', 'mailto:a@b.c', 'tel:+1555', 'page.html', '../x', '?q=1', '#f'].every(isSafeLink)).toBe(true);
    expect(['javascript:x', 'data:,x', 'vbscript:x', 'ftp://a.b', 'cid:logo', 'about:blank', 'blob:x'].some(isSafeLink)).toBe(false);
  });
});
