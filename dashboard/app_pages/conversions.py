import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, table
from dashboard.view import period

st.title("Conversions and funnels")
params = period()
table(fetch("/api/reports/conversions", **params)["data"], "conversions", params)
st.subheader("Funnel")
steps = st.text_input("Steps (event names or /paths, comma separated)", "/services/cardiology, appointment_request")
chosen = [step.strip() for step in steps.split(",") if step.strip()]
if len(chosen) >= 2:
    funnel = fetch("/api/reports/funnel", step=chosen, **params)["data"]
    st.plotly_chart(px.funnel(as_labels(funnel, "step"), x="sessions", y="step"), width="stretch")
