import streamlit as st

from dashboard.client import ApiRefused
from dashboard.pages import api, fetch, goal_picks, table
from dashboard.view import period

BREAKDOWNS = {"Source": "source", "Campaign": "campaign", "Entry page": "entry_page", "Device": "device_type"}

st.title("Goals")
params = {key: value for key, value in period().items() if key != "compare"}  # no figures of the period before
site = params.get("site", "")
defined = fetch("/api/goals", site=site)
figures = fetch("/api/reports/goals", **params)["data"]
if not defined:
    st.info("No goals yet. An analyst or admin names one below: an event (such as appointment_request) or a "
            "page (such as /appointments/thank-you, or /services/* for every page under /services/).")
else:
    goal_picks(figures, defined, title="Converted visits, and their share of all visits")
    by = st.radio("Break each goal down by", list(BREAKDOWNS), horizontal=True)
    rows = fetch("/api/reports/goals", by=BREAKDOWNS[by], **params)["data"]
    column = BREAKDOWNS[by]
    table([{"Goal": row["goal"], by: row[column] or "(none)", "Visits": row["visits"],
            "Converted visits": row["converted"], "Conversion rate": f"{row['conversion_rate']:.1%}",
            "Completions": row["conversions"], "Value": row["value"]} for row in rows])

role = st.session_state.get("role")
if role not in ("analyst", "admin"):
    st.caption("Analysts and admins define goals.")
    st.stop()
with st.expander(f"Defined goals ({len(defined)})", expanded=not defined):
    for goal in defined:
        left, right = st.columns([6, 1])
        left.text(f"{goal['name']}: {goal['kind']} {goal['pattern']} · worth {goal['value']:g} · by {goal['author']}")
        if right.button("Remove", key=f"remove-goal-{goal['goal_id']}"):
            try:
                api().delete(f"/api/goals/{goal['goal_id']}", site=site)
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
    with st.form("new-goal", clear_on_submit=True):
        name = st.text_input("Goal name", max_chars=80, help="What the team calls it, e.g. Appointment booked")
        kind = st.radio("Completed by", ["an event", "a page view"], horizontal=True)
        pattern = st.text_input("Event name or page path", max_chars=251,
                                help="An event such as appointment_request, or a path such as /thank-you; "
                                     "* in a path stands for any characters")
        value = st.number_input("Value of one completion", min_value=0.0, max_value=1_000_000.0, step=10.0,
                                help="Used where the event carries no value of its own")
        if st.form_submit_button("Add goal"):
            body = {"name": name, "value": value, "site": site,
                    ("event" if kind == "an event" else "page"): pattern.strip()}
            try:
                api().post("/api/goals", body)
                st.rerun()
            except ApiRefused as exc:
                st.error(exc)
