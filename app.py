"""BreastXAI dashboard: only the router. Each page lives in pages/.

    streamlit run app.py
"""

from pathlib import Path

import streamlit as st

import numpy as np
from PIL import Image

# The favicon is drawn here, not named as an icon: a named icon is fetched from a font CDN,
# and the app must work without reaching anything beyond its own server.
_yy, _xx = np.mgrid[:32, :32]
ICON = np.zeros((32, 32, 4), np.uint8)
ICON[(_yy - 15.5) ** 2 + (_xx - 15.5) ** 2 <= 15**2] = (11, 110, 130, 255)
st.set_page_config(page_title="BreastXAI", page_icon=Image.fromarray(ICON), layout="wide")

HERE = Path(__file__).resolve().parent
pages = [st.Page("pages/analyse.py", title="Analyse", icon=":material/image_search:", default=True)]
if (HERE / "pages" / "region.py").exists():
    pages.append(st.Page("pages/region.py", title="Region", icon=":material/grid_view:"))
pages += [
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/metrics.py", title="Metrics", icon=":material/monitoring:"),
    st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
    st.Page("pages/about.py", title="Model card / About", icon=":material/info:"),
]
st.navigation(pages).run()
