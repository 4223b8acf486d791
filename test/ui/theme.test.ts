import { expect } from '@esm-bundle/chai';
import { emulateMedia } from '@web/test-runner-commands';
import { TEXT_PAIRS, THEMES, type ThemeName } from '../../src/ui/styles.js';
import type { ImbedChat } from '../../src/ui/imbed-chat.js';
import { mountBare, part, unmountAll } from './fixtures.js';

/** `#rrggbb` as the `rgb(r, g, b)` that getComputedStyle reports. */
function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

/** WCAG 2.x relative luminance of a `#rrggbb` colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light! + 0.05) / (dark! + 0.05);
}

/** The colours a reader sees: the widget's background, and the banner (shown while not connected). */
function colours(el: ImbedChat) {
  const host = getComputedStyle(el);
  const banner = getComputedStyle(part(el, 'banner'));
  return { bg: host.backgroundColor, fg: host.color, bannerBg: banner.backgroundColor, bannerFg: banner.color };
}

function expected(theme: ThemeName) {
  const t = THEMES[theme];
  return { bg: rgb(t.bg), fg: rgb(t.fg), bannerBg: rgb(t['banner-bg']), bannerFg: rgb(t['banner-fg']) };
}

describe('<imbed-chat> themes', () => {
  afterEach(async () => {
    unmountAll();
    await emulateMedia({ colorScheme: 'light' });
  });

  it('uses the light colours by default in a light system, and the dark ones with theme="dark"', async () => {
    await emulateMedia({ colorScheme: 'light' });
    const el = mountBare();
    await el.updateComplete;
    expect(el.getAttribute('theme'), 'auto is reflected').to.equal('auto');
    expect(colours(el)).to.deep.equal(expected('light'));
    el.theme = 'dark';
    await el.updateComplete;
    expect(el.getAttribute('theme')).to.equal('dark');
    expect(colours(el)).to.deep.equal(expected('dark'));
  });

  it('follows prefers-color-scheme in auto, and not when forced to light', async () => {
    const el = mountBare();
    await el.updateComplete;
    await emulateMedia({ colorScheme: 'dark' });
    expect(colours(el)).to.deep.equal(expected('dark'));
    el.theme = 'light';
    await el.updateComplete;
    expect(colours(el)).to.deep.equal(expected('light'));
  });

  it('lets --imbed-* custom properties and ::part rules from the page win over either theme', async () => {
    const style = document.createElement('style');
    style.textContent = 'imbed-chat.brand::part(send-button) { text-transform: uppercase; }';
    document.head.append(style);
    try {
      const el = mountBare();
      el.classList.add('brand');
      el.style.setProperty('--imbed-banner-bg', '#123456');
      el.style.setProperty('--imbed-accent', '#0f766e');
      for (const theme of ['light', 'dark'] as const) {
        el.theme = theme;
        await el.updateComplete;
        expect(getComputedStyle(part(el, 'banner')).backgroundColor, theme).to.equal('rgb(18, 52, 86)');
        expect(getComputedStyle(part(el, 'send-button')).backgroundColor, theme).to.equal('rgb(15, 118, 110)');
      }
      expect(getComputedStyle(part(el, 'send-button')).textTransform).to.equal('uppercase');
    } finally {
      style.remove();
    }
  });

  it('scales spacing, radius and type from their custom properties', async () => {
    const el = mountBare();
    el.style.setProperty('--imbed-spacing', '10px');
    el.style.setProperty('--imbed-font-size', '20px');
    el.style.setProperty('--imbed-radius', '3px');
    await el.updateComplete;
    const composer = getComputedStyle(part(el, 'composer'));
    expect(composer.paddingTop).to.equal('10px');
    expect(composer.paddingLeft).to.equal('15px');
    expect(getComputedStyle(el).fontSize).to.equal('20px');
    expect(getComputedStyle(el).borderTopLeftRadius).to.equal('3px');
  });

  for (const theme of Object.keys(THEMES) as ThemeName[]) {
    it(`meets WCAG AA contrast for every text colour of the ${theme} theme`, () => {
      const colours = THEMES[theme];
      for (const [text, background] of TEXT_PAIRS) {
        const ratio = contrast(colours[text], colours[background]);
        expect(ratio, `${text} on ${background}: ${ratio.toFixed(2)}`).to.be.at.least(4.5);
      }
      // Focus rings are drawn in the accent: 3:1 against the background (WCAG 1.4.11).
      expect(contrast(colours.accent, colours.bg)).to.be.at.least(3);
    });
  }

  for (const theme of Object.keys(THEMES) as ThemeName[]) {
    it(`draws the message field's border at 3:1 against the background in the ${theme} theme`, async () => {
      const el = mountBare();
      el.theme = theme;
      await el.updateComplete;
      // The field has no other boundary once its placeholder is gone (WCAG 1.4.11).
      const border = getComputedStyle(part(el, 'composer-input')).borderTopColor;
      const colour = (Object.values(THEMES[theme]) as string[]).find((hex) => rgb(hex) === border);
      expect(colour, `the border ${border} is one of the theme's colours`).to.be.a('string');
      expect(contrast(colour!, THEMES[theme].bg)).to.be.at.least(3);
    });
  }

  it('checks the pairs it should: a text colour on its own background would fail', () => {
    // Guards the contrast function itself, so the checks above cannot pass vacuously.
    expect(contrast('#6b7280', '#ffffff')).to.be.within(4.8, 4.9);
    expect(contrast(THEMES.light.muted, THEMES.light.border)).to.be.below(4.5);
  });
});
