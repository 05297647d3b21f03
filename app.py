"""BreastXAI dashboard: the router. Each page is a ``render`` function in ``pages/``.

    streamlit run app.py

Pages are handed to ``st.Page`` as functions, so a page file does nothing when imported;
Streamlit's old convention of running every file in ``pages/`` on its own only ever reaches
a page file's ``__main__`` guard, which hands over to :func:`main`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from PIL import Image

from core.config import configure
from pages import about, analyse, compare, gallery, metrics, region
from ui import state

# The favicon is drawn here, not named as an icon: a named icon is fetched from a font CDN,
# and the app must work without reaching anything beyond its own server.
_yy, _xx = np.mgrid[:32, :32]
ICON = np.zeros((32, 32, 4), np.uint8)
ICON[(_yy - 15.5) ** 2 + (_xx - 15.5) ** 2 <= 15**2] = (11, 110, 130, 255)

# url path, render function, title, icon; the first is the landing page.
PAGE_SPECS = (
    ("analyse", analyse.render, "Analyse", ":material/image_search:"),
    ("region", region.render, "Region", ":material/grid_view:"),
    ("compare", compare.render, "Compare", ":material/compare:"),
    ("metrics", metrics.render, "Metrics", ":material/monitoring:"),
    ("gallery", gallery.render, "Gallery", ":material/photo_library:"),
    ("about", about.render, "Model card / About", ":material/info:"),
)


def page(url_path: str, default: str = "analyse") -> st.Page:
    """The app's page at ``url_path`` (for ``st.switch_page``)."""
    for path, render, title, icon in PAGE_SPECS:
        if path == url_path:
            return st.Page(render, title=title, icon=icon, url_path=path, default=path == default)
    raise KeyError(url_path)


def main(default: str = "analyse") -> None:
    """Run the app; ``default`` is the page shown at the root URL (tests open others there)."""
    configure()
    st.set_page_config(page_title="BreastXAI", page_icon=Image.fromarray(ICON), layout="wide")
    state.start_warm_up()
    state.mark_run_start()
    st.navigation([page(path, default) for path, *_ in PAGE_SPECS]).run()


if __name__ == "__main__":
    main()
