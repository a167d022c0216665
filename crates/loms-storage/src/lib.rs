//! LOMS storage: SQLite schema, migrations and the transactions the OMS needs
