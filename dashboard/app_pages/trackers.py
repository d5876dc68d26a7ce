import streamlit as st

from dashboard.pages import fetch, table

st.title("Website trackers")
st.caption("Third parties the website loads, found by scans (`sluice scan`) and by browsers' CSP reports.")
hosts = fetch("/api/trackers")
if not hosts:
    st.info("No scan yet: run `sluice scan`, or list [[scanner.targets]] for the daily scan.")
    st.stop()
left, middle, right = st.columns(3)
left.metric("Third-party hosts", len(hosts))
middle.metric("Not on the allow-list", sum(not h["allowed"] for h in hosts))
right.metric("New since the last scan", sum(h["new"] for h in hosts))
only_new = st.checkbox("Only new since the last scan")
table([{"site": h["site"], "host": h["host"], "vendor": h["vendor"] or "(unknown)",
        "allowed": "yes" if h["allowed"] else "NO", "BAA signed": h["baa_signed"] or "",
        "new": "new" if h["new"] else "", "first seen": h["first_seen"], "last seen": h["last_seen"],
        "found by": ", ".join(h["sources"]), "pages": ", ".join(h["pages"])}
       for h in hosts if h["new"] or not only_new])
