"""Write the vendored Vega / Vega-Lite / vega-embed bundle the insights pages load (no CDN).

Run it after upgrading vl-convert-python: `.venv/bin/python scripts/vendor-vega.py`. It writes
src/townhall/web/static/vendor/vega-embed-bundle-<vl-convert version>.js and removes older ones;
then set ``VEGA_BUNDLE`` in src/townhall/web/insights.py to the new file name.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import vl_convert

VENDOR = Path(__file__).resolve().parents[1] / "src" / "townhall" / "web" / "static" / "vendor"


def main() -> None:
    """Write the bundle and print its path and size (bytes)."""
    name = f"vega-embed-bundle-{version('vl-convert-python')}.js"
    for old in VENDOR.glob("vega-embed-bundle-*.js"):
        if old.name != name:
            old.unlink()
    target = VENDOR / name
    vega_lite = vl_convert.get_vegalite_versions()[-1]
    header = (
        f"/* vega {vl_convert.get_vega_version()}, vega-lite {vega_lite}, "
        f"vega-embed {vl_convert.get_vega_embed_version()}: bundled by vl-convert-python "
        f"{version('vl-convert-python')} (scripts/vendor-vega.py). Vega, Vega-Lite and "
        "vega-embed are BSD-3-Clause; the libraries bundled with them keep their own "
        "licences (d3: ISC, lodash.debounce: MIT). */\n"
    )
    target.write_text(header + vl_convert.javascript_bundle() + "\n", encoding="utf-8")
    print(f"{target} {target.stat().st_size} bytes")


if __name__ == "__main__":
    main()
