import streamlit as st

from dashboard.pages import fetch, period, table

st.title("Content")
params = period()
st.subheader("Top pages")
table(fetch("/api/reports/pages", **params)["data"], "pages", params)
st.subheader("Entry pages")
table(fetch("/api/reports/entry-pages", **params)["data"], "entry-pages", params)
