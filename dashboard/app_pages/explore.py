import streamlit as st

from dashboard.pages import fetch, table
from dashboard.view import parsed_filters, period

st.title("Explore events")
st.caption("Single events with identifiers masked: visitors and sessions are pseudonyms, addresses their network.")
params = period()
params.pop("compare", None)
left, middle, right = st.columns(3)
# Examples as help, not as greyed-out text in the field, which reads as a filter already set.
filters = {"name": left.text_input("Event name", help="For example appointment_request"),
           "path": middle.text_input("Page path", help="For example /services/cardiology"),
           "utm_campaign": right.text_input("Campaign", help="For example knee-replacement")}
page = st.number_input("Page", min_value=1, value=1)
chosen = parsed_filters(params.pop("filter", [])) | {k: v for k, v in filters.items() if v}
found = fetch("/api/events", **params, filter=[f"{key}:{value}" for key, value in chosen.items()],
              page=page, page_size=100)
st.caption(f"{found['total']:,} events in sessions that match")
table(found["events"])
