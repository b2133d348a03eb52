"""Write the vendored country shapes the insights world map draws (no CDN, no download at run
time): ``countries-110m.json`` from the npm package world-atlas (Natural Earth 1:110m admin-0
countries as TopoJSON; ids are ISO 3166-1 numeric codes).

Run it with npm on the PATH: `.venv/bin/python scripts/vendor-world-atlas.py`. It fetches the
package with `npm pack` (the ordinary client), checks the tarball against the integrity the
registry published for this version, and writes
src/townhall/web/static/vendor/world-atlas-<version>-countries-110m.json and its licence note.
After changing ``VERSION``, set ``ATLAS_VERSION`` in src/townhall/insights/world_map.py.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[1] / "src" / "townhall" / "web" / "static" / "vendor"

VERSION = "2.0.2"
INTEGRITY = (
    "sha512-IXfV0qwlKXpckz1FhwXVwKRjiIhOnWttOskm5CtxMsjgE/"
    "MXAYRHWJqgXOpM8IkcPBoXnyTU5lFHcYa5ChG0LQ=="
)
"""``npm view world-atlas@<VERSION> dist.integrity``: the tarball must match it."""

NOTE = """world-atlas-{version}-countries-110m.json comes unchanged from the npm package
world-atlas@{version} (https://github.com/topojson/world-atlas), written by
scripts/vendor-world-atlas.py.

The shapes are Natural Earth's 1:110m Admin 0 country boundaries (version 4.1.0), which are in
the public domain (https://www.naturalearthdata.com/about/terms-of-use/). The package itself is
under the ISC licence:

{licence}"""


def _check(tarball: Path) -> None:
    algorithm, _, expected = INTEGRITY.partition("-")
    digest = hashlib.new(algorithm, tarball.read_bytes()).digest()
    if base64.b64encode(digest).decode() != expected:
        raise SystemExit(f"{tarball.name} does not match the published integrity {INTEGRITY}")


def main() -> None:
    """Fetch the package, check it, and write the shapes and the licence note (prints sizes)."""
    with tempfile.TemporaryDirectory() as tmp:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not installed (apt-get install npm)")
        # Fixed arguments, no shell: nothing here comes from outside the script.
        name = subprocess.run(  # noqa: S603
            [npm, "pack", f"world-atlas@{VERSION}", "--pack-destination", tmp],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[-1]
        tarball = Path(tmp) / name
        _check(tarball)
        with tarfile.open(tarball) as archive:
            shapes = archive.extractfile("package/countries-110m.json")
            licence = archive.extractfile("package/LICENSE")
            assert shapes is not None and licence is not None
            data, licence_text = shapes.read(), licence.read().decode()
    for old in VENDOR.glob("world-atlas-*"):
        old.unlink()
    target = VENDOR / f"world-atlas-{VERSION}-countries-110m.json"
    target.write_bytes(data)
    note = VENDOR / f"world-atlas-{VERSION}-LICENSE.txt"
    note.write_text(NOTE.format(version=VERSION, licence=licence_text), encoding="utf-8")
    print(f"{target} {target.stat().st_size} bytes")
    print(f"{note} {note.stat().st_size} bytes")


if __name__ == "__main__":
    main()
