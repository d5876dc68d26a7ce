import streamlit as st

from dashboard.pages import fetch, picks, table
from dashboard.view import period

st.title("Events and properties")
st.caption("Every event other than a page view, and what it carried. Values that look like an id, an email "
           "address or a phone number read *.")
params = period()
names = fetch("/api/reports/events", **params)["data"]
if not names:
    st.info("No events other than page views in this period.")
    st.stop()
left, right = st.columns([1, 2])
with left:
    picks("Events", names, "name", "events", "name", limit=12)
with right:
    # Engaged time and scroll depth are figures per page (on Content), not values to list.
    event = st.selectbox("Properties of", [row["name"] for row in names if row["name"] != "engagement"])
    rows = fetch("/api/reports/properties", event=event, **params)["data"] if event else []
    for prop in dict.fromkeys(row["property"] for row in rows):
        st.subheader("Pages" if prop == "page" else prop)
        table([{"Value": row["value"], "Events": row["events"], "Visitors": row["visitors"]}
               for row in rows if row["property"] == prop])
st.subheader("All events")
table(names, "events", params)
