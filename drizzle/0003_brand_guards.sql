-- Brand tables: updated_at triggers, forced RLS and neonhub_app grants.
SELECT app_install_table_hooks();
