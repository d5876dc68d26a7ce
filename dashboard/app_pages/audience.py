import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, period, table

st.title("Audience")
params = period()
devices = fetch("/api/reports/devices", **params)["data"]
if devices:
    st.plotly_chart(px.pie(as_labels(devices, "device_type"), names="device_type", values="visitors", title="Visitors by device"),
                    width="stretch")
table(devices, "devices", params)
