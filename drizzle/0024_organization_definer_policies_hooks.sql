-- Tables of 0023_organization_definer_policies: forced RLS, updated_at triggers and neonhub_app grants (drizzle-kit cannot express them).
SELECT app_install_table_hooks();
