import streamlit as st

from dashboard.pages import fetch, table

st.title("Realtime: the last 30 minutes")
now = fetch("/api/reports/realtime")
left, right = st.columns(2)
left.metric("Visitors", now["visitors"])
right.metric("Page views", now["pageviews"])
table(now["pages"])
st.button("Refresh")
