import os

import streamlit as st

from dashboard.client import SIGN_IN_ENV, SIGN_IN_PROVIDER, ApiRefused


def _open(session: dict) -> None:
    st.session_state.update(username=session["username"], role=session["role"])
    st.rerun()


def _browser() -> str | None:
    browser = st.context.ip_address
    return browser if isinstance(browser, str) else None


def _sign_in(label: str) -> None:
    """The identity provider's button; back from the provider, its ID token is exchanged for a session once."""
    if st.user.is_logged_in and not st.session_state.get("signed_in_tried"):
        st.session_state["signed_in_tried"] = True  # a sign-in is taken once: a reload needs a new one
        try:
            _open(st.session_state["api"].sign_in(st.user.tokens["id"], _browser()))
        except ApiRefused as exc:
            if "used already" not in str(exc):  # a reload: the browser's sign-in is spent, the button makes another
                st.error(exc)
    st.button(f"Sign in with {label}", type="primary", on_click=st.login, args=(SIGN_IN_PROVIDER,))
    st.caption("or with a Sluice account")


st.title("Sluice")
if label := os.environ.get(SIGN_IN_ENV):
    _sign_in(label)
with st.form("login"):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password")
    submitted = st.form_submit_button("Log in")
if submitted:
    try:
        session = st.session_state["api"].log_in(username, password, _browser())
    except ApiRefused as exc:
        st.error(exc)
    else:
        _open(session)
