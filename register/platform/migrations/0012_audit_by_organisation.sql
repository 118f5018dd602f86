-- The console's history reads an organisation's audit events, newest first, a page at a time
-- (register/queries/audit.py, list_organisation_events): without this index each page read the
-- whole table.
CREATE INDEX audit_events_by_organisation ON audit_events (organisation_id, at DESC, id DESC);
