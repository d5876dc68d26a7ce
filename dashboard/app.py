"""The Sluice dashboard: `sluice dashboard` (which runs Streamlit through `dashboard.offline`).

The session token lives only in Streamlit's server-side session state; the browser never sees it.
"""

import os

import streamlit as st

from dashboard.client import SIGN_IN_ENV, Api
from dashboard.pages import pages_for

st.set_page_config(page_title="Sluice", layout="wide")

api: Api = st.session_state.setdefault("api", Api())
role = st.session_state.get("role")

if role is None:
    navigation = st.navigation([st.Page("app_pages/login.py", title="Log in", default=True)])
else:
    with st.sidebar:
        st.caption(f"{st.session_state['username']} ({role})")
        if st.button("Log out"):
            api.log_out()
            st.session_state.clear()
            if os.environ.get(SIGN_IN_ENV) and st.user.is_logged_in:
                st.logout()  # and out of the identity provider, where it offers that: a workstation may be shared
                st.stop()  # a rerun would drop the browser's redirect to the provider
            st.rerun()
    # Every page listed: past ten, Streamlit would fold the rest behind "View more".
    navigation = st.navigation([st.Page(path, title=title, url_path=slug) for slug, title, path in pages_for(role)],
                               expanded=True)
navigation.run()
