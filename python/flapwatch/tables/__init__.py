"""Tables: the columns of every record and detection table (schema), the Table that
carries them, the one row form, and the time units. Everything else builds on these."""
