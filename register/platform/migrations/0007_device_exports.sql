-- Each device's entry as the register's exports write it, in each format, stored next to the
-- device. The register writes a device's row in the same transaction as every change to the
-- device, so exporting the whole register reads stored text instead of building 100,000
-- entries. `layout` is the encoding's version: rows of an older layout, rows older than their
-- device, and missing rows (after a bulk load) are rebuilt from the register before an export
-- uses them.
CREATE TABLE device_exports (
    device_id  integer PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    layout     integer NOT NULL,
    -- The device's updated_at when the row was written: a device changed since (by anything
    -- that bypassed the register's code) has a row that no longer counts.
    device_updated_at timestamptz NOT NULL,
    entry_json text    NOT NULL,  -- the JSON export's element for the device
    feature    text    NOT NULL,  -- the GeoJSON export's Feature for the device
    csv_rows   text    NOT NULL   -- the CSV export's lines for the device, one per metric
);
