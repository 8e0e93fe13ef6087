"""Build ``gongshu/web/static/geo/shanghai.json``: the outlines of Shanghai's 16 districts.

Source: the npm package ``echarts@4.9.0`` (Apache-2.0), file ``map/json/province/shanghai.json``
(ECharts 5 no longer ships map data). That file is in ECharts' compressed form (``UTF8Encoding``:
zigzag-encoded deltas in units of 1/1024 degree); this script decodes it into plain GeoJSON,
names every feature with its current Chinese name and its 6-digit division code from
``gongshu/orgs/data/districts.yaml`` (the divisions ``gongshu db upgrade`` seeds), merges any
former district into the one that absorbed it (aliases in ``gongshu/cleanse/data/districts.yaml``,
e.g. 闸北区 → 静安区), and orders the features by code. See ``gongshu/web/static/geo/README.md``.

Usage (offline but for the npm registry)::

    cd /tmp && npm pack echarts@4.9.0
    python tools/build_shanghai_geo.py /tmp/echarts-4.9.0.tgz

The tarball is checked against the npm integrity below before anything is read from it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "gongshu/web/static/geo/shanghai.json"
MEMBER = "package/map/json/province/shanghai.json"
INTEGRITY = "sha512-+ugizgtJ+KmsJyyDPxaw2Br5FqzuBnyOWwcxPKO6y0gc5caYcfnEUIlNStx02necw8jmKmTafmpHhGo4XDtEIA=="
SCALE = 1024  # ECharts' default encodeScale
DECIMALS = 6  # k/1024 degrees need at most 10; 6 decimals is ~0.1 m, far below the outlines' accuracy
SOURCE = (
    "npm echarts@4.9.0 map/json/province/shanghai.json (Apache-2.0), decoded by tools/build_shanghai_geo.py"
)

Ring = list[list[float]]
Polygon = list[Ring]


def check_integrity(tarball: Path) -> None:
    digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode("ascii")
    if f"sha512-{digest}" != INTEGRITY:
        raise SystemExit(f"{tarball}: sha512-{digest} is not the integrity of echarts@4.9.0 ({INTEGRITY})")


def read_source(tarball: Path) -> dict[str, Any]:
    check_integrity(tarball)
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise SystemExit(f"{tarball} has no {MEMBER}")
        source: dict[str, Any] = json.loads(member.read().decode("utf-8"))
    return source


def decode_ring(encoded: str, offset: list[int]) -> Ring:
    """One ring of ECharts' compressed geometry (zigzag-encoded deltas, two characters a point)."""
    x, y = offset
    ring: Ring = []
    for i in range(0, len(encoded), 2):
        dx, dy = ord(encoded[i]) - 64, ord(encoded[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        ring.append([round(x / SCALE, DECIMALS), round(y / SCALE, DECIMALS)])
    return ring


def clean_ring(ring: Ring, *, exterior: bool) -> Ring:
    """A valid closed ring: no repeated points, spikes (A, B, A) or pinched loops, right-hand wound.

    Quantising to 1/1024 degree made some neighbouring points equal; what that left behind (a
    spike going out and back, or a loop of a few points touching the ring at one vertex) makes
    the ring self-touching, which GeoJSON consumers may reject. Dropping them changes the area
    by a few quantisation cells. Exterior rings turn counterclockwise, holes clockwise (RFC 7946).
    """
    points = [tuple(p) for p in ring]
    if points[0] == points[-1]:
        points.pop()
    changed = True
    while changed:
        before = len(points)
        points = _without_spikes(points)
        points = _without_loops(points)
        changed = len(points) != before
    if (_signed_area(points) > 0) != exterior:
        points.reverse()
    return [list(p) for p in [*points, points[0]]]


def _without_spikes(points: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    kept: list[tuple[float, ...]] = []
    for point in points:
        if kept and kept[-1] == point:
            continue
        if len(kept) >= 2 and kept[-2] == point:  # A, B, A: back where it was
            kept.pop()
            continue
        kept.append(point)
    while len(kept) > 3:  # the same where the ring closes
        if kept[0] == kept[-1]:
            kept.pop()
        elif kept[0] == kept[-2]:  # ..., A, B | A, ...
            del kept[-2:]
        elif kept[1] == kept[-1]:  # ..., B | A, B, ...
            kept.pop()
            kept.pop(0)
        else:
            break
    return kept


def _without_loops(points: list[tuple[float, ...]]) -> list[tuple[float, ...]]:
    """Drop the shorter side of a ring that passes twice through the same point."""
    seen: dict[tuple[float, ...], int] = {}
    for index, point in enumerate(points):
        if point in seen:
            first = seen[point]
            if index - first <= len(points) // 2:
                return points[: first + 1] + points[index + 1 :]
            return points[first:index]
        seen[point] = index
    return points


def _signed_area(points: list[tuple[float, ...]]) -> float:
    pairs = zip(points, [*points[1:], points[0]], strict=True)
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in pairs) / 2


def polygons_of(geometry: dict[str, Any], encoded: bool) -> list[Polygon]:
    """The geometry's polygons (a Polygon is a MultiPolygon of one), decoded where needed."""
    coordinates = geometry["coordinates"]
    offsets = geometry.get("encodeOffsets")
    if geometry["type"] == "Polygon":
        coordinates, offsets = [coordinates], [offsets] if offsets else None
    if encoded:
        assert offsets is not None
        coordinates = [
            [decode_ring(ring, offset) for ring, offset in zip(polygon, polygon_offsets, strict=True)]
            for polygon, polygon_offsets in zip(coordinates, offsets, strict=True)
        ]
    return [
        [clean_ring(ring, exterior=index == 0) for index, ring in enumerate(polygon)]
        for polygon in coordinates
    ]


def current_districts() -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The seeded districts (code order) and every name, former ones included, → current code."""
    districts = yaml.safe_load((ROOT / "gongshu/orgs/data/districts.yaml").read_text("utf-8"))
    cleanse = yaml.safe_load((ROOT / "gongshu/cleanse/data/districts.yaml").read_text("utf-8"))
    codes = {d["name"]: d["code"] for d in districts}
    for d in cleanse["districts"]:
        codes.update({alias: d["code"] for alias in d["aliases"]})
    return sorted(districts, key=lambda d: d["code"]), codes


def build(source: dict[str, Any]) -> dict[str, Any]:
    districts, codes = current_districts()
    shapes: dict[str, list[Polygon]] = {d["code"]: [] for d in districts}
    encoded = bool(source.get("UTF8Encoding"))
    for found in source["features"]:
        name = found["properties"]["name"]
        if name not in codes:
            raise SystemExit(f"{name!r} is neither a current district nor a former one")
        shapes[codes[name]].extend(polygons_of(found["geometry"], encoded))
    missing = [code for code, polygons in shapes.items() if not polygons]
    if missing:
        raise SystemExit(f"no outline for {missing}")
    return {
        "type": "FeatureCollection",
        "source": SOURCE,
        "features": [district_feature(d, shapes[d["code"]]) for d in districts],
    }


def district_feature(district: dict[str, Any], polygons: list[Polygon]) -> dict[str, Any]:
    geometry: dict[str, Any] = (
        {"type": "Polygon", "coordinates": polygons[0]}
        if len(polygons) == 1
        else {"type": "MultiPolygon", "coordinates": polygons}
    )
    properties = {"code": district["code"], "name": district["name"], "name_en": district["name_en"]}
    return {"type": "Feature", "id": district["code"], "properties": properties, "geometry": geometry}


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    text = json.dumps(build(read_source(Path(argv[1]))), ensure_ascii=False, separators=(",", ":"))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text + "\n", encoding="utf-8")
    digest = hashlib.sha256(TARGET.read_bytes()).hexdigest()
    print(f"{TARGET.relative_to(ROOT)}: {TARGET.stat().st_size} bytes, sha256 {digest}")


if __name__ == "__main__":
    main(sys.argv)
