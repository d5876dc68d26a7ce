import html
from datetime import timedelta

import plotly.graph_objects as go
import streamlit as st

from dashboard.client import ApiRefused
from dashboard.pages import api, duration, fetch_all, goal_picks, picks, summed
from dashboard.view import period
from dashboard.view import today as current_day  # the API's day, in UTC

st.title("Overview")
params = period()
unpaired = {k: v for k, v in params.items() if k != "compare"}
TOPS = [("Top sources", "sources", "source", "visitors", "source"), ("Top pages", "pages", "path", "pageviews", "path"),
        ("Top campaigns", "campaigns", "campaign", "sessions", "utm_campaign"),
        ("Devices", "devices", "device_type", "visitors", "device_type")]
report, series, notes, goal_figures, defined, *tops = fetch_all(
    ("/api/reports/overview", params), ("/api/reports/timeseries", params), ("/api/annotations", unpaired),
    ("/api/reports/goals", unpaired), ("/api/goals", {"site": params.get("site", "")}),
    *((f"/api/reports/{name}", unpaired) for _, name, *_ in TOPS))
now, before = report["data"], report["previous"] or {}

def _points(change: float) -> str:
    """A change of a rate, in percentage points: 12.8 % to 13.8 % is `1.0 pts`, not 1 %."""
    return f"{change * 100:.1f} pts"


# (label, key, how a value reads, how its change reads, whether a rise is good)
KPIS = [("Visitors", "visitors", "{:,}".format, "{:,}".format, True),
        ("Sessions", "sessions", "{:,}".format, "{:,}".format, True),
        ("Page views", "pageviews", "{:,}".format, "{:,}".format, True),
        ("Bounce rate", "bounce_rate", "{:.1%}".format, _points, False),
        ("Session length", "session_seconds", duration, duration, True),
        ("Conversions", "conversions", "{:,}".format, "{:,}".format, True),
        ("Conversion rate", "conversion_rate", "{:.1%}".format, _points, True)]
for column, (label, key, shown, changed, rise_is_good) in zip(st.columns(len(KPIS)), KPIS, strict=True):
    change = now[key] - before[key] if key in before else None
    text = None if change is None else changed(abs(change))
    flat = text == changed(0)  # a change too small to show reads as none, not as a fall of "-0s"
    delta = None if text is None else text if flat else ("-" if change < 0 else "+") + text
    column.metric(label, shown(now[key]), delta, delta_color="off" if flat else "normal" if rise_is_good else "inverse",
                  delta_arrow="off" if flat else "auto",
                  help="Against the period before, of the same length" if delta else None)

METRICS = {"Visitors": "visitors", "Page views": "pageviews", "Conversions": "conversions"}
metric = st.radio("Chart", list(METRICS), horizontal=True, key="overview-metric")
series = series["data"]
days, values = [row["day"] for row in series], [row[METRICS[metric]] for row in series]
today = str(current_day())
# Today is not over: its part of the line is dotted, so that a day half counted does not read as a fall.
closed = len(days) - 1 if days and days[-1] == today else len(days)
chart = go.Figure(go.Scatter(x=days[:closed], y=values[:closed], mode="lines", name=metric))
if closed < len(days):
    chart.add_trace(go.Scatter(x=days[closed - 1:], y=values[closed - 1:], mode="lines", name="Today so far",
                               line={"dash": "dot", "color": "#1f77b4"}))
if notes:
    top = max(values or [0])
    for note in notes:
        chart.add_shape(type="line", x0=note["day"], x1=note["day"], y0=0, y1=1, yref="paper",
                        line={"dash": "dot", "width": 1, "color": "gray"})
    # Plotly renders markup in hover text: an annotation is shown as the text it is.
    chart.add_trace(go.Scatter(x=[note["day"] for note in notes], y=[top] * len(notes), mode="markers",
                               name="Annotations", marker={"symbol": "triangle-down", "size": 10},
                               hovertext=[html.escape(f"{note['author']}: {note['text']}", quote=False)
                                          for note in notes],
                               hoverinfo="text+x"))
chart.update_layout(title=f"{metric} per day", xaxis_title="Day", yaxis_title=metric, legend_title_text="",
                    yaxis_rangemode="tozero")
st.plotly_chart(chart, width="stretch", key="overview-chart")

# Three to a row, so that a page's path or a goal's name has room to be read.
*columns, last = [*st.columns(3), *st.columns(3)][:len(TOPS) + 1]
for column, (title, name, shown, measure, dimension), top in zip(columns, TOPS, tops, strict=True):
    rows = top["data"]
    if name == "devices":  # one row per device type, whatever the browser and system (a visitor has about one)
        rows = summed(rows, shown, measure)
    with column:
        picks(title, rows, shown, measure, dimension, limit=5)
with last:
    goal_picks(goal_figures["data"], defined, 5)

role, username = st.session_state.get("role"), st.session_state.get("username")
# The list stays open after an annotation is added or removed, to show the change.
with st.expander(f"Annotations ({len(notes)})", expanded=st.session_state.pop("annotations-open", False)):
    for note in notes:
        left, right = st.columns([6, 1])
        left.text(f"{note['day']}  {note['author']}: {note['text']}")  # the author first: no text can hide it
        if (note["author"] == username or role == "admin") and right.button("Remove", key=f"remove-{note['annotation_id']}"):
            try:
                api().delete(f"/api/annotations/{note['annotation_id']}", site=params.get("site", ""))
                st.session_state["annotations-open"] = True
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
    if role == "compliance":
        st.caption("Marketers, analysts and admins annotate.")
        st.stop()
    with st.form("annotate", clear_on_submit=True):
        day = st.date_input("Day", value=current_day(), max_value=current_day() + timedelta(days=1))
        text = st.text_input("Note", max_chars=200, placeholder="Knee campaign launched")
        if st.form_submit_button("Annotate"):
            try:
                api().post("/api/annotations", {"day": str(day) if day else "", "text": text,
                                                "site": params.get("site", "")})
                st.session_state["annotations-open"] = True
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
