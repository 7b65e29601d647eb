/**
 * The first `maxCodePoints` code points of `text`, with `ellipsis` in place of the rest when it is
 * cut (the ellipsis counts towards the limit). The one rule for shortening text that goes into a
 * signed message: cuts fall between code points, never inside a UTF-16 surrogate pair, because a
 * lone surrogate has no RFC 8785 form and a message holding one could not be signed at all.
 */
export function clipText(text: string, maxCodePoints: number, ellipsis = ''): string {
  // A string never has more code points than UTF-16 units: short text needs no counting.
  if (text.length <= maxCodePoints) return text;
  const points = Array.from(text);
  if (points.length <= maxCodePoints) return text;
  const keep = Math.max(0, maxCodePoints - Array.from(ellipsis).length);
  return `${points.slice(0, keep).join('')}${ellipsis}`;
}
