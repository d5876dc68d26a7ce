import streamlit as st

from dashboard.pages import fetch, picks, table
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
table(pages, "pages", params)
st.subheader("All entry pages")
table(entries, "entry-pages", params)
