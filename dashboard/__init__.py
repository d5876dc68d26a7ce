"""The dashboard: a Streamlit client of the internal API."""
