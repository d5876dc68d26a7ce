import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, picks, table
from dashboard.view import period

st.title("Acquisition")
params = period()
sources = fetch("/api/reports/sources", **params)["data"]
campaigns = fetch("/api/reports/campaigns", **params)["data"]
left, right = st.columns(2)
with left:
    picks("Top sources", sources, "source", "visitors", "source")
with right:
    picks("Top campaigns", campaigns, "campaign", "sessions", "utm_campaign")
if sources:
    chart = px.bar(as_labels(sources[:15], "source"), x="source", y="sessions", title="Sessions by source",
                   labels={"source": "Source", "sessions": "Sessions"})
    st.plotly_chart(chart, width="stretch")
st.subheader("Sources")
table(sources, "sources", params)
st.subheader("Campaigns")
table(campaigns, "campaigns", params)
