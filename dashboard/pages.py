"""Which pages each role sees, and what every page shares: access checks, the API, top lists, tables, figures."""

import html
import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import streamlit as st

from dashboard.client import Api, ApiRefused
from dashboard.view import FILTERABLE, add_filter, key_of, markdown_text

EVERYONE = {"marketer", "analyst", "compliance", "admin"}
_AT_ONCE = 4
"""API calls a page makes at once: the API answers them on as many threads."""
# (url slug, title, script, roles)
PAGES = [
    ("overview", "Overview", "app_pages/overview.py", EVERYONE),
    ("acquisition", "Acquisition", "app_pages/acquisition.py", EVERYONE),
    ("content", "Content", "app_pages/content.py", EVERYONE),
    ("conversions", "Conversions and funnels", "app_pages/conversions.py", EVERYONE),
    ("goals", "Goals", "app_pages/goals.py", EVERYONE),
    ("events", "Events and properties", "app_pages/properties.py", EVERYONE),
    ("audience", "Audience", "app_pages/audience.py", EVERYONE),
    ("realtime", "Realtime", "app_pages/realtime.py", EVERYONE),
    ("explore", "Explore events", "app_pages/explore.py", {"analyst", "admin"}),
    ("compliance", "Compliance", "app_pages/compliance.py", {"compliance", "admin"}),
    ("trackers", "Website trackers", "app_pages/trackers.py", {"compliance", "admin"}),
    ("forwarder-values", "Forwarder values", "app_pages/dimension_values.py", {"admin"}),
    ("admin", "Admin", "app_pages/admin.py", {"admin"}),
]


def pages_for(role: str) -> list[tuple[str, str, str]]:
    return [(slug, title, path) for slug, title, path, roles in PAGES if role in roles]


def api() -> Api:
    """The signed-in user's API client; a page reached without one goes back to the login."""
    client = st.session_state.get("api")
    if client is None or client.token is None:
        st.warning("Please log in.")
        st.stop()
    return client


def fetch(path: str, **params):
    """Call the API; its answer on access (401/403) or input (400) is shown, not a traceback."""
    return fetch_all((path, params))[0]


def fetch_all(*calls: tuple[str, dict]) -> list:
    """Several `fetch`es at once: a page waits for the slowest of its reports, not for their sum."""
    client = api()
    with ThreadPoolExecutor(max_workers=_AT_ONCE) as pool:
        answers = [pool.submit(client.get, path, **params) for path, params in calls]
    try:
        return [answer.result() for answer in answers]
    except ApiRefused as exc:
        if exc.status == 401:
            st.session_state.clear()
            st.warning("Your session has ended. Please log in again.")
        else:
            st.error(exc)
        st.stop()


def moment(text: str) -> str:
    """An ISO time from the API as people read it, to the second: `2026-12-02 14:23:49`."""
    return text.replace("T", " ")[:19]


def detail(text: str) -> str:
    """An audit entry's detail (canonical JSON) as `key: value` pairs, nested ones flattened with dots."""
    def pairs(value, prefix: str = ""):
        if isinstance(value, dict):
            for key, inner in value.items():
                yield from pairs(inner, f"{prefix}{key}.")
        else:
            yield f"{prefix[:-1]}: {', '.join(map(str, value)) if isinstance(value, list) else value}"
    try:
        return "; ".join(pairs(json.loads(text))) if text else ""
    except ValueError:
        return text


def duration(seconds: float) -> str:
    """Seconds as people read them: `38s`, `4m 24s`, `1h 02m`."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def as_labels(rows: list[dict], *columns: str) -> list[dict]:
    """`rows` with `columns` escaped for plotly, which renders links and styled text in labels: a campaign link
    must not put a clickable link of its own into a logged-in page."""
    return [row | {column: html.escape(str(row[column]), quote=False) for column in columns} for row in rows]


def summed(rows: list[dict], column: str, measure: str) -> list[dict]:
    """`measure` per value of `column`, summed over the rows' other columns, most first."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row[column]] = totals.get(row[column], 0) + row[measure]
    return [{column: value, measure: n} for value, n in sorted(totals.items(), key=lambda item: -item[1])]


def picks(title: str, rows: list[dict], column: str, measure: str, dimension: str, limit: int = 8) -> None:
    """A report's top rows as buttons: a click filters every page by that row's `column` (as `dimension`)."""
    st.subheader(title)
    if not rows:
        st.caption("Nothing in this period.")
    for row in rows[:limit]:
        value = str(row[column])
        # A masked path (a `*` where a record number was) matches no stored page, so it cannot filter.
        clickable = not (dimension == "path" and "*" in value)
        if st.button(f"{markdown_text(value)} · {row[measure]:,}", key=key_of(f"pick-{title}", value), width="stretch",
                     disabled=not clickable, help=f"Show only this {FILTERABLE[dimension].lower()}"):
            add_filter(dimension, value)


def goal_picks(figures: list[dict], defined: list[dict], limit: int = 8, title: str = "Goals") -> None:
    """Each goal's converted visits as a button: a click filters every page to the visits of its event or page
    (a page pattern with `*` names no one page, so it cannot filter)."""
    st.subheader(title)
    if not figures:
        st.caption("No goal was completed in this period." if defined else "No goals defined yet.")
    goals = {goal["name"]: goal for goal in defined}
    for row in figures[:limit]:
        goal = goals.get(row["goal"], {"kind": "page", "pattern": "*"})
        label = f"{markdown_text(row['goal'])} · {row['converted']:,} ({row['conversion_rate']:.1%})"
        if st.button(label, key=key_of("pick-goal", row["goal"]), width="stretch", disabled="*" in goal["pattern"],
                     help="Show only the visits that completed this goal"):
            add_filter("name" if goal["kind"] == "event" else "path", goal["pattern"])


def table(rows: list[dict], download: str | None = None, params: dict | None = None) -> None:
    """A report table (text shown as text, never as HTML), with an audited CSV download."""
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if download:
        client = api()  # the download runs outside this session's script run: capture the client now
        st.download_button(f"Download {download} as CSV",
                           data=lambda: client.text(f"/api/reports/{download}/csv", **(params or {})),
                           file_name=f"{download}.csv", mime="text/csv", key=f"csv-{download}")
