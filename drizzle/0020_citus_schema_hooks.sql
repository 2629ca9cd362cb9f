-- Tables of 0019_citus_schema: forced RLS, updated_at triggers and neonhub_app grants (drizzle-kit cannot express them).
SELECT app_install_table_hooks();
