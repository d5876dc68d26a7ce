import streamlit as st

from dashboard.pages import fetch, table

PAGE_SIZE = 100

st.title("Website trackers")
st.caption("Third parties the website loads, found by scans (`sluice scan`) and by browsers' CSP reports; "
           "known trackers first.")
first = fetch("/api/trackers", page=1, page_size=PAGE_SIZE)
if not first["total"]:
    st.info("No scan yet: run `sluice scan`, or list [[scanner.targets]] for the daily scan.")
    st.stop()
left, middle, right = st.columns(3)
left.metric("Third-party hosts", first["total"])
middle.metric("Not on the allow-list", first["not_allowed"])
right.metric("New since the last scan", first["new"])
pages = -(-first["total"] // PAGE_SIZE)
page = st.number_input(f"Page (of {pages})", min_value=1, max_value=pages, value=1) if pages > 1 else 1
shown = first if page == 1 else fetch("/api/trackers", page=page, page_size=PAGE_SIZE)
only_new = st.checkbox("Only new since the last scan")
table([{"site": h["site"], "host": h["host"], "vendor": h["vendor"] or "(unknown)",
        "allowed": "yes" if h["allowed"] else "NO", "BAA signed": h["baa_signed"] or "",
        "new": "new" if h["new"] else "", "first seen": h["first_seen"], "last seen": h["last_seen"],
        "found by": ", ".join(h["sources"]), "pages": ", ".join(h["pages"])}
       for h in shown["hosts"] if h["new"] or not only_new])
