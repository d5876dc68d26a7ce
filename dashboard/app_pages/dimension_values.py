import streamlit as st

from dashboard.pages import fetch
from dashboard.view import period

st.title("Forwarder values: what each campaign dimension held")
st.caption("A forwarder sends a free-text dimension only with the values its policy declares "
           "(`forwarder.values` or `forwarder.patterns`); every other value leaves as (other). These are the "
           "values seen in the period, masked like every report, with their visitors, to build that list from.")
params = period()
params.pop("compare", None)
seen = fetch("/api/dimension-values", **params)
for dimension, values in seen.items():
    st.subheader(dimension)
    if values:
        st.dataframe(values, hide_index=True, width="stretch",
                     column_config={"value": "Value", "visitors": st.column_config.NumberColumn("Visitors")})
        st.code(f"{dimension} = {[row['value'] for row in values if row['value'] != '*']!r}", language="toml")
    else:
        st.info(f"No {dimension} seen in this period.")
