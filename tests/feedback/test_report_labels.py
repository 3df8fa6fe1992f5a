"""The analytics page does not mislead: human rule names, rates over cards with feedback shown
beside cards issued, bars scaled to the data with their counts, links to the other pages."""

from __future__ import annotations

import re

from cds_service.feedback.report import RuleReport
from cds_service.feedback.report_html import render_report_html

TITLES = {"dopamine-agonist-against": "Dopamine agonist for RLS: suggested against",
          "iv-iron-indicated": "IV iron indicated for RLS"}
REPORTS = [RuleReport("dopamine-agonist-against", issued=40, accepted=1, overridden=3),
           RuleReport("iv-iron-indicated", issued=10, accepted=2, overridden=0)]


def test_rates_say_they_are_over_cards_with_feedback_beside_cards_issued() -> None:
    page = render_report_html(REPORTS, titles=TITLES)
    assert "<th>Cards issued</th><th>Cards with feedback</th>" in page
    assert "<th>Acceptance (of cards with feedback)</th>" in page
    row = re.search(r"<tr><td>Dopamine agonist.*?</tr>", page).group(0)
    cells = re.findall(r'<td class="n">([^<]*)</td>', row)
    assert cells == ["40", "4", "1", "3", "25.0%"]
    assert "not among all cards issued" in page


def test_rules_have_their_titles_and_the_bars_their_counts() -> None:
    page = render_report_html(REPORTS, titles=TITLES)
    assert "Dopamine agonist for RLS: suggested against <code>dopamine-agonist-against</code>" \
        in page
    assert "1 accepted, 3 overridden" in page and "2 accepted, 0 overridden" in page
    # the rule with the most feedback (4) fills the bar width: 420 px in all
    bars = [(float(x), float(w)) for x, w in
            re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)" height="18"', page)]
    assert bars[:2] == [(260.0, 105.0), (365.0, 315.0)]  # 1 and 3 of 4: the full 420 px


def test_links_to_the_other_pages() -> None:
    page = render_report_html(REPORTS, titles=TITLES)
    for href in ("/", "/console", "/review"):
        assert f'<a href="{href}">' in page
