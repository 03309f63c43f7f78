-- `audit log --subject` reads one subject's events without scanning the log.
CREATE INDEX audit_events_subject ON audit_events (workspace_id, subject, seq);
