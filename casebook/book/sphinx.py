"""The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``)."""


def setup(app):
    """The book's Sphinx extension (``_config.yml``: ``sphinx.extra_extensions``).

    Jupyter Book always loads sphinx-thebe, whose inline configuration lands twice on every
    page (a console error: "Identifier 'THEBE_JS_URL' has already been declared") and names a
    CDN. The book has no thebe button, so its pages go without thebe's assets.
    """
    app.connect("html-page-context", drop_thebe_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def drop_thebe_assets(app, pagename, templatename, context, doctree):
    def thebe(asset):
        body = getattr(asset, "attributes", {}).get("body") or ""
        return "thebe" in str(getattr(asset, "filename", asset) or "") or "THEBE" in body

    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [asset for asset in context[key] if not thebe(asset)]
