-- "Sensors near me": a search first narrows to a box around the point (a range on latitude, then
-- longitude), then measures the exact distance to each device in the box. This index serves the
-- box. PostGIS would do the same job; Lamplighter runs without it.
CREATE INDEX devices_location ON devices (latitude, longitude);
