import streamlit as st

from dashboard.pages import detail, fetch, moment, table

st.title("Compliance: audit log")
left, middle, right = st.columns(3)
actor = left.text_input("Actor", placeholder="user:alice")
action = middle.text_input("Action", placeholder="report.read")
outcome = right.selectbox("Outcome", ["", "success", "failure", "denied"])
page = st.number_input("Page", min_value=1, value=1)
found = fetch("/api/audit", actor=actor, action=action, outcome=outcome, page=page, page_size=100)
st.caption(f"{found['total']:,} entries match")
table([{"Time (UTC)": moment(entry["time"]), "Actor": entry["actor"], "Action": entry["action"],
        "Resource": entry["resource"], "Outcome": entry["outcome"], "Detail": detail(entry["detail"]),
        "Writer (chain · number)": f"{entry['chain']} · {entry['seq']}"} for entry in found["entries"]])

st.header("Forwarder outbox")
st.caption("Every cell the forwarder released, suppressed, sent or held back. The exact payloads are "
           "the audit log's forward.request entries.")
outbox = fetch("/api/outbox", days=30)
if outbox["status"]["exact"]:
    st.warning("Exact mode (allow_exact): counts leave as they are, and no privacy budget bounds what they reveal.")
for signal, spent in outbox["status"]["epsilon_this_month"].items():
    st.caption(f"Privacy budget spent this month by {signal}: epsilon {spent:g} of its monthly "
               f"{outbox['status']['monthly_epsilon']:g}")
if outbox["records"]:
    table([{"window": r["window_start"], "destination": r["destination"], "signal": r["signal"],
            "cell": ", ".join(f"{k}={v}" for k, v in r["cell"].items()), "visitors": r["visitors"],
            "conversions": r["conversions"], "value": r["value"], "state": r["state"], "reason": r["reason"]}
           for r in reversed(outbox["records"])])
else:
    st.info("Nothing has been forwarded yet.")
