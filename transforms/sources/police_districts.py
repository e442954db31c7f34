"""Police districts (OOP/MOP) from the KML built for mapakriminality.cz (about 2013).

527 polygons in WGS84. The attributes sit in KML ``SimpleData`` fields that GDAL's LIBKML driver
does not expose, so they are read from the XML and paired with the geometries GDAL reads, in
placemark order. ``FIRST_OOP_`` holds the unit code as a float (``1214.00``): the 6-digit code
``KKOOUU`` is restored with its leading zeros (``001214``). ``FIRST_DIST`` is the unit's district
directorate (``KKOO``, the police's assignment: two units carry another district's prefix) and
``FIRST_COUN`` its regional directorate times 100 (``1700`` → ``17``); ``FIRST_DI_1`` and
``FIRST_CO_1`` are their names.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import geopandas as gpd
import pandas as pd
import pyogrio

from transforms.sources.text import SchemaError

KML_NS = "{http://www.opengis.net/kml/2.2}"


def unit_code(value: str | float, width: int) -> str:
    """A code stored as a number (``1214.00``) as text with its leading zeros (``001214``)."""
    return str(int(float(value))).zfill(width)


def _region_code(value: str) -> str:
    return str(int(float(value)) // 100).zfill(2)


C1_CONTROLS = re.compile("[\u0080-\u009f]")


def clean_name(value: object) -> str:
    """A name without the C1 control characters the real file carries (``Hole\x9ašovice``: a
    byte of a Windows code page kept beside the letter it should have been), trimmed."""
    return C1_CONTROLS.sub("", str(value or "")).strip()


def read_police_districts_kml(data: bytes) -> gpd.GeoDataFrame:
    placemarks = ET.parse(io.BytesIO(data)).getroot().iter(f"{KML_NS}Placemark")
    rows = [
        {d.get("name"): (d.text or "").strip() for d in p.iter(f"{KML_NS}SimpleData")}
        for p in placemarks
    ]
    attributes = pd.DataFrame(rows)
    needed = ["OOP_NAZEV", "FIRST_OOP_", "FIRST_DIST", "FIRST_COUN", "SUM_N_OBVY", "SUM_N_TRVA"]
    missing = [c for c in needed if c not in attributes.columns]
    if missing:
        raise SchemaError(f"police district KML: SimpleData field(s) {missing} missing")
    shapes = pyogrio.read_dataframe(io.BytesIO(data))
    if len(shapes) != len(attributes):
        raise SchemaError(
            f"police district KML: {len(shapes)} geometries but {len(attributes)} placemarks"
        )
    return gpd.GeoDataFrame(
        {
            "code": attributes["FIRST_OOP_"].map(lambda v: unit_code(v, 6)),
            "name": attributes["OOP_NAZEV"].map(clean_name),
            "district_code": attributes["FIRST_DIST"].map(lambda v: unit_code(v, 4)),
            "district_name": attributes.get(
                "FIRST_DI_1", pd.Series("", index=attributes.index)
            ).map(clean_name),
            "region_code": attributes["FIRST_COUN"].map(_region_code),
            "region_name": attributes.get("FIRST_CO_1", pd.Series("", index=attributes.index)).map(
                clean_name
            ),
            "population_usual": pd.to_numeric(attributes["SUM_N_OBVY"]).astype("int64"),
            "population_permanent": pd.to_numeric(attributes["SUM_N_TRVA"]).astype("int64"),
        },
        geometry=shapes.geometry.values,
        crs=shapes.crs or "EPSG:4326",
    )
