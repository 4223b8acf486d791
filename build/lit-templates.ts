import { parseSync, Visitor, type Plugin } from 'vite';

/**
 * Splits CSS text into pieces, each whole: an escape (a backslash and the character after it), a quoted
 * string (to its closing quote, or the end), a comment, a run of white space, or any other one character.
 */
function cssPieces(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; ) {
    const char = text[i]!;
    let end = i + 1;
    if (char === '\\') {
      end = i + 2;
    } else if (char === "'" || char === '"') {
      while (end < text.length && text[end] !== char) end += text[end] === '\\' ? 2 : 1;
      end++;
    } else if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      end = close < 0 ? text.length : close + 2;
    } else if (/\s/.test(char)) {
      while (end < text.length && /\s/.test(text[end]!)) end++;
    }
    pieces.push(text.slice(i, end));
    i = end;
  }
  return pieces;
}

/**
 * Minifies the CSS of Lit `css` templates in our own modules: comments go, runs of white space become one
 * space, a space goes after `{ } ; , > : (` and before `{ } ; , > )` (never before `:`, which would turn
 * `a :hover` into `a:hover`, nor around `+ -`, which `calc()` needs), and so does a `;` before `}`. Quoted
 * strings and backslash escapes are kept as they are. Next to a `${}` expression a space is only dropped
 * when the character on the literal's side allows it, and a literal of only white space between two
 * expressions keeps one space. Lit reads the cooked text, so the rule is the same for it as for a stylesheet.
 */
export function minifyCssQuasis(quasis: readonly string[]): string[] {
  const last = quasis.length - 1;
  return quasis.map((raw, index) => {
    // Each comment or run of white space becomes one space, or none right after one.
    const pieces: string[] = [];
    for (const piece of cssPieces(raw)) {
      const gap = piece.startsWith('/*') || /^\s/.test(piece);
      if (!gap) pieces.push(piece);
      else if (pieces.at(-1) !== ' ') pieces.push(' ');
    }
    // Punctuation is a piece of one character: an escaped one (`\;`, `\,`) is text, and so are the spaces next to it.
    const oneOf = (piece: string | undefined, chars: string) => piece?.length === 1 && chars.includes(piece);
    const kept: string[] = [];
    pieces.forEach((piece, at) => {
      const before = kept.at(-1);
      if (piece === ' ') {
        const after = pieces[at + 1];
        // At an end of the literal nothing follows or precedes; at a `${}` only the literal's side decides.
        const dropBefore = before === undefined ? index === 0 : oneOf(before, '{};,>:(');
        const dropAfter = after === undefined ? index === last : oneOf(after, '{};,>)');
        const keep = before === undefined && after === undefined ? index > 0 && index < last : !(dropBefore || dropAfter);
        if (keep) kept.push(' ');
      } else if (piece === '}' && before === ';') {
        kept[kept.length - 1] = piece;
      } else {
        kept.push(piece);
      }
    });
    return kept.join('');
  });
}

/**
 * Shortens the text of Lit `html` templates: every run of white space that holds a line break becomes one
 * line break. Outside `white-space: pre*` a browser shows any such run as one space, and no template of
 * ours puts an indented line break inside a `pre-wrap` element, so nothing on screen changes.
 */
export function minifyHtmlQuasis(quasis: readonly string[]): string[] {
  return quasis.map((raw) => raw.replace(/[ \t\r\n]*\n[ \t\r\n]*/g, '\n'));
}

const MINIFIERS = new Map([
  ['css', minifyCssQuasis],
  ['html', minifyHtmlQuasis],
]);

/**
 * Applies {@link minifyCssQuasis} to every `css` tagged template and {@link minifyHtmlQuasis} to every
 * `html` one in our own modules, for the script and the library builds. The quasis are found with the
 * parser, not a pattern, so a `css` or `html` inside a string or a comment is never touched.
 */
export function minifyLitTemplates(): Plugin {
  return {
    name: 'imbed-minify-lit-templates',
    transform(code, id) {
      if (!/[\\/]src[\\/].*\.[jt]s$/.test(id) || !/\b(?:css|html)`/.test(code)) return null;
      const { program } = parseSync(id, code);
      const edits: Array<{ start: number; end: number; text: string }> = [];
      let misplaced = false;
      new Visitor({
        TaggedTemplateExpression(node) {
          const minify = node.tag.type === 'Identifier' ? MINIFIERS.get(node.tag.name) : undefined;
          if (!minify) return;
          const quasis = node.quasi.quasis;
          const minified = minify(quasis.map((quasi) => quasi.value.raw));
          quasis.forEach((quasi, i) => {
            // The parser's span of a quasi includes the delimiter before it (a backtick or `}`); some
            // versions leave it out, so the raw text is looked for at both places.
            const start = [quasi.start + 1, quasi.start].find((at) => code.startsWith(quasi.value.raw, at) && at + quasi.value.raw.length <= quasi.end);
            if (start === undefined) misplaced = true;
            else edits.push({ start, end: start + quasi.value.raw.length, text: minified[i]! });
          });
        },
      }).visit(program);
      if (misplaced) this.error(`${id}: a template's offsets do not match its text; update minifyLitTemplates in build/lit-templates.ts`);
      if (!edits.length) return null;
      let out = '';
      let at = 0;
      for (const edit of edits.sort((a, b) => a.start - b.start)) {
        out += code.slice(at, edit.start) + edit.text;
        at = edit.end;
      }
      return { code: out + code.slice(at), map: null };
    },
  };
}
