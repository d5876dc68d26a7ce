"""What every report page shows: site, period, comparison and filters, kept in the page's URL to share.

A link with them opens the same view for a colleague (who still logs in); moving between pages keeps it.
"""

import re
from datetime import date, timedelta
from urllib.parse import quote

import streamlit as st

from dashboard.client import ApiRefused

FILTERABLE = {"source": "Source", "utm_campaign": "Campaign", "path": "Page", "device_type": "Device",
              "browser": "Browser", "os": "OS", "name": "Event"}
"""Dimensions a click on a report's row filters by, with the names the chips show."""
_DAYS = 30
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
        filters = dict(text.split(":", 1) for text in url.get_all("filter") if ":" in text)
        return cls(start, end, url.get("compare") == "1", url.get("site", ""),
                   {key: value for key, value in filters.items() if key in FILTERABLE})

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


def current() -> View:
    view = View.from_url() or st.session_state.get("view")
    if view is None:
        today = date.today()
        view = View(today - timedelta(days=_DAYS - 1), today)
    st.session_state["view"] = view
    return view


def period() -> dict:
    """The sidebar's choice of site, period and comparison, with a chip per filter; report parameters."""
    view = current()
    with st.sidebar:
        chosen = st.date_input("Period", value=(view.start, view.end), max_value=date.today())
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
    """Open one of your saved views, or save this one: its period's length to today, not its dates."""
    client = st.session_state["api"]
    with st.expander("Saved views"):
        try:
            saved = client.get("/api/views")
            for i, named in enumerate(saved):
                if st.button(markdown_text(named["name"]), key=f"view-{i}", width="stretch"):
                    chosen = named["view"]
                    _show(View(date.today() - timedelta(days=chosen["days"] - 1), date.today(), chosen["compare"],
                               chosen["site"], chosen["filters"]))
            name = st.text_input("Name", max_chars=60, key="view-name", placeholder="Knee campaign, mobile")
            if st.button("Save this view", help="Saves the period's length (the last so many days), the "
                                                "comparison, site and filters"):
                days = (view.end - view.start).days + 1
                client.put(f"/api/views/{quote(name.strip(), safe='')}",
                           {"days": days, "compare": view.compare, "site": view.site, "filters": view.filters})
                st.rerun()
        except ApiRefused as exc:
            st.error(exc)


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
