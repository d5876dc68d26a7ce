from urllib.parse import quote

import streamlit as st

from dashboard.client import ApiRefused
from dashboard.pages import api, fetch, table

st.title("Admin: users")
table(fetch("/api/users"))
with st.form("add-user"):
    st.subheader("Add a user")
    username = st.text_input("Username")
    role = st.selectbox("Role", ["marketer", "analyst", "compliance", "admin"])
    password = st.text_input("Password (12+ characters)", type="password")
    if st.form_submit_button("Add"):
        try:
            api().post("/api/users", {"username": username, "role": role, "password": password})
            st.success(f"added {username}")
        except ApiRefused as exc:
            st.error(exc)
with st.form("disable-user"):
    st.subheader("Disable a user")
    name = st.text_input("Username to disable")
    if st.form_submit_button("Disable"):
        try:
            api().patch(f"/api/users/{quote(name, safe='')}", {"disabled": True})
            st.success(f"disabled {name}")
        except ApiRefused as exc:
            st.error(exc)
