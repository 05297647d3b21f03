"""Streamlit helpers shared by the pages: cached state, widgets and figures. Pages only arrange them."""
