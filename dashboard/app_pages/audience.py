import plotly.express as px
import streamlit as st

from dashboard.pages import as_labels, fetch, picks, summed, table
from dashboard.view import period

st.title("Audience")
params = period()
devices = fetch("/api/reports/devices", **params)["data"]
for column, (title, dimension) in zip(st.columns(3), [("Devices", "device_type"), ("Browsers", "browser"),
                                                      ("Operating systems", "os")], strict=True):
    with column:
        # Visitors summed over the other two columns: a visitor has about one combination.
        picks(title, summed(devices, dimension, "visitors"), dimension, "visitors", dimension)
if devices:
    by_device = as_labels(summed(devices, "device_type", "visitors"), "device_type")
    chart = px.pie(by_device, names="device_type", values="visitors", title="Visitors by device",
                   labels={"device_type": "Device", "visitors": "Visitors"})
    st.plotly_chart(chart, width="stretch")
table(devices, "devices", params)
