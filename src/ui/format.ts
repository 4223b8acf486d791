/**
 * Time formatting for message timestamps, in the reader's locale: hour and minute for today, with the
 * date for older messages. Formatters are built once; `Intl.DateTimeFormat` construction is slow.
 */
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const dateAndTime = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit' });
const full = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'short' });

function sameDay(a: Date, b: Date): boolean {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

/** Short label: "14:05" today, "Nov 25, 14:05" otherwise. `now` is injectable for tests. */
export function formatTime(ts: number, now: Date = new Date()): string {
  const date = new Date(ts);
  return (sameDay(date, now) ? timeOnly : dateAndTime).format(date);
}

/** Long label for a tooltip: weekday, date and time. */
export function formatFullTime(ts: number): string {
  return full.format(new Date(ts));
}
