import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { minifyCssQuasis } from '../../build/lit-templates.ts';

/** The minified quasis of a `css` template whose literals, split by `${}`, are `quasis`. */
function minify(...quasis: string[]): string[] {
  return minifyCssQuasis(quasis);
}

describe('minifyCssQuasis', () => {
  describe('in one literal', () => {
    it('drops comments, inline, leading, trailing and over several lines', () => {
      assert.deepEqual(minify('a { color: red; /* inline */ }'), ['a{color:red}']);
      assert.deepEqual(minify('/* leading */a{b:c}/* trailing */'), ['a{b:c}']);
      assert.deepEqual(minify('a {\n  /*\n   * over\n   * lines\n   */\n  b: c;\n}'), ['a{b:c}']);
      assert.deepEqual(minify("a { /* it's not a string */ b: c }"), ['a{b:c}']);
    });

    it('leaves a space where a comment separated two words', () => {
      assert.deepEqual(minify('a/* x */b'), ['a b']);
    });

    it('folds each run of spaces, tabs and line breaks into one space', () => {
      assert.deepEqual(minify('a  \n\t  b'), ['a b']);
      assert.deepEqual(minify('a { border: 1px   solid\n\t red }'), ['a{border:1px solid red}']);
    });

    it('drops the spaces after { } ; , > : and (', () => {
      assert.deepEqual(minify('a{ b:c; d:e } f, g> h{ x: calc( 1px) }'), ['a{b:c;d:e}f,g>h{x:calc(1px)}']);
    });

    it('drops the spaces before { } ; , > and )', () => {
      assert.deepEqual(minify('a {b:c ;d:e }f ,g >h {x:calc(1px )}'), ['a{b:c;d:e}f,g>h{x:calc(1px)}']);
    });

    it('keeps the spaces before : and ( and around + and -, which change the meaning', () => {
      assert.deepEqual(minify('a :hover { x: calc(1px + 2px - 3px) }'), ['a :hover{x:calc(1px + 2px - 3px)}']);
      assert.deepEqual(minify('@media screen and (min-width: 10px) { a { b: c } }'), ['@media screen and (min-width:10px){a{b:c}}']);
      assert.deepEqual(minify('a > b , c ( d ) { }'), ['a>b,c (d){}']);
    });

    it('drops a ; before }, also with white space or a comment between', () => {
      assert.deepEqual(minify('a{b:c;}'), ['a{b:c}']);
      assert.deepEqual(minify('a { b : c ; d : e ; }'), ['a{b :c;d :e}']);
      assert.deepEqual(minify('a { b: c; /* end */ }'), ['a{b:c}']);
    });

    it('leaves quoted strings as they are, spaces, comment-like text and escaped quotes included', () => {
      assert.deepEqual(minify("a { content: 'x  /* not a comment */ ; }'; }"), ["a{content:'x  /* not a comment */ ; }'}"]);
      assert.deepEqual(minify('a { content: "say \\"hi  \\" /* x */"; }'), ['a{content:"say \\"hi  \\" /* x */"}']);
      assert.deepEqual(minify("a { content: 'it\\'s ; }'; }"), ["a{content:'it\\'s ; }'}"]);
      assert.deepEqual(minify('a { content: "it\'s" " {  } "; }'), ['a{content:"it\'s" " {  } "}']);
    });

    it('keeps a string that is not closed as it is, to the end of the literal', () => {
      assert.deepEqual(minify("a { content: 'open  ; }"), ["a{content:'open  ; }"]);
    });

    it('keeps backslash escapes, in strings and outside them', () => {
      assert.deepEqual(minify("a::before { content: '\\2014'; }"), ["a::before{content:'\\2014'}"]);
      assert.deepEqual(minify('.sm\\:flex { display: flex }'), ['.sm\\:flex{display:flex}']);
      assert.deepEqual(minify('.w-1\\/2 , .x\\,y { b: c }'), ['.w-1\\/2,.x\\,y{b:c}']);
    });

    it('keeps an escaped punctuation character and the spaces next to it, which may be a combinator', () => {
      assert.deepEqual(minify('.a\\, .b { c: d }'), ['.a\\, .b{c:d}']);
      assert.deepEqual(minify('a { b: c\\; }'), ['a{b:c\\;}']);
      assert.deepEqual(minify('.a\\ \n  .b { c: d }'), ['.a\\  .b{c:d}']);
    });

    it('does not start a string at an escaped quote', () => {
      assert.deepEqual(minify(".it\\'s { color: red; }"), [".it\\'s{color:red}"]);
    });

    it('turns a literal of only white space or comments into an empty one', () => {
      assert.deepEqual(minify(' \n\t '), ['']);
      assert.deepEqual(minify(' /* x */ '), ['']);
      assert.deepEqual(minify(''), ['']);
    });
  });

  describe('at the ${} expressions between literals', () => {
    it('drops the space at the start of the first literal and the end of the last one', () => {
      assert.deepEqual(minify('  a ', ' b  '), ['a ', ' b']);
      assert.deepEqual(minify(' a ', ' b ', ' c '), ['a ', ' b ', ' c']);
    });

    it('keeps a space next to an expression unless the character on the literal side allows dropping it', () => {
      assert.deepEqual(minify('a ', ' b'), ['a ', ' b']);
      assert.deepEqual(minify('a { ', ' }'), ['a{', '}']);
      assert.deepEqual(minify('x: ', ' ;'), ['x:', ';']);
      assert.deepEqual(minify('a, ', ' , b'), ['a,', ',b']);
      assert.deepEqual(minify('a', ' (b) ', 'c'), ['a', ' (b) ', 'c']);
    });

    it('keeps a middle literal of only white space as one space, so the expressions stay apart', () => {
      assert.deepEqual(minify('a', ' ', 'b'), ['a', ' ', 'b']);
      assert.deepEqual(minify('a', '  \n  ', 'b'), ['a', ' ', 'b']);
      assert.deepEqual(minify('a', '/* c */', 'b'), ['a', ' ', 'b']);
      assert.deepEqual(minify('a', '', 'b'), ['a', '', 'b']);
    });

    it('drops a first or last literal of only white space', () => {
      assert.deepEqual(minify(' ', 'b'), ['', 'b']);
      assert.deepEqual(minify('a', ' \n '), ['a', '']);
    });
  });

  describe('on the stylesheets of src/ui', () => {
    it("minifies the host rules of styles.ts, split by the themes' colours", () => {
      const quasis = [
        `
  :host {
    color-scheme: light;
    `,
        `
    --_bubble-mine: var(--imbed-bubble-mine, var(--_accent));
    --_radius: var(--imbed-radius, 14px);
    /* One spacing unit in px, not em: paddings stay even across the smaller type of times and notes. */
    --_sp: var(--imbed-spacing, 8px);

    display: flex;
    font-family: var(--imbed-font-family, system-ui, -apple-system, 'Segoe UI', Roboto, 'PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', sans-serif);
    border: 1px solid var(--_border);
  }
  :host([theme='dark']) {
    color-scheme: dark;
    `,
        `
  }
  /* theme="auto" (the default) follows the reader's system setting. */
  @media (prefers-color-scheme: dark) {
    :host(:not([theme='light'])) {
      color-scheme: dark;
      `,
        `
    }
  }
`,
      ];
      assert.deepEqual(minifyCssQuasis(quasis), [
        ':host{color-scheme:light;',
        " --_bubble-mine:var(--imbed-bubble-mine,var(--_accent));--_radius:var(--imbed-radius,14px);--_sp:var(--imbed-spacing,8px);display:flex;font-family:var(--imbed-font-family,system-ui,-apple-system,'Segoe UI',Roboto,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif);border:1px solid var(--_border)}:host([theme='dark']){color-scheme:dark;",
        "}@media (prefers-color-scheme:dark){:host(:not([theme='light'])){color-scheme:dark;",
        '}}',
      ]);
    });

    it('minifies rules of styles.ts with selector lists, attribute selectors and calc()', () => {
      const rules = `
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  /* The accent is 3:1 against the background in both themes (WCAG 2.4.7, 1.4.11). */
  button:focus-visible,
  textarea:focus-visible,
  [part~='log']:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
  .banner {
    gap: calc(var(--_sp) / 4) var(--_sp);
    padding-block: calc(var(--_sp) * 0.75);
  }
  /*
   * The messages stack in block layout, cheaper to update than flex when one arrives: each is as wide as
   * its content (80% at most), others' on the inline-start side, own ones pushed to the inline-end side.
   */
  .message[data-status='failed'] .bubble {
    border: 1px dashed var(--_danger);
  }
  .new-messages {
    box-shadow: 0 2px 8px rgb(0 0 0 / 0.2);
  }
  .visually-hidden {
    clip-path: inset(50%);
    white-space: nowrap;
  }
`;
      assert.deepEqual(minify(rules), [
        "*,*::before,*::after{box-sizing:inherit}button:focus-visible,textarea:focus-visible,[part~='log']:focus-visible{outline:2px solid var(--_accent);outline-offset:2px}.banner{gap:calc(var(--_sp) / 4) var(--_sp);padding-block:calc(var(--_sp) * 0.75)}.message[data-status='failed'] .bubble{border:1px dashed var(--_danger)}.new-messages{box-shadow:0 2px 8px rgb(0 0 0 / 0.2)}.visually-hidden{clip-path:inset(50%);white-space:nowrap}",
      ]);
    });

    it('minifies the media query of mobile-styles.ts and the keyboard lift of launcher-styles.ts', () => {
      const rules = `
  /* WCAG 2.5.5 and Apple's guidelines: every control a finger uses is at least 44 x 44 CSS px. */
  @media (pointer: coarse) {
    button {
      min-width: 44px;
    }
  }

  /* The panel is fixed to the layout viewport: where the keyboard overlays the page instead of resizing
     it (iOS, Chrome's default), lift the composer by what the keyboard covers of the panel. */
  .panel .composer {
    margin-bottom: max(0px, var(--imbed-keyboard-inset, 0px) - var(--_above));
  }
`;
      assert.deepEqual(minify(rules), [
        "@media (pointer:coarse){button{min-width:44px}}.panel .composer{margin-bottom:max(0px,var(--imbed-keyboard-inset,0px) - var(--_above))}",
      ]);
    });
  });
});
