/**
 * Time formatting for message timestamps, in the chat's locale: hour and minute for today, with the
 * date for older messages, and the year for those of another year. Formatters are built once per
 * locale; `Intl.DateTimeFormat` construction is slow.
 */
const STYLES = {
  time: { hour: 'numeric', minute: '2-digit' },
  dateTime: { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
  yearDateTime: { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' },
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

/**
 * Short label: "2:05 PM" today, "Nov 25, 2:05 PM" this year, "Nov 25, 2023, 2:05 PM" before (in
 * en-US). `now` is injectable for tests.
 */
export function formatTime(ts: number, locale: string, now: Date = new Date()): string {
  const date = new Date(ts);
  // The same local calendar day: toDateString() is the local year, month and day (and weekday).
  const style = date.toDateString() === now.toDateString() ? 'time' : date.getFullYear() === now.getFullYear() ? 'dateTime' : 'yearDateTime';
  return formatter(locale, style).format(date);
}

/** Ms from `now` until the next local midnight, when "today" labels stop being today's. */
export function untilTomorrow(now: Date = new Date()): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1).getTime() - now.getTime();
}

/** Long label for a tooltip: weekday, date and time. */
export function formatFullTime(ts: number, locale: string): string {
  return formatter(locale, 'full').format(new Date(ts));
}
