/**
 * Time formatting for message timestamps, in the chat's locale: hour and minute for today, with the
 * date for older messages. Formatters are built once per locale; `Intl.DateTimeFormat` construction is slow.
 */
const STYLES = {
  time: { hour: 'numeric', minute: '2-digit' },
  dateTime: { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
  full: { dateStyle: 'full', timeStyle: 'short' },
} as const satisfies Record<string, Intl.DateTimeFormatOptions>;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(locale: string, style: keyof typeof STYLES): Intl.DateTimeFormat {
  const key = `${locale} ${style}`;
  let made = formatters.get(key);
  if (!made) {
    made = new Intl.DateTimeFormat(locale, STYLES[style]);
    formatters.set(key, made);
  }
  return made;
}

/** Short label: "2:05 PM" today, "Nov 25, 2:05 PM" otherwise (in en-US). `now` is injectable for tests. */
export function formatTime(ts: number, locale: string, now: Date = new Date()): string {
  const date = new Date(ts);
  // The same local calendar day: toDateString() is the local year, month and day (and weekday).
  return formatter(locale, date.toDateString() === now.toDateString() ? 'time' : 'dateTime').format(date);
}

/** Long label for a tooltip: weekday, date and time. */
export function formatFullTime(ts: number, locale: string): string {
  return formatter(locale, 'full').format(new Date(ts));
}
