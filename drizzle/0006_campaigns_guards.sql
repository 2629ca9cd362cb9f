-- Guards for content, campaigns, billing, integrations and work that drizzle-kit cannot express:
-- metric partitions, immutable content versions, A/B weights, SET NULL (column) references, hooks.

-- Campaign metrics: monthly partitions on the hour bucket, four months back (90 days of history
-- for seeds and imports) and three ahead, plus the default partition.
SELECT app_partition_by_month('campaign_metrics', 'bucket');
--> statement-breakpoint
SELECT app_ensure_monthly_partitions('campaign_metrics', 4, 3);
--> statement-breakpoint
-- Content versions are immutable: UPDATE is refused for everyone.
CREATE TRIGGER content_versions_refuse_update BEFORE UPDATE ON content_versions
  FOR EACH ROW EXECUTE FUNCTION app_refuse_change();
--> statement-breakpoint
-- DELETE is refused too, except as the cascade of deleting the item (or the organization) the
-- version belongs to: by then the parent row is gone.
CREATE OR REPLACE FUNCTION app_content_versions_refuse_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM content_items i WHERE i.organization_id = OLD.organization_id AND i.id = OLD.content_item_id)
     AND EXISTS (SELECT FROM organizations o WHERE o.id = OLD.organization_id) THEN
    RAISE EXCEPTION 'content_versions is immutable: DELETE is refused (delete or archive the content item instead)'
      USING ERRCODE = 'insufficient_privilege', TABLE = TG_TABLE_NAME, SCHEMA = TG_TABLE_SCHEMA;
  END IF;
  RETURN OLD;
END $$;
--> statement-breakpoint
CREATE TRIGGER content_versions_refuse_delete BEFORE DELETE ON content_versions
  FOR EACH ROW EXECUTE FUNCTION app_content_versions_refuse_delete();
--> statement-breakpoint
-- A running A/B test has at least two variants whose weights add up to 100. Checked at commit
-- (deferred), so one transaction can rebalance weights or add variants and start the test.
CREATE OR REPLACE FUNCTION app_check_ab_test_weights() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  org uuid;
  test_ids uuid[];
  t record;
BEGIN
  IF TG_TABLE_NAME = 'ab_tests' THEN
    org := NEW.organization_id;
    test_ids := ARRAY[NEW.id];
  ELSIF TG_OP = 'DELETE' THEN
    org := OLD.organization_id;
    test_ids := ARRAY[OLD.ab_test_id];
  ELSIF TG_OP = 'UPDATE' THEN
    org := NEW.organization_id;
    test_ids := ARRAY[NEW.ab_test_id, OLD.ab_test_id];
  ELSE
    org := NEW.organization_id;
    test_ids := ARRAY[NEW.ab_test_id];
  END IF;
  FOR t IN
    SELECT a.name, coalesce(sum(v.weight), 0) AS total, count(v.id) AS variants
    FROM ab_tests a
    LEFT JOIN ab_test_variants v ON v.organization_id = a.organization_id AND v.ab_test_id = a.id
    WHERE a.organization_id = org AND a.id = ANY (test_ids) AND a.status = 'running'
    GROUP BY a.id, a.name
  LOOP
    IF t.total <> 100 OR t.variants < 2 THEN
      RAISE EXCEPTION 'A/B test "%" is running with % variant(s) whose weights add up to %: a running test needs at least two variants whose weights add up to 100',
        t.name, t.variants, t.total
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ab_tests_weights_check', TABLE = 'ab_tests', SCHEMA = TG_TABLE_SCHEMA;
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ab_tests_weights_check AFTER INSERT OR UPDATE OF status ON ab_tests
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app_check_ab_test_weights();
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER ab_test_variants_weights_check AFTER INSERT OR UPDATE OR DELETE ON ab_test_variants
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app_check_ab_test_weights();
--> statement-breakpoint
-- Removing a credential disconnects the connectors using it (their row stays, in error).
ALTER TABLE connectors ADD CONSTRAINT connectors_credential_id_fkey
  FOREIGN KEY (organization_id, credential_id) REFERENCES credentials (organization_id, id)
  ON DELETE SET NULL (credential_id);
--> statement-breakpoint
CREATE OR REPLACE FUNCTION app_connectors_credential_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.credential_id IS NULL AND OLD.credential_id IS NOT NULL AND NEW.status = 'connected' THEN
    NEW.status := 'error';
    NEW.last_error := 'credential removed';
    NEW.last_error_at := now();
  END IF;
  RETURN NEW;
END $$;
--> statement-breakpoint
CREATE TRIGGER connectors_credential_removed BEFORE UPDATE OF credential_id ON connectors
  FOR EACH ROW EXECUTE FUNCTION app_connectors_credential_removed();
--> statement-breakpoint
-- Removing a member unassigns their tasks.
ALTER TABLE tasks ADD CONSTRAINT tasks_assignee_membership_id_fkey
  FOREIGN KEY (organization_id, assignee_membership_id) REFERENCES memberships (organization_id, id)
  ON DELETE SET NULL (assignee_membership_id);
--> statement-breakpoint
SELECT app_install_table_hooks();
