"""The one page wrapper of the phase reports and the estate dashboard (_report_page)."""

from ansible_collections.storedesk.vdi.plugins.plugin_utils import _dashboard, _report_html, _report_page

VIEWPORT = '<meta name="viewport" content="width=device-width,initial-scale=1">'


def test_reports_and_the_dashboard_sit_in_the_same_page(tmp_path):
    report = _report_html.render({'title': 'Pilot', 'verdict': {'ok': False, 'text': 'cd-0204 missed'},
                                  'generated': '2026-11-01T08:00:00Z'})
    dashboard = _dashboard.render(str(tmp_path), '2026-11-01T08:00:00Z')
    for html in (report, dashboard):
        head = html.split('</head>')[0]
        assert VIEWPORT in head and _report_page.CSS in head, 'a phone gets the same readable page'
        assert html.endswith('<p class="sub">Generated 2026-11-01T08:00:00Z by storedesk.vdi.</p></main></body></html>')
    assert '<title>Pilot</title>' in report and '<h1>Pilot</h1>' in report
    assert '<title>storedesk estate</title>' in dashboard and '<h1>Estate</h1>' in dashboard
    assert '@media (max-width:640px)' in dashboard and '@media' not in report, 'the dashboard adds its own CSS'
    assert '<div class="verdict bad">cd-0204 missed</div>' in report
    assert '<div class="verdict ok">Every store met its KPIs at its last review.</div>' in dashboard


def test_what_a_report_says_is_escaped_in_the_wrapper():
    html = _report_page.page('A <b>', ['<p>body</p>'], generated='<now>', subtitle='x & y')
    assert '<title>A &lt;b&gt;</title>' in html and '<h1>A &lt;b&gt;</h1>' in html
    assert '<div class="sub">x &amp; y</div>' in html and 'Generated &lt;now&gt;' in html
    assert html.index('<h1>') < html.index('class="sub">x') < html.index('<p>body</p>') < html.index('Generated')
    assert _report_page.verdict(True, '<ok>') == '<div class="verdict ok">&lt;ok&gt;</div>'
