"""Reading published NHS/ONS/OS/OSM files, road networks and travel-time matrices.

Everything returned is a tidy (Geo)DataFrame in British National Grid (EPSG:27700).
"""
