-- Each test's split, from its variants' weights, before the next migration drops that column.
UPDATE ab_tests t SET variant_weights = w.weights
FROM (
  SELECT v.organization_id, v.ab_test_id, jsonb_object_agg(v.key, v.weight) AS weights
  FROM ab_test_variants v
  GROUP BY v.organization_id, v.ab_test_id
) w
WHERE w.organization_id = t.organization_id AND w.ab_test_id = t.id;
