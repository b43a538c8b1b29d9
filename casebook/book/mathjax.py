"""MathJax for the site, fetched once with ``npm pack`` and checked, so the pages read offline."""

import hashlib
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

MATHJAX = "3.2.2"  # the MathJax 3 that Jupyter Book 1 would load from jsDelivr
MATHJAX_SHA256 = "1b9c0a1c44df864e915690558e72adb9cc5203360daefd385084ced3b6c64c09"
# What tex-mml-chtml.js loads at run time (fonts, TeX extensions, menu, speech); the other
# combined builds of the package are left out.
MATHJAX_PARTS = ("tex-mml-chtml.js", "input", "output", "ui", "a11y", "adaptors", "sre")


def mathjax(root):
    """MathJax's es5 build for the site, fetched once (npm pack, or the npm registry when npm is
    not installed) into _build/vendor and checked against its sha256."""
    folder = root / "_build" / "vendor" / f"mathjax-{MATHJAX}"
    if (folder / "tex-mml-chtml.js").exists():
        return folder
    print(f"fetching MathJax {MATHJAX} into {folder}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / f"mathjax-{MATHJAX}.tgz"
        npm = shutil.which("npm")
        if npm is not None:  # the registry, proxy and credentials npm is configured with
            subprocess.run(
                [npm, "pack", f"mathjax@{MATHJAX}", "--pack-destination", tmp, "--silent"],
                check=True,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
            )
        else:  # the same file, straight from the registry
            import urllib.request

            registry = os.environ.get("npm_config_registry", "https://registry.npmjs.org")
            url = f"{registry.rstrip('/')}/mathjax/-/{tarball.name}"
            urllib.request.urlretrieve(url, tarball)
        digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
        if digest != MATHJAX_SHA256:
            raise RuntimeError(f"{tarball.name} has sha256 {digest}, expected {MATHJAX_SHA256}")
        with tarfile.open(tarball) as archive:
            archive.extractall(tmp, filter="data")
        package = Path(tmp) / "package"
        partial = folder.with_name(f"{folder.name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        shutil.copy2(package / "LICENSE", partial / "LICENSE")
        for part in MATHJAX_PARTS:
            source = package / "es5" / part
            if source.is_dir():
                shutil.copytree(source, partial / part)
            else:
                shutil.copy2(source, partial / part)
        partial.rename(folder)
    return folder
