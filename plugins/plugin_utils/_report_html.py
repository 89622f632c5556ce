# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A phase report as one self-contained HTML page (private; controller side).

The page a store operations manager reads in a minute: the verdict and key figures first, then
charts where they beat tables (horizontal bars with a limit mark), then the per-store tables.
No script, no font, no CDN: inline CSS and SVG only.

Report data (every key optional except title):
  title, subtitle, verdict {ok, text}, summary [{label, value, note}],
  sections [{title, text, chart {unit, bars [{label, value, limit, base, ok}]}, table {columns, rows}}]
"""

from __future__ import annotations

from html import escape

from ansible_collections.storedesk.vdi.plugins.plugin_utils._report_page import page, verdict


def _fmt(value):
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, float):
        return '{0:,.1f}'.format(value)
    if isinstance(value, int):
        return '{0:,}'.format(value)
    if isinstance(value, (list, tuple)):
        return ', '.join(_fmt(v) for v in value)
    if value is None:
        return '—'
    return str(value)


def _cell(value):
    text = escape(_fmt(value))
    if value in ('GO', 'PASS', 'ok', 'OK', 'done'):
        return '<td class="tag-ok">{0}</td>'.format(text)
    if value in ('NO-GO', 'FAIL', 'failed', 'FAILED', 'missing'):
        return '<td class="tag-bad">{0}</td>'.format(text)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return '<td class="num">{0}</td>'.format(text)
    return '<td>{0}</td>'.format(text)


def _table(table):
    """columns: keys, or {key, label}; a key's label defaults to the key in words."""
    rows = table.get('rows') or []
    columns = [c if isinstance(c, dict) else {'key': c} for c in (table.get('columns') or (list(rows[0]) if rows else []))]
    head = ''.join('<th>{0}</th>'.format(escape(str(c.get('label') or c['key'].replace('_', ' ')))) for c in columns)
    body = ''.join('<tr>{0}</tr>'.format(''.join(_cell(r.get(c['key'])) for c in columns)) for r in rows)
    return '<div class="wide"><table><thead><tr>{0}</tr></thead><tbody>{1}</tbody></table></div>'.format(head, body)


def _chart(chart):
    """Horizontal bars: value (blue, red when not ok), optional base (grey) and a limit mark."""
    bars = chart.get('bars') or []
    if not bars:
        return ''
    unit = chart.get('unit', '')
    top = max([float(b.get('value') or 0) for b in bars] + [float(b.get('limit') or 0) for b in bars]
              + [float(b.get('base') or 0) for b in bars] + [1e-9])
    label_w, bar_w, row_h = 170, 640, 26
    height = row_h * len(bars) + 30
    out = ['<svg role="img" width="{0}" height="{1}" viewBox="0 0 {0} {1}">'.format(label_w + bar_w + 120, height)]
    for i, item in enumerate(bars):
        y = 10 + i * row_h
        value = float(item.get('value') or 0)
        colour = '#d0432f' if item.get('ok') is False else '#3b7dd8'
        out.append('<text x="{0}" y="{1}" text-anchor="end">{2}</text>'.format(
            label_w - 8, y + 14, escape(str(item.get('label', '')))))
        if item.get('base') is not None:
            out.append('<rect x="{0}" y="{1}" width="{2:.1f}" height="18" fill="#c9d3dd"/>'.format(
                label_w, y + 1, bar_w * float(item['base']) / top))
        out.append('<rect x="{0}" y="{1}" width="{2:.1f}" height="{3}" fill="{4}"/>'.format(
            label_w, y + (5 if item.get('base') is not None else 1), bar_w * value / top,
            10 if item.get('base') is not None else 18, colour))
        if item.get('limit') is not None:
            x = label_w + bar_w * float(item['limit']) / top
            out.append('<line x1="{0:.1f}" x2="{0:.1f}" y1="{1}" y2="{2}" stroke="#1d2733" stroke-width="2"/>'.format(
                x, y - 2, y + 22))
        out.append('<text x="{0:.1f}" y="{1}">{2} {3}</text>'.format(
            label_w + bar_w * value / top + 6, y + 14, escape(_fmt(item.get('value'))), escape(unit)))
    parts = ['bar: value (red: missed)'] + (['grey: now'] if any(b.get('base') is not None for b in bars) else []) + \
        (['black mark: limit'] if any(b.get('limit') is not None for b in bars) else [])
    legend = chart.get('legend') or ('; '.join(parts) if len(parts) > 1 else '')
    if legend:
        out.append('<text x="{0}" y="{1}" fill="#5b6b7b">{2}</text>'.format(label_w, height - 4, escape(legend)))
    out.append('</svg>')
    return ''.join(out)


def render(report):
    """The HTML page of a report dict."""
    parts = []
    if report.get('verdict'):
        parts.append(verdict(report['verdict'].get('ok'), report['verdict'].get('text', '')))
    if report.get('summary'):
        parts.append('<div class="cards">')
        for card in report['summary']:
            parts.append('<div class="card"><div class="l">{0}</div><div class="v">{1}</div>{2}</div>'.format(
                escape(str(card.get('label', ''))), escape(_fmt(card.get('value'))),
                '<div class="n">{0}</div>'.format(escape(str(card['note']))) if card.get('note') else ''))
        parts.append('</div>')
    for section in report.get('sections') or []:
        parts.append('<section><h2>{0}</h2>'.format(escape(section.get('title', ''))))
        if section.get('text'):
            parts.append('<p>{0}</p>'.format(escape(section['text'])))
        if section.get('chart'):
            parts.append(_chart(section['chart']))
        if section.get('table'):
            parts.append(_table(section['table']))
        parts.append('</section>')
    return page(report.get('title', 'storedesk report'), parts, report.get('generated', ''),
                subtitle=report.get('subtitle'))
