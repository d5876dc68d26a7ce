import plotly.express as px
import streamlit as st

from dashboard.pages import fetch, period

st.title("Overview")
params = period()
report = fetch("/api/reports/overview", **params)
now, before = report["data"], report["previous"] or {}
KPIS = [("Visitors", "visitors", "{:,}"), ("Sessions", "sessions", "{:,}"), ("Page views", "pageviews", "{:,}"),
        ("Bounce rate", "bounce_rate", "{:.1%}"), ("Session length (s)", "session_seconds", "{:,.0f}"),
        ("Conversions", "conversions", "{:,}"), ("Conversion rate", "conversion_rate", "{:.1%}")]
for column, (label, key, shape) in zip(st.columns(len(KPIS)), KPIS, strict=True):
    delta = shape.format(now[key] - before[key]) if key in before else None
    column.metric(label, shape.format(now[key]), delta)
series = fetch("/api/reports/timeseries", **params)["data"]
st.plotly_chart(px.line(series, x="day", y=["visitors", "pageviews", "conversions"], title="Per day"),
                width="stretch", key="overview-chart")
