import html

import plotly.graph_objects as go
import streamlit as st

from dashboard.client import ApiRefused
from dashboard.pages import api, duration, fetch, period

st.title("Overview")
params = period()
report = fetch("/api/reports/overview", **params)
now, before = report["data"], report["previous"] or {}
# (label, key, how a value reads, whether a rise is good)
KPIS = [("Visitors", "visitors", "{:,}".format, True), ("Sessions", "sessions", "{:,}".format, True),
        ("Page views", "pageviews", "{:,}".format, True), ("Bounce rate", "bounce_rate", "{:.1%}".format, False),
        ("Session length", "session_seconds", duration, True), ("Conversions", "conversions", "{:,}".format, True),
        ("Conversion rate", "conversion_rate", "{:.1%}".format, True)]
for column, (label, key, shown, rise_is_good) in zip(st.columns(len(KPIS)), KPIS, strict=True):
    change = now[key] - before[key] if key in before else None
    delta = None if change is None else ("-" if change < 0 else "+") + shown(abs(change))
    column.metric(label, shown(now[key]), delta, delta_color="normal" if rise_is_good else "inverse")

METRICS = {"Visitors": "visitors", "Page views": "pageviews", "Conversions": "conversions"}
metric = st.radio("Chart", list(METRICS), horizontal=True, key="overview-metric")
series = fetch("/api/reports/timeseries", **params)["data"]
notes = fetch("/api/annotations", **{k: v for k, v in params.items() if k != "compare"})
chart = go.Figure(go.Scatter(x=[row["day"] for row in series], y=[row[METRICS[metric]] for row in series],
                             mode="lines", name=metric))
if notes:
    top = max([row[METRICS[metric]] for row in series] or [0])
    for note in notes:
        chart.add_shape(type="line", x0=note["day"], x1=note["day"], y0=0, y1=1, yref="paper",
                        line={"dash": "dot", "width": 1, "color": "gray"})
    # Plotly renders markup in hover text: an annotation is shown as the text it is.
    chart.add_trace(go.Scatter(x=[note["day"] for note in notes], y=[top] * len(notes), mode="markers",
                               name="Annotations", marker={"symbol": "triangle-down", "size": 10},
                               hovertext=[html.escape(f"{note['text']} ({note['author']})") for note in notes],
                               hoverinfo="text+x"))
chart.update_layout(title=f"{metric} per day", xaxis_title="Day", yaxis_title=metric, legend_title_text="")
st.plotly_chart(chart, width="stretch", key="overview-chart")

role, username = st.session_state.get("role"), st.session_state.get("username")
with st.expander(f"Annotations ({len(notes)})"):
    for note in notes:
        left, right = st.columns([6, 1])
        left.text(f"{note['day']}  {note['text']}  ({note['author']})")
        if (note["author"] == username or role == "admin") and right.button("Remove", key=f"remove-{note['annotation_id']}"):
            try:
                api().delete(f"/api/annotations/{note['annotation_id']}", site=params.get("site", ""))
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
    if role == "compliance":
        st.caption("Marketers, analysts and admins annotate.")
        st.stop()
    with st.form("annotate", clear_on_submit=True):
        day = st.date_input("Day", value=None)
        text = st.text_input("Note", max_chars=200, placeholder="Knee campaign launched")
        if st.form_submit_button("Annotate"):
            try:
                api().post("/api/annotations", {"day": str(day) if day else "", "text": text,
                                                "site": params.get("site", "")})
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
