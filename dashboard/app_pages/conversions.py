import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, table
from dashboard.view import period

st.title("Conversions and funnels")
params = period()
conversions = fetch("/api/reports/conversions", **params)["data"]
# A visit with no campaign or source has an empty one: shown as such, not as a blank.
table([row | {key: row[key] or "(none)" for key in ("campaign", "source")} for row in conversions], "conversions",
      params)
st.subheader("Funnel")
steps = st.text_input("Steps (event names or /paths, comma separated)", "/services/cardiology, appointment_request")
chosen = [step.strip() for step in steps.split(",") if step.strip()]
if len(chosen) >= 2:
    funnel = fetch("/api/reports/funnel", step=chosen, **params)["data"]
    first = max(funnel[0]["sessions"], 1)
    shown = [row | {"of the first step": f"{row['sessions'] / first:.0%}"} for row in as_labels(funnel, "step")]
    chart = px.funnel(shown, x="sessions", y="step", text="of the first step", title="Sessions reaching each step",
                      labels={"sessions": "Sessions", "step": "Step"})
    st.plotly_chart(chart, width="stretch")
