import { describe, expect, it } from 'vitest';
import { barChart, escapeXml, lineChart, niceTicks } from '../../bench/report/svg.js';

describe('bench: SVG charts', () => {
  it('ticks cover the whole range with round steps', () => {
    expect(niceTicks(0, 9.08)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 430)).toEqual([0, 100, 200, 300, 400, 500]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  it('draws one line per series, the target lines, and escapes every label', () => {
    const svg = lineChart({
      title: 'p99 <100 ms & more',
      xLabel: 'ms',
      yLabel: '%',
      xLog: true,
      series: [
        { name: '50/s', points: [[12, 0], [40, 50], [90, 100]] },
        { name: 'saturation', points: [[900, 0], [20_000, 100]] },
      ],
      vLines: [{ x: 100, label: 'target' }],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('p99 &lt;100 ms &amp; more');
    expect(svg).toContain('>target</text>');
    expect(svg).not.toContain('NaN');
    // Log axis: decades and their 2s and 5s between the data's bounds.
    expect(svg).toContain('>10</text>');
    expect(svg).toContain('>20k</text>');
  });

  it('stacks the parts of each bar in order and marks the target', () => {
    const svg = barChart({
      title: 'requests',
      xLabel: 'per ticket',
      rows: [
        { label: 'a', parts: [{ name: 'issue', value: 1 }, { name: 'echo', value: 4 }] },
        { label: 'b', parts: [{ name: 'issue', value: 1 }, { name: 'echo', value: 0 }] },
      ],
      target: { value: 3, label: 'target ≤ 3' },
    });
    expect(svg.match(/<rect [^>]*height="26"/g)).toHaveLength(3);
    expect(svg).toContain('<title>echo: 4</title>');
    expect(svg).toContain('target ≤ 3');
    expect(svg).not.toContain('NaN');
  });

  it('escapes XML', () => {
    expect(escapeXml('<a href="x">&</a>')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  });
});
