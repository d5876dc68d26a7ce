"""What every report page shows: site, period, comparison and filters, kept in the page's URL to share.

A link with them opens the same view for a colleague (who still logs in); moving between pages keeps it.
"""

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import streamlit as st

from dashboard.client import ApiRefused

FILTERABLE = {"source": "Source", "utm_campaign": "Campaign", "path": "Page", "device_type": "Device",
              "browser": "Browser", "os": "OS", "name": "Event"}
"""Dimensions a click on a report's row filters by, with the names the chips show."""
_DAYS = 30
_MOST_DAYS = 400
_EARLIEST = date(2000, 1, 1)
_EVERY = {"No": "", "Every week": "week", "Every month": "month"}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$])")


class View:
    """The site, period, comparison and filters this session looks at."""

    def __init__(self, start: date, end: date, compare: bool = True, site: str = "",
                 filters: dict[str, str] | None = None) -> None:
        self.start, self.end, self.compare, self.site = start, end, compare, site
        self.filters = dict(filters or {})

    @classmethod
    def from_url(cls) -> "View | None":
        """The view a link names, if it names one."""
        url = st.query_params
        try:
            start, end = date.fromisoformat(url["from"]), date.fromisoformat(url["to"])
        except (KeyError, ValueError):
            return None
        if not _EARLIEST <= start <= end <= today() or (end - start).days >= _MOST_DAYS:
            return None  # a period the sidebar could not show
        return cls(start, end, url.get("compare") == "1", url.get("site", ""), parsed_filters(url.get_all("filter")))

    def params(self) -> dict:
        """As report parameters (and as the page's URL)."""
        params: dict = {"from": str(self.start), "to": str(self.end)}
        if self.site:
            params["site"] = self.site
        if self.compare:
            params["compare"] = "1"
        if self.filters:
            params["filter"] = [f"{key}:{value}" for key, value in self.filters.items()]
        return params


def today() -> date:
    """Today as the API counts days: in UTC."""
    return datetime.now(UTC).date()


def parsed_filters(texts: list[str]) -> dict[str, str]:
    """`dimension:value` texts as filters, those on a dimension a click cannot filter by dropped."""
    pairs = (text.split(":", 1) for text in texts if ":" in text)
    return {key: value for key, value in pairs if key in FILTERABLE}


def key_of(kind: str, value: str) -> str:
    """A widget key for `value`, the same wherever its row moves between one run and the next."""
    return f"{kind}-{hashlib.sha256(value.encode()).hexdigest()[:12]}"


def current() -> View:
    view = View.from_url() or st.session_state.get("view")
    if view is None:
        view = View(today() - timedelta(days=_DAYS - 1), today())
    st.session_state["view"] = view
    return view


def period() -> dict:
    """The sidebar's choice of site, period and comparison, with a chip per filter; report parameters."""
    view = current()
    with st.sidebar:
        chosen = st.date_input("Period", value=(view.start, view.end), max_value=today())
        view.compare = st.checkbox("Compare with the previous period", value=view.compare)
        view.site = st.text_input("Site", value=view.site, help="Empty: the first site")
        for key, value in list(view.filters.items()):
            if st.button(f"✕ {FILTERABLE[key]}: {markdown_text(value)}", key=f"chip-{key}",
                         help="Remove this filter"):
                del view.filters[key]
                _show(view)
        if isinstance(chosen, tuple) and len(chosen) == 2:
            view.start, view.end = chosen
        _saved_views(view)
    st.query_params.from_dict(view.params())
    return view.params()


def _saved_views(view: View) -> None:
    """Open, save or remove your saved views: a view keeps its period's length to today, not its dates."""
    client = st.session_state["api"]
    with st.expander("Saved views"):
        try:
            if "saved-views" not in st.session_state:  # each read is audited: read once, again after a change
                st.session_state["saved-views"] = client.get("/api/views")
            for named in st.session_state["saved-views"]:
                name, chosen = named["name"], named["view"]
                left, right = st.columns([4, 1])
                if left.button(markdown_text(name), key=key_of("view", name), width="stretch"):
                    _show(View(today() - timedelta(days=chosen["days"] - 1), today(), chosen["compare"],
                               chosen["site"], chosen["filters"]))
                if right.button("✕", key=key_of("forget", name), help=f"Remove the saved view {name}"):
                    _changed(lambda: client.delete(f"/api/views/{quote(name, safe='')}"))
                if chosen.get("email"):
                    st.caption(f"Emailed every {chosen['email']['every']} to {', '.join(chosen['email']['to'])}")
            name = st.text_input("Name", max_chars=60, key="view-name", placeholder="Knee campaign, mobile").strip()
            every = st.selectbox("Email it", list(_EVERY), key="view-every",
                                 help="On Mondays the week before, or on the 1st the month before, to your colleagues")
            to = st.text_input("To", key="view-to", disabled=not _EVERY[every],
                               placeholder="marketing@your-hospital.org, another one")
            if st.button("Save this view", disabled=not name,
                         help="Saves the period's length (the last so many days), the comparison, site and filters"):
                body = {"days": (view.end - view.start).days + 1, "compare": view.compare, "site": view.site,
                        "filters": view.filters}
                if _EVERY[every]:
                    body["email"] = {"every": _EVERY[every], "to": [a.strip() for a in to.split(",") if a.strip()]}
                _changed(lambda: client.put(f"/api/views/{quote(name, safe='')}", body))
        except ApiRefused as exc:
            st.error(exc)


def _changed(call) -> None:
    call()
    st.session_state.pop("saved-views", None)
    st.rerun()


def add_filter(dimension: str, value: str) -> None:
    """Filter every page by `dimension` = `value`, and show it."""
    view = current()
    view.filters[dimension] = value
    _show(view)


def _show(view: View) -> None:
    st.query_params.from_dict(view.params())
    st.rerun()


def markdown_text(text: str) -> str:
    """`text` as a label shows it: Streamlit reads labels as Markdown, so a link or emphasis must stay text."""
    return _MARKDOWN.sub(r"\\\1", str(text))
