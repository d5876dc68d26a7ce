import plotly.express as px
import streamlit as st

from dashboard.pages import fetch, period

st.title("Overview")
params = period()
report = fetch("/api/reports/overview", **params)
now, before = report["data"], report["previous"] or {}
# (label, key, format, whether a rise is good)
KPIS = [("Visitors", "visitors", "{:,}", True), ("Sessions", "sessions", "{:,}", True),
        ("Page views", "pageviews", "{:,}", True), ("Bounce rate", "bounce_rate", "{:.1%}", False),
        ("Session length (s)", "session_seconds", "{:,.0f}", True), ("Conversions", "conversions", "{:,}", True),
        ("Conversion rate", "conversion_rate", "{:.1%}", True)]
for column, (label, key, shape, rise_is_good) in zip(st.columns(len(KPIS)), KPIS, strict=True):
    delta = shape.format(now[key] - before[key]) if key in before else None
    column.metric(label, shape.format(now[key]), delta, delta_color="normal" if rise_is_good else "inverse")
series = fetch("/api/reports/timeseries", **params)["data"]
st.plotly_chart(px.line(series, x="day", y=["visitors", "pageviews", "conversions"], title="Per day"),
                width="stretch", key="overview-chart")
