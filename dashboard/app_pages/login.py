import streamlit as st

from dashboard.client import ApiRefused

st.title("Sluice")
with st.form("login"):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in")
if submitted:
    try:
        browser = st.context.ip_address
        session = st.session_state["api"].log_in(username, password, browser if isinstance(browser, str) else None)
    except ApiRefused as exc:
        st.error(exc)
    else:
        st.session_state.update(username=session["username"], role=session["role"])
        st.rerun()
