import streamlit as st

from dashboard.pages import fetch, table

st.title("Compliance: audit log")
left, middle, right = st.columns(3)
actor = left.text_input("Actor", placeholder="user:alice")
action = middle.text_input("Action", placeholder="report.read")
outcome = right.selectbox("Outcome", ["", "success", "failure", "denied"])
page = st.number_input("Page", min_value=1, value=1)
found = fetch("/api/audit", actor=actor, action=action, outcome=outcome, page=page, page_size=100)
st.caption(f"{found['total']:,} entries match")
table([{key: entry[key] for key in ("seq", "time", "actor", "action", "resource", "outcome", "detail")}
       for entry in found["entries"]])
