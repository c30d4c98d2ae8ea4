-- Cloud Billing export (standard or detailed) -> FOCUS 1.2 canonical columns.
--
-- Input: relation `export`, the month's rows as the query in bigquery.py
-- selects them (nested records kept), plus `_n`, the row's position; the
-- connector prefixes `WITH export AS (...),` (a local NDJSON copy, or the
-- query's pages staged to Parquet). `_line` numbers the output rows (a row,
-- then its credits) in that order.
-- Credits become their own rows (FOCUS: ChargeCategory Credit), one per
-- entry of `credits`, carrying the parent row's account, project, service,
-- SKU, day and tags; so per project, service and day the lake's BilledCost
-- equals the export's net cost = cost + SUM(credits.amount).
-- FLOAT64 amounts are read through their shortest text form (exactly the
-- decimal BigQuery prints) and cast to DECIMAL(38,12).
base AS (
  SELECT
    _n,
    billing_account_id,
    service.description AS service_name,
    sku.id AS sku_id,
    sku.description AS sku_description,
    usage_start_time AS usage_start,
    CASE WHEN usage_end_time > usage_start_time THEN usage_end_time
         ELSE usage_start_time + INTERVAL 1 HOUR END AS usage_end,
    project.id AS project_id,
    project.name AS project_name,
    currency,
    cost_type,
    CAST(CAST(cost AS VARCHAR) AS DECIMAL(38,12)) AS cost,
    CAST(CAST(cost_at_list AS VARCHAR) AS DECIMAL(38,12)) AS cost_at_list,
    CAST(CAST(usage.amount_in_pricing_units AS VARCHAR) AS DECIMAL(38,12)) AS pricing_quantity,
    usage.pricing_unit AS pricing_unit,
    CAST(CAST(usage.amount AS VARCHAR) AS DECIMAL(38,12)) AS consumed_quantity,
    usage.unit AS consumed_unit,
    coalesce(location.region, location.location) AS region,
    location.zone AS zone,
    resource_name,
    credits,
    strptime(invoice.month, '%Y%m')::TIMESTAMPTZ AS period_start,
    -- Tags: project labels, then resource-manager tags, then resource labels
    -- (the most specific wins a key clash).
    map_concat(
      map_from_entries(list_transform(coalesce(project.labels, []),
        lambda e: {'key': e.key, 'value': e.value})),
      map_from_entries(list_transform(coalesce(tag_list, []),
        lambda e: {'key': e.key, 'value': e.value})),
      map_from_entries(list_transform(coalesce(labels, []),
        lambda e: {'key': e.key, 'value': e.value}))
    ) AS tag_map
  FROM export
),
charges AS (
  SELECT
    _n, 0 AS _k,
    cost AS billed,
    coalesce(cost_at_list, cost) AS list_cost,
    CASE cost_type WHEN 'tax' THEN 'Tax'
                   WHEN 'adjustment' THEN 'Adjustment'
                   WHEN 'rounding_error' THEN 'Adjustment'
                   ELSE 'Usage' END AS category,
    sku_description AS description,
    *
  FROM base
  UNION ALL
  SELECT
    _n, credit_no AS _k,
    CAST(CAST(credit.amount AS VARCHAR) AS DECIMAL(38,12)) AS billed,
    CAST(CAST(credit.amount AS VARCHAR) AS DECIMAL(38,12)) AS list_cost,
    'Credit' AS category,
    coalesce(credit.full_name, credit.name) || ' (' || coalesce(credit.type, 'credit') || ')'
      AS description,
    * EXCLUDE (credit, credit_no)
  FROM (SELECT *, unnest(credits) AS credit, generate_subscripts(credits, 1) AS credit_no
        FROM base WHERE len(credits) > 0)
)
SELECT
  row_number() OVER (ORDER BY _n, _k) AS _line,
  billed AS BilledCost,
  billed AS EffectiveCost,
  list_cost AS ListCost,
  billed AS ContractedCost,
  billing_account_id AS BillingAccountId,
  {account_name} AS BillingAccountName,
  currency AS BillingCurrency,
  period_start AS BillingPeriodStart,
  period_start + INTERVAL 1 MONTH AS BillingPeriodEnd,
  category AS ChargeCategory,
  -- an adjustment of usage before this invoice month corrects a closed period
  CASE WHEN category = 'Adjustment' AND usage_start < period_start THEN 'Correction' END
    AS ChargeClass,
  description AS ChargeDescription,
  CASE WHEN cost_type = 'regular' THEN 'Usage-Based' ELSE 'One-Time' END AS ChargeFrequency,
  usage_start AS ChargePeriodStart,
  usage_end AS ChargePeriodEnd,
  'Google Cloud' AS InvoiceIssuerName,
  CASE WHEN category = 'Usage' THEN pricing_quantity END AS PricingQuantity,
  CASE WHEN category = 'Usage' THEN pricing_unit END AS PricingUnit,
  'Google Cloud' AS ProviderName,
  'Google Cloud' AS PublisherName,
  CASE
    WHEN service_name IN ('Compute Engine', 'Kubernetes Engine', 'Cloud Run',
         'Cloud Functions', 'App Engine', 'Google Cloud VMware Engine') THEN 'Compute'
    WHEN service_name IN ('Cloud Storage', 'Filestore', 'Backup and DR Service') THEN 'Storage'
    WHEN service_name IN ('Cloud SQL', 'Cloud Spanner', 'Firestore', 'Cloud Bigtable',
         'Memorystore for Redis', 'AlloyDB') THEN 'Databases'
    WHEN service_name IN ('BigQuery', 'Dataflow', 'Dataproc', 'Pub/Sub', 'Looker')
      THEN 'Analytics'
    WHEN service_name IN ('Networking', 'Cloud CDN', 'Cloud DNS', 'Cloud Load Balancing',
         'Cloud NAT', 'Network Intelligence Center') THEN 'Networking'
    WHEN service_name IN ('Cloud Logging', 'Cloud Monitoring', 'Support', 'Cloud Billing')
      THEN 'Management and Governance'
    WHEN service_name IN ('Vertex AI', 'Cloud Vision API', 'Cloud Natural Language API',
         'Gemini API', 'Cloud Speech API') THEN 'AI and Machine Learning'
    WHEN service_name IN ('Secret Manager', 'Cloud Key Management Service (KMS)',
         'Security Command Center', 'Cloud Armor') THEN 'Security'
    WHEN service_name IN ('Identity Platform', 'Cloud Identity') THEN 'Identity'
    ELSE 'Other'
  END AS ServiceCategory,
  coalesce(service_name, 'Unknown') AS ServiceName,
  project_id AS SubAccountId,
  project_name AS SubAccountName,
  region AS RegionId,
  region AS RegionName,
  zone AS AvailabilityZone,
  resource_name AS ResourceId,
  resource_name AS ResourceName,
  sku_id AS SkuId,
  CASE WHEN category = 'Usage' THEN 'Standard' END AS PricingCategory,
  CASE WHEN category = 'Usage' THEN consumed_quantity END AS ConsumedQuantity,
  CASE WHEN category = 'Usage' THEN consumed_unit END AS ConsumedUnit,
  CASE WHEN cardinality(tag_map) = 0 THEN NULL ELSE tag_map END AS Tags
FROM charges
ORDER BY _line
