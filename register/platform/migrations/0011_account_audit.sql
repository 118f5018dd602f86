-- Changes to accounts leave audit events too (register/accounts/users.py): who added an account,
-- issued a link that sets its password, or disabled it. These events are never public: the
-- public history reads only device events, and they never hold a link's secret.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_entity_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_entity_known
    CHECK (entity IN ('organisation', 'device', 'user'));
ALTER TABLE audit_events DROP CONSTRAINT audit_events_action_known;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_action_known
    CHECK (action IN ('create', 'update', 'decommission', 'reset_password', 'disable'));
