import { expect } from '@esm-bundle/chai';
import { splitLinks, type TextPart } from '../../src/ui/links.js';

/** The links `splitLinks` found, as [typed text, href] pairs. */
function links(text: string): Array<[string, string]> {
  return splitLinks(text)
    .filter((part): part is { href: string; text: string } => 'href' in part)
    .map((part) => [part.text, part.href]);
}

/** Every input must come back whole: the parts' texts joined are the input, so nothing typed is lost or added. */
function expectLossless(text: string, parts: TextPart[]): void {
  expect(parts.map((part) => part.text).join('')).to.equal(text);
}

describe('splitLinks', () => {
  it('returns text without a URL as one plain part', () => {
    expect(splitLinks('hello, world')).to.deep.equal([{ text: 'hello, world' }]);
    expect(splitLinks('')).to.deep.equal([]);
  });

  it('splits text around an https URL and uses the parsed URL as href', () => {
    expect(splitLinks('see https://example.com/a?b=1 now')).to.deep.equal([
      { text: 'see ' },
      { href: 'https://example.com/a?b=1', text: 'https://example.com/a?b=1' },
      { text: ' now' },
    ]);
  });

  it('links http and https in any letter case, keeping the visible text as typed', () => {
    expect(links('http://a.test/x')).to.deep.equal([['http://a.test/x', 'http://a.test/x']]);
    expect(links('HTTPS://EXAMPLE.COM/Path')).to.deep.equal([['HTTPS://EXAMPLE.COM/Path', 'https://example.com/Path']]);
  });

  it('finds several links and keeps the text between them', () => {
    const text = 'a https://a.test b http://b.test/c, d';
    const parts = splitLinks(text);
    expectLossless(text, parts);
    expect(links(text)).to.deep.equal([
      ['https://a.test', 'https://a.test/'],
      ['http://b.test/c', 'http://b.test/c'],
    ]);
  });

  it('keeps ports, queries, fragments and percent-escapes in the link', () => {
    expect(links('https://a.test:8443/p/q?x=1&y=%20#frag')).to.deep.equal([['https://a.test:8443/p/q?x=1&y=%20#frag', 'https://a.test:8443/p/q?x=1&y=%20#frag']]);
    expect(links('http://[::1]:8080/')).to.deep.equal([['http://[::1]:8080/', 'http://[::1]:8080/']]);
  });

  for (const [text, typed] of [
    ['Look at https://a.test/page.', 'https://a.test/page'],
    ['https://a.test/page, then', 'https://a.test/page'],
    ['really? https://a.test/?', 'https://a.test/'],
    ['wow https://a.test/!!!', 'https://a.test/'],
    ['https://a.test/x;', 'https://a.test/x'],
    ['https://a.test/x:', 'https://a.test/x'],
    ["'https://a.test/x'", 'https://a.test/x'],
    ['\u201Chttps://a.test/x\u201D', 'https://a.test/x'],
    ['https://a.test/x\u3002', 'https://a.test/x'],
  ] as const) {
    it(`leaves trailing punctuation out of the link: ${JSON.stringify(text)}`, () => {
      expectLossless(text, splitLinks(text));
      expect(links(text).map(([t]) => t)).to.deep.equal([typed]);
    });
  }

  it('keeps balanced parentheses in the link but not a closing one opened before it', () => {
    expect(links('(see https://en.wikipedia.org/wiki/Foo_(bar)).').map(([t]) => t)).to.deep.equal(['https://en.wikipedia.org/wiki/Foo_(bar)']);
    expect(links('(https://a.test/x)').map(([t]) => t)).to.deep.equal(['https://a.test/x']);
    expect(links('[x](https://a.test/x)').map(([t]) => t)).to.deep.equal(['https://a.test/x']);
    expect(links('https://a.test/f(x)').map(([t]) => t)).to.deep.equal(['https://a.test/f(x)']);
    expect(links('(https://a.test/f(x)))').map(([t]) => t)).to.deep.equal(['https://a.test/f(x)']);
  });

  it('ends a link at characters a typed URL cannot hold: quotes, angle brackets, backticks', () => {
    expect(splitLinks('https://x.test/"onmouseover="alert(1)')).to.deep.equal([
      { href: 'https://x.test/', text: 'https://x.test/' },
      { text: '"onmouseover="alert(1)' },
    ]);
    expect(splitLinks('http://a.test/<script>')).to.deep.equal([
      { href: 'http://a.test/', text: 'http://a.test/' },
      { text: '<script>' },
    ]);
    expect(links('<https://a.test/>').map(([t]) => t)).to.deep.equal(['https://a.test/']);
    expect(links('`https://a.test/x`').map(([t]) => t)).to.deep.equal(['https://a.test/x']);
  });

  it('ends a link at bidi controls and invisible characters, so its text cannot disguise its target', () => {
    for (const hidden of ['\u202E', '\u202D', '\u2066', '\u2067', '\u2068', '\u200B', '\u200E', '\u00AD', '\uFEFF', '\u0000']) {
      const text = `https://evil.test/${hidden}gnp.exe`;
      expect(splitLinks(text), JSON.stringify(hidden)).to.deep.equal([
        { href: 'https://evil.test/', text: 'https://evil.test/' },
        { text: `${hidden}gnp.exe` },
      ]);
    }
  });

  for (const text of [
    'javascript:alert(1)',
    'jAvAsCrIpT:alert(1)',
    'JAVASCRIPT://%0aalert(1)',
    ' javascript:alert(1)',
    'java\u0000script:alert(1)',
    'vbscript:msgbox(1)',
    'data:text/html,<script>alert(1)</script>',
    'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
    'file:///etc/passwd',
    'ftp://files.test/x',
    'mailto:a@b.test',
    'about:blank',
    'www.example.com',
    'example.com/path',
    '//example.com/path',
    'https:example.com',
    'https:/example.com',
    'https:\\\\example.com',
    'https://',
    'https://.',
    'https:///evil.test',
    'https://\\evil.test',
    'xhttps://a.test/',
    'nothttps://a.test/',
    'https://user:pass@host.test',
    'https://bank.test@evil.test/',
    'http://:80/',
    'https://a.test%2F@evil.test',
  ]) {
    it(`makes no link of ${JSON.stringify(text)}`, () => {
      expect(splitLinks(text)).to.deep.equal([{ text }]);
    });
  }

  it('links only the http(s) URL inside a hostile scheme', () => {
    expect(splitLinks('javascript:fetch("https://a.test/")')).to.deep.equal([
      { text: 'javascript:fetch("' },
      { href: 'https://a.test/', text: 'https://a.test/' },
      { text: '")' },
    ]);
  });

  it('ends a link where Chinese text goes on without a space, and at full-width punctuation', () => {
    for (const [text, expected] of [
      ['打开https://example.com看看', [['https://example.com', 'https://example.com/']]],
      ['好https://example.com！', [['https://example.com', 'https://example.com/']]],
      ['（详见https://example.com/a）', [['https://example.com/a', 'https://example.com/a']]],
      ['链接https://example.com：点', [['https://example.com', 'https://example.com/']]],
      ['看https://example.com/x。好的', [['https://example.com/x', 'https://example.com/x']]],
      ['see https://a.test/x…', [['https://a.test/x', 'https://a.test/x']]],
      ['[https://a.test]', [['https://a.test', 'https://a.test/']]],
      ['https://a.test/x[1]', [['https://a.test/x[1]', 'https://a.test/x[1]']]],
      // A path may hold Chinese or Japanese, repetition marks too: it stays in the link.
      ['https://ja.wikipedia.org/wiki/佐々木', [['https://ja.wikipedia.org/wiki/佐々木', 'https://ja.wikipedia.org/wiki/%E4%BD%90%E3%80%85%E6%9C%A8']]],
      ['https://zh.wikipedia.org/wiki/中国', [['https://zh.wikipedia.org/wiki/中国', 'https://zh.wikipedia.org/wiki/%E4%B8%AD%E5%9B%BD']]],
      // So may a host of Chinese only.
      ['https://例子.测试/', [['https://例子.测试/', 'https://xn--fsqu00a.xn--0zwm56d/']]],
    ] as const) {
      expectLossless(text, splitLinks(text));
      expect(links(text), text).to.deep.equal(expected);
    }
  });

  it('links IDN hosts with the typed Unicode as text and the punycode host in href', () => {
    expect(links('https://bücher.example/x')).to.deep.equal([['https://bücher.example/x', 'https://xn--bcher-kva.example/x']]);
    // A Cyrillic "а" that looks like the Latin one: the text shows what was typed, the href tells the truth.
    expect(links('https://\u0430pple.test/')).to.deep.equal([['https://\u0430pple.test/', 'https://xn--pple-43d.test/']]);
  });

  it('never puts a character in href that could leave an attribute or a URL', () => {
    const corpus = [
      'https://x.test/"><img src=x onerror=alert(1)>',
      "https://x.test/'onmouseover='alert(1)'",
      'https://x.test/a b',
      'https://x.test/\u2028x',
      'https://x.test/{}|^~[]',
      'https://x.test/' + '\u00e9'.repeat(10),
    ];
    for (const text of corpus) {
      expectLossless(text, splitLinks(text));
      for (const [, href] of links(text)) {
        expect(href, text).to.match(/^https?:\/\//);
        expect(href, text).to.not.match(/[\s"<>`]/);
        expect(new URL(href).href, text).to.equal(href);
      }
    }
  });

  it('returns every input whole, even long and pathological ones', () => {
    const inputs = [
      'https://a.test/' + ')'.repeat(3000),
      'https://a.test/' + '('.repeat(3000),
      ('https://a.test/ ').repeat(300),
      'https://' + 'a'.repeat(4000),
      '.'.repeat(4000) + 'https://a.test',
    ];
    for (const text of inputs) expectLossless(text, splitLinks(text));
    expect(links(inputs[0]!).map(([t]) => t)).to.deep.equal(['https://a.test/']);
    expect(links(inputs[2]!)).to.have.length(300);
  });
});
