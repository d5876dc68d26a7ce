import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, period, table

st.title("Acquisition")
params = period()
sources = fetch("/api/reports/sources", **params)["data"]
if sources:
    st.plotly_chart(px.bar(as_labels(sources[:15], "source"), x="source", y="sessions", title="Sessions by source"),
                    width="stretch")
table(sources, "sources", params)
st.subheader("Campaigns")
table(fetch("/api/reports/campaigns", **params)["data"], "campaigns", params)
