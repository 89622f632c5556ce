# -*- coding: utf-8 -*-
# Copyright: storedesk.vdi contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The page every HTML report of the collection sits in (private; controller side): the head (charset, a phone's
viewport, the title, the inline CSS - no script, no font, no CDN), the heading, the verdict box and the footer.
The phase reports (_report_html) and the estate dashboard (_dashboard) both render through it."""

from __future__ import annotations

from html import escape

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.sub{color:#5b6b7b;margin-bottom:16px}
.verdict{padding:12px 16px;border-radius:6px;font-weight:600;margin:12px 0 18px}
.ok{background:#e3f4e8;color:#17602f;border-left:6px solid #2e9e55}
.bad{background:#fbe6e4;color:#8a1f11;border-left:6px solid #d0432f}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:6px;padding:12px 16px;min-width:150px;box-shadow:0 1px 2px #0002}
.card .v{font-size:22px;font-weight:700}.card .l{color:#5b6b7b;font-size:12px;text-transform:uppercase}
.card .n{color:#5b6b7b;font-size:12px}
section{background:#fff;border-radius:6px;padding:12px 16px 16px;margin-top:16px;box-shadow:0 1px 2px #0002}
.wide{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e4e8ec;vertical-align:top}
th{background:#eef1f4;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.tag-ok{color:#17602f;font-weight:600}.tag-bad{color:#b3261e;font-weight:600}
svg text{font:12px system-ui,sans-serif;fill:#1d2733}
"""


def verdict(ok, text):
    """The green (ok) or red box with the page's verdict."""
    return '<div class="verdict {0}">{1}</div>'.format('ok' if ok else 'bad', escape(text))


def page(title, body, generated='', subtitle=None, heading=None, extra_css=''):
    """The whole page around `body` (HTML parts, one a line): <title> and <h1> say `title` (<h1> says `heading`
    when given), a subtitle line when there is one, and the 'Generated ... by storedesk.vdi.' footer."""
    parts = ['<!doctype html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width,initial-scale=1">',
             '<title>{0}</title><style>{1}{2}</style></head><body><main>'.format(escape(title), CSS, extra_css),
             '<h1>{0}</h1>'.format(escape(title if heading is None else heading))]
    if subtitle:
        parts.append('<div class="sub">{0}</div>'.format(escape(subtitle)))
    parts.extend(body)
    parts.append('<p class="sub">Generated {0} by storedesk.vdi.</p></main></body></html>'.format(escape(str(generated))))
    return '\n'.join(parts)
