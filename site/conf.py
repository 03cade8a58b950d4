"""Sphinx configuration of the results book (`make site`; utils/site.py builds it).

utils/site.py copies this folder into build/site-src/ together with the executed notebooks, the
landing page it writes (index.md) and site.json, the values that change with each run: the
project's address, the mode banner and the run's provenance line. The Korean section (ko/: its
landing page and a page per Korean notebook, from `make run LANG=ko`) gets its own banner and
footer from site.json's "ko", and lang="ko" on its pages (_korean_pages below). Nothing here
executes a notebook, and nothing the built pages load comes from outside the site folder:
MathJax is served from _static/mathjax (copied from the sphinx-mathjax-offline package by
utils/site.py), the theme's fonts and icons are its own static files.
"""

import json
import re
from pathlib import Path

SITE = json.loads((Path(__file__).parent / "site.json").read_text(encoding="utf-8"))

project = SITE["title"]
author = ""  # the footer's copyright line names them
copyright = "the Keras Training Tips contributors; the code is under the MIT licence"
language = "en"

extensions = ["myst_nb"]
exclude_patterns = ["_build", ".doctrees", "site.json", "**.ipynb_checkpoints"]

# The notebooks arrive executed by `make run`: show their outputs, never run them again.
nb_execution_mode = "off"
nb_merge_streams = True  # one block per stream, not one per flush
nb_ipywidgets_js = {}  # no widget scripts (they would come from a CDN)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

# MathJax from the site itself (utils/site.py copies it to _static/mathjax).
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = SITE["title"]
html_static_path = ["_static"]
html_css_files = ["site.css"]
html_favicon = "_static/favicon.svg"  # else browsers ask for /favicon.ico, which is not there
html_copy_source = True  # the executed notebooks, offered for download
html_sourcelink_suffix = ""  # _sources/notebooks/NN_slug.ipynb, not .ipynb.txt
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": SITE["repository_url"],
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "use_fullscreen_button": False,
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "announcement": SITE["banner"],
    "extra_footer": SITE["footer"],
}
html_context = {"default_mode": "auto"}  # light or dark as the reader's system is
# The header has the search field already: the left sidebar keeps the title and the pages.
html_sidebars = {"**": ["navbar-logo.html", "sbt-sidebar-nav.html"]}


KOREAN = SITE.get("ko")  # the Korean section's banner and footer; absent when it has no pages


def _korean_pages(app, pagename, templatename, context, doctree):
    """The pages under ko/: lang="ko", the Korean run's banner and footer, and the header's
    launch buttons pointing at the Korean notebooks (notebooks/ko/ in the repository, where the
    theme would name ko/notebooks/, the page's place in the site)."""
    if KOREAN is None or not pagename.startswith("ko/"):
        return
    context["language"] = "ko"
    context["theme_announcement"] = KOREAN["banner"]
    context["theme_extra_footer"] = KOREAN["footer"]

    def fix(buttons):
        for button in buttons:
            url = button.get("url")
            if isinstance(url, str) and url.startswith("https://"):  # not the downloads
                button["url"] = re.sub(r"(/blob/[^/]+/)ko/notebooks/", r"\1notebooks/ko/", url)
            fix(button.get("buttons", []))

    fix(context.get("header_buttons", []))


def setup(app):
    # after the theme's own handlers (priority 501), which add the launch buttons
    app.connect("html-page-context", _korean_pages, priority=900)
