/**
 * Two small SVG charts, written by hand (no dependency): a line chart (linear or log x axis, with
 * optional vertical marker lines) and a horizontal stacked bar chart. Plain SVG 1.1 text that a
 * browser, GitHub and an image viewer show as it is.
 */

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
  /** Draw a dot at each point (for sparse series), with or without the line. */
  markers?: boolean;
  line?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  xLog?: boolean;
  /** Vertical lines across the plot (targets), labelled at the top. */
  vLines?: readonly { x: number; label: string }[];
  width?: number;
  height?: number;
}

export interface BarChart {
  title: string;
  xLabel: string;
  rows: readonly { label: string; parts: readonly { name: string; value: number }[] }[];
  /** A vertical line at a value (a target), labelled. */
  target?: { value: number; label: string };
  width?: number;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const fmt = (v: number): string => {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toPrecision(3)}`;
};

/** About `count` round tick values, the first at or below `lo` and the last at or above `hi`. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo, lo + 1];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const out: number[] = [];
  const last = Math.ceil(hi / step - 1e-9);
  for (let k = Math.floor(lo / step + 1e-9); k <= last; k += 1) out.push(Number((k * step).toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e += 1) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

function frame(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function lineChart(c: LineChart): string {
  const width = c.width ?? 760;
  const height = c.height ?? 420;
  // Legend: three entries a row, or one when the names are long.
  const cols = c.series.some((s) => s.name.length > 28) ? 1 : 3;
  const legendRows = Math.ceil(c.series.length / cols);
  const m = { left: 70, right: 20, top: 36 + 14 * (c.vLines?.length ?? 0), bottom: 56 + 18 * legendRows };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.xLog || x > 0));
  const xs = [...pts.map(([x]) => x), ...(c.vLines ?? []).map((v) => v.x)];
  const ys = pts.map(([, y]) => y);
  let x0 = xs.length ? Math.min(...xs) : 0;
  let x1 = xs.length ? Math.max(...xs) : 1;
  if (c.xLog) {
    // Whole decades, with room on both sides so a marker line on a decade is not on the frame.
    x0 = 10 ** Math.floor(Math.log10(Math.max(x0 * 0.9, 1e-3)));
    x1 = 10 ** Math.ceil(Math.log10(Math.max(x1 * 1.1, x0 * 10)));
  } else if (x1 === x0) x1 = x0 + 1;
  const yTicks = niceTicks(Math.min(0, ...ys), ys.length ? Math.max(...ys) : 1);
  const y0 = yTicks[0] as number;
  const y1 = yTicks[yTicks.length - 1] as number;
  const sx = (x: number): number => m.left + (c.xLog ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const body: string[] = [];
  const xTicks = c.xLog ? logTicks(x0, x1) : niceTicks(x0, x1).filter((t) => t >= x0 && t <= x1);
  for (const t of yTicks) {
    body.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${m.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of xTicks) {
    body.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
    body.push(`<text x="${sx(t).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  body.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
  body.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 36}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  body.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(c.yLabel)}</text>`);
  (c.vLines ?? []).forEach((v, k) => {
    if (c.xLog && v.x <= 0) return;
    const x = sx(v.x).toFixed(1);
    // Labels above the plot, one line each, so two close lines do not overprint.
    const ly = m.top - 6 - 14 * ((c.vLines?.length ?? 1) - 1 - k);
    body.push(`<line x1="${x}" x2="${x}" y1="${ly + 3}" y2="${m.top + ph}" stroke="#555" stroke-dasharray="4 3"/>`);
    body.push(`<text x="${x}" y="${ly}" dx="3" fill="#555">${escapeXml(v.label)}</text>`);
  });
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.xLog || x > 0));
    if (s.line !== false && p.length > 1) {
      const d = p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      body.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${d}"/>`);
    }
    if (s.markers || p.length === 1) for (const [x, y] of p) body.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3.5" fill="${color}"/>`);
    const lx = m.left + (i % cols) * (pw / cols);
    const ly = height - 14 - 18 * (legendRows - 1 - Math.floor(i / cols));
    body.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    body.push(`<text x="${lx + 28}" y="${ly}">${escapeXml(s.name)}</text>`);
  });
  return frame(width, height, c.title, body);
}

export function barChart(c: BarChart): string {
  const width = c.width ?? 760;
  const names = [...new Set(c.rows.flatMap((r) => r.parts.filter((p) => p.value > 0).map((p) => p.name)))];
  const legendRows = Math.ceil(names.length / 4);
  const m = { left: 230, right: 30, top: 40, bottom: 50 + 18 * legendRows };
  const barH = 26;
  const gap = 14;
  const ph = c.rows.length * (barH + gap);
  const height = m.top + ph + m.bottom;
  const pw = width - m.left - m.right;
  const totals = c.rows.map((r) => r.parts.reduce((a, p) => a + Math.max(0, p.value), 0));
  const ticks = niceTicks(0, Math.max(1e-9, ...totals, c.target?.value ?? 0));
  const x1 = ticks[ticks.length - 1] ?? 1;
  const sx = (v: number): number => m.left + (v / x1) * pw;
  const color = (name: string): string => PALETTE[names.indexOf(name) % PALETTE.length] as string;
  const body: string[] = [];
  for (const t of ticks) {
    body.push(`<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${m.top}" y2="${m.top + ph}" stroke="#e0e0e0"/>`);
    body.push(`<text x="${sx(t).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  c.rows.forEach((r, i) => {
    const y = m.top + i * (barH + gap) + gap / 2;
    body.push(`<text x="${m.left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${escapeXml(r.label)}</text>`);
    let at = 0;
    for (const p of r.parts) {
      if (!(p.value > 0)) continue;
      body.push(`<rect x="${sx(at).toFixed(1)}" y="${y}" width="${(sx(at + p.value) - sx(at)).toFixed(1)}" height="${barH}" fill="${color(p.name)}"><title>${escapeXml(`${p.name}: ${p.value}`)}</title></rect>`);
      at += p.value;
    }
    body.push(`<text x="${(sx(at) + 4).toFixed(1)}" y="${y + barH / 2 + 4}">${fmt(totals[i] as number)}</text>`);
  });
  body.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#444"/>`);
  body.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 34}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  if (c.target) {
    const x = sx(c.target.value).toFixed(1);
    body.push(`<line x1="${x}" x2="${x}" y1="${m.top - 6}" y2="${m.top + ph}" stroke="#000" stroke-dasharray="5 3"/>`);
    const anchor = sx(c.target.value) > m.left + pw * 0.7 ? 'end' : 'middle';
    body.push(`<text x="${x}" y="${m.top - 9}" text-anchor="${anchor}">${escapeXml(c.target.label)}</text>`);
  }
  names.forEach((n, i) => {
    const lx = m.left + (i % 4) * (pw / 4);
    const ly = m.top + ph + 52 + 18 * Math.floor(i / 4);
    body.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${color(n)}"/>`);
    body.push(`<text x="${lx + 17}" y="${ly}">${escapeXml(n)}</text>`);
  });
  return frame(width, height, c.title, body);
}
