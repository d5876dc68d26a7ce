import streamlit as st

from dashboard.pages import duration, fetch, picks, table
from dashboard.view import period

st.title("Content")
params = period()
pages = fetch("/api/reports/pages", **params)["data"]
entries = fetch("/api/reports/entry-pages", **params)["data"]
left, right = st.columns(2)
with left:
    picks("Top pages", pages, "path", "pageviews", "path")
with right:
    picks("Entry pages", entries, "path", "sessions", "path")
st.subheader("All pages")
# Engaged time and scroll depth are per view, where the snippet's extensions measure them.
table([{"Page": row["path"], "Views": row["pageviews"], "Visitors": row["visitors"],
        "Engaged time": duration(row["engaged_seconds"]) if row["engaged_seconds"] is not None else "not measured",
        "Scroll depth": f"{row['scroll_depth']:.0f}%" if row["scroll_depth"] is not None else "not measured"}
       for row in pages], "pages", params)
st.subheader("All entry pages")
table([{"Page": row["path"], "Visits that began there": row["sessions"]} for row in entries], "entry-pages", params)
