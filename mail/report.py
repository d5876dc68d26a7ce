"""A saved view's figures over a closed week or month, as an email: aggregates only, masked as on screen."""

import html
from datetime import date, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from clickhouse_connect.driver.client import Client

from warehouse import reports
from warehouse.privacy import masked_path, masked_value
from warehouse.reports import ReportQuery
from warehouse.views import NamedView

_TOP = 10


def period(every: str, today: date) -> tuple[date, date]:
    """The last whole period before `today`: the week (Monday to Sunday) or the calendar month."""
    if every == "week":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def compose(client: Client, view: NamedView, site: str, start: date, end: date, sender: str,
            to: list[str]) -> EmailMessage:
    """The email of `view` (its filters, on `site`) from `start` to `end`, to `to`."""
    query = ReportQuery(site=site, start=start, end=end, filters=view.view.filters)
    now, before = reports.overview(client, query), reports.overview(client, query.previous())
    sections = [("Figures", ["", "This period", "Before", "Change"], _figures(now, before)),
                ("Top sources", ["Source", "Visitors", "Conversions"],
                 [[r["source"], r["visitors"], r["conversions"]] for r in reports.sources(client, query)]),
                ("Top pages", ["Page", "Views", "Visitors"],
                 [[r["path"], r["pageviews"], r["visitors"]] for r in reports.pages(client, query)]),
                ("Top campaigns", ["Campaign", "Source", "Visits", "Conversions"],
                 [[r["campaign"], r["source"], r["sessions"], r["conversions"]] for r in reports.campaigns(client, query)]),
                ("Goals", ["Goal", "Converted visits", "Conversion rate"],
                 [[r["goal"], r["converted"], f"{r['conversion_rate']:.1%}"]
                  for r in reports.goals(client, query)])]
    filters = ", ".join(f"{key} {masked_path(value) if key == 'path' else masked_value(value)}"
                        for key, value in sorted(view.view.filters.items())) or "none"
    title = f"{view.name}: {site}, {start} to {end}"
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = f"Sluice report: {title}", sender, ", ".join(to)
    message["Message-ID"], message["Date"] = make_msgid(domain=sender.rpartition("@")[2]), formatdate(usegmt=True)
    intro = f"{title}. Filters: {filters}. Paths that look like a record number read *."
    message.set_content("\n\n".join([intro, *(_text(name, head, rows[:_TOP]) for name, head, rows in sections)]))
    message.add_alternative(f"<p>{html.escape(intro)}</p>" + "".join(_html(name, head, rows[:_TOP])
                                                                     for name, head, rows in sections), subtype="html")
    return message


def _figures(now: reports.Overview, before: reports.Overview) -> list[list[str]]:
    rows = []
    for label, field, shown in [("Visitors", "visitors", "{:,}"), ("Visits", "sessions", "{:,}"),
                                ("Page views", "pageviews", "{:,}"), ("Bounce rate", "bounce_rate", "{:.1%}"),
                                ("Conversions", "conversions", "{:,}"), ("Conversion rate", "conversion_rate", "{:.1%}")]:
        a, b = getattr(now, field), getattr(before, field)
        change = f"{(a - b) * 100:+.1f} pts" if "rate" in field else (f"{(a - b) / b:+.0%}" if b else "new")
        rows.append([label, shown.format(a), shown.format(b), change])
    return rows


def _text(name: str, head: list[str], rows: list[list]) -> str:
    lines = [name, "-" * len(name), " | ".join(head)]
    return "\n".join(lines + [" | ".join(str(cell) for cell in row) for row in rows] if rows else lines + ["none"])


def _html(name: str, head: list[str], rows: list[list]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h3>{html.escape(name)}</h3><table><tr>{cells}</tr>{body or '<tr><td>none</td></tr>'}</table>"
