-- AWS Cost and Usage Report (CUR 2.0, and legacy CUR renamed to CUR 2.0
-- names) -> FOCUS 1.2 canonical columns.
--
-- Input: relation `src` with one VARCHAR column per CUR column listed in
-- connectors/aws/cur_mapping.py (INPUTS; NULL when the file lacks it), plus
-- `_tags` (a list of {key, value} structs, keys without `user:`), `_cost_categories`
-- MAP(VARCHAR, VARCHAR) (keys as AWS writes them), `_product_name`, `_region`
-- and `_line`. The query is a pure
-- projection: row order is the file's. Every decimal and time is checked to
-- parse as the rows stream (cur_read.py), so TRY_CAST loses nothing: the
-- check reads the values `typed` parsed (cur_mapping.TYPED names them) and
-- takes the place of `_line` in the last SELECT (mapping_sql(line=...)).
typed AS (
  SELECT
    *,
    line_item_line_item_type AS item_type,
    TRY_CAST(NULLIF(line_item_unblended_cost, '') AS DECIMAL(38,12)) AS unblended,
    TRY_CAST(NULLIF(line_item_net_unblended_cost, '') AS DECIMAL(38,12)) AS net_unblended,
    TRY_CAST(NULLIF(pricing_public_on_demand_cost, '') AS DECIMAL(38,12)) AS public_cost,
    TRY_CAST(NULLIF(line_item_usage_amount, '') AS DECIMAL(38,12)) AS usage_amount,
    TRY_CAST(NULLIF(savings_plan_savings_plan_effective_cost, '') AS DECIMAL(38,12)) AS sp_effective,
    TRY_CAST(NULLIF(savings_plan_total_commitment_to_date, '') AS DECIMAL(38,12)) AS sp_commitment,
    TRY_CAST(NULLIF(savings_plan_used_commitment, '') AS DECIMAL(38,12)) AS sp_used,
    TRY_CAST(NULLIF(reservation_effective_cost, '') AS DECIMAL(38,12)) AS ri_effective,
    TRY_CAST(NULLIF(reservation_unused_amortized_upfront_fee_for_billing_period, '')
         AS DECIMAL(38,12)) AS ri_unused_upfront,
    TRY_CAST(NULLIF(reservation_unused_recurring_fee, '') AS DECIMAL(38,12)) AS ri_unused_recurring,
    TRY_CAST(NULLIF(line_item_usage_start_date, '') AS TIMESTAMPTZ) AS usage_start,
    TRY_CAST(NULLIF(line_item_usage_end_date, '') AS TIMESTAMPTZ) AS usage_end,
    TRY_CAST(NULLIF(bill_billing_period_start_date, '') AS TIMESTAMPTZ) AS period_start,
    TRY_CAST(NULLIF(bill_billing_period_end_date, '') AS TIMESTAMPTZ) AS period_end,
    TRY_CAST(NULLIF(split_line_item_split_cost, '') AS DECIMAL(38,12)) AS split_cost,
    TRY_CAST(NULLIF(split_line_item_unused_cost, '') AS DECIMAL(38,12)) AS split_unused
  FROM src
),
classified AS (
  SELECT
    *,
    coalesce(net_unblended, unblended) AS billed,
    -- ChargeCategory. Discounts (EDP, bundled, private rate) lower the bill
    -- without being consumption: they are Credits. A Refund takes the
    -- category of what it refunds: tax, a purchase, else usage.
    CASE
      WHEN item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage',
                         'SavingsPlanNegation') THEN 'Usage'
      WHEN item_type = 'Tax' THEN 'Tax'
      WHEN item_type IN ('Fee', 'RIFee', 'SavingsPlanUpfrontFee',
                         'SavingsPlanRecurringFee') THEN 'Purchase'
      WHEN item_type IN ('Credit', 'BundledDiscount', 'Discount', 'EdpDiscount',
                         'PrivateRateDiscount', 'DistributorDiscount') THEN 'Credit'
      WHEN item_type = 'Refund' AND NULLIF(line_item_tax_type, '') IS NOT NULL THEN 'Tax'
      WHEN item_type = 'Refund' AND bill_bill_type = 'Purchase' THEN 'Purchase'
      WHEN item_type = 'Refund' THEN 'Usage'
      ELSE 'Adjustment'
    END AS category
  FROM typed
)
SELECT
  _line,
  billed AS BilledCost,
  CASE
    WHEN item_type = 'SavingsPlanCoveredUsage' THEN coalesce(sp_effective, billed)
    WHEN item_type = 'DiscountedUsage' THEN coalesce(ri_effective, billed)
    WHEN item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0
    -- the unused part of a commitment is what its recurring fee really costs
    WHEN item_type = 'SavingsPlanRecurringFee' AND sp_commitment IS NOT NULL
      THEN sp_commitment - coalesce(sp_used, 0)
    WHEN item_type = 'RIFee' AND (ri_unused_upfront IS NOT NULL OR ri_unused_recurring IS NOT NULL)
      THEN coalesce(ri_unused_upfront, 0) + coalesce(ri_unused_recurring, 0)
    ELSE billed
  END AS EffectiveCost,
  CASE WHEN category = 'Usage' AND public_cost IS NOT NULL THEN public_cost ELSE billed END
    AS ListCost,
  CASE WHEN category = 'Usage' AND public_cost IS NOT NULL THEN coalesce(unblended, billed)
       ELSE billed END AS ContractedCost,
  bill_payer_account_id AS BillingAccountId,
  NULLIF(bill_payer_account_name, '') AS BillingAccountName,
  line_item_currency_code AS BillingCurrency,
  period_start AS BillingPeriodStart,
  period_end AS BillingPeriodEnd,
  category AS ChargeCategory,
  -- A refund or a Refund bill fixes an already invoiced period.
  CASE WHEN item_type = 'Refund' AND (bill_bill_type = 'Refund' OR usage_start < period_start)
       THEN 'Correction' END AS ChargeClass,
  coalesce(NULLIF(line_item_line_item_description, ''), item_type) AS ChargeDescription,
  CASE
    WHEN item_type IN ('RIFee', 'SavingsPlanRecurringFee') THEN 'Recurring'
    WHEN category IN ('Purchase', 'Tax') OR item_type IN ('Credit', 'Refund') THEN 'One-Time'
    ELSE 'Usage-Based'
  END AS ChargeFrequency,
  coalesce(usage_start, period_start) AS ChargePeriodStart,
  -- instantaneous charges (an upfront fee) get a one-hour period: FOCUS needs start < end
  CASE WHEN usage_end > coalesce(usage_start, period_start) THEN usage_end
       WHEN usage_start IS NULL AND usage_end IS NULL THEN period_end
       ELSE coalesce(usage_start, period_start) + INTERVAL 1 HOUR END AS ChargePeriodEnd,
  coalesce(NULLIF(bill_invoicing_entity, ''), 'Amazon Web Services, Inc.') AS InvoiceIssuerName,
  CASE WHEN category IN ('Usage', 'Purchase') THEN usage_amount END AS PricingQuantity,
  CASE WHEN category IN ('Usage', 'Purchase') THEN NULLIF(pricing_unit, '') END AS PricingUnit,
  'AWS' AS ProviderName,
  CASE WHEN bill_billing_entity = 'AWS Marketplace'
       THEN coalesce(NULLIF(line_item_legal_entity, ''), 'AWS Marketplace')
       ELSE 'AWS' END AS PublisherName,
  CASE
    WHEN line_item_product_code IN ('AmazonEC2', 'AWSLambda', 'AmazonECS', 'AmazonEKS',
         'AmazonLightsail', 'AWSBatch', 'ElasticMapReduce', 'AWSFargate') THEN 'Compute'
    WHEN line_item_product_code IN ('AmazonS3', 'AmazonEFS', 'AmazonGlacier', 'AWSBackup',
         'AmazonFSx', 'AmazonS3GlacierDeepArchive') THEN 'Storage'
    WHEN line_item_product_code IN ('AmazonRDS', 'AmazonDynamoDB', 'AmazonElastiCache',
         'AmazonRedshift', 'AmazonDocDB', 'AmazonNeptune') THEN 'Databases'
    WHEN line_item_product_code IN ('AmazonVPC', 'AmazonCloudFront', 'AmazonRoute53',
         'AWSELB', 'AWSDataTransfer', 'AWSDirectConnect', 'AmazonApiGateway') THEN 'Networking'
    WHEN line_item_product_code IN ('AmazonCloudWatch', 'AWSCloudTrail', 'AWSConfig',
         'AWSSupportBusiness', 'AWSSupportEnterprise', 'AWSCostExplorer',
         'AWSSystemsManager') THEN 'Management and Governance'
    WHEN line_item_product_code IN ('awskms', 'AWSSecretsManager', 'AmazonGuardDuty',
         'AWSSecurityHub', 'awswaf', 'AmazonInspector') THEN 'Security'
    WHEN line_item_product_code IN ('AmazonSageMaker', 'AmazonBedrock', 'AmazonRekognition')
      THEN 'AI and Machine Learning'
    WHEN line_item_product_code IN ('AmazonAthena', 'AWSGlue', 'AmazonKinesis',
         'AmazonQuickSight') THEN 'Analytics'
    WHEN line_item_product_code IN ('AWSQueueService', 'AmazonSNS', 'AmazonSES',
         'AWSEvents', 'AmazonMQ') THEN 'Integration'
    WHEN line_item_product_code IN ('AmazonCognito', 'AWSDirectoryService') THEN 'Identity'
    ELSE 'Other'
  END AS ServiceCategory,
  coalesce(NULLIF(_product_name, ''), NULLIF(product_servicecode, ''),
           NULLIF(line_item_product_code, ''), 'Unknown') AS ServiceName,
  NULLIF(line_item_usage_account_id, '') AS SubAccountId,
  NULLIF(line_item_usage_account_name, '') AS SubAccountName,
  _region AS RegionId,
  NULLIF(product_location, '') AS RegionName,
  NULLIF(line_item_availability_zone, '') AS AvailabilityZone,
  NULLIF(line_item_resource_id, '') AS ResourceId,
  NULLIF(product_sku, '') AS SkuId,
  NULLIF(pricing_rate_id, '') AS SkuPriceId,
  CASE
    WHEN category NOT IN ('Usage', 'Purchase') THEN NULL
    WHEN item_type IN ('DiscountedUsage', 'SavingsPlanCoveredUsage') THEN 'Committed'
    WHEN pricing_term = 'Spot' OR line_item_usage_type LIKE '%SpotUsage%' THEN 'Dynamic'
    WHEN category = 'Usage' THEN 'Standard'
    ELSE 'Other'
  END AS PricingCategory,
  CASE WHEN category = 'Usage' THEN usage_amount END AS ConsumedQuantity,
  CASE WHEN category = 'Usage' THEN NULLIF(pricing_unit, '') END AS ConsumedUnit,
  CASE
    WHEN item_type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation',
                       'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee')
      THEN NULLIF(savings_plan_savings_plan_a_r_n, '')
    WHEN item_type IN ('DiscountedUsage', 'RIFee') THEN NULLIF(reservation_reservation_a_r_n, '')
  END AS CommitmentDiscountId,
  CASE
    WHEN item_type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation',
                       'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') THEN 'Spend'
    WHEN item_type IN ('DiscountedUsage', 'RIFee') THEN 'Usage'
  END AS CommitmentDiscountCategory,
  CASE
    WHEN item_type IN ('SavingsPlanCoveredUsage', 'SavingsPlanNegation',
                       'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') THEN 'Savings Plan'
    WHEN item_type IN ('DiscountedUsage', 'RIFee') THEN 'Reserved Instance'
  END AS CommitmentDiscountType,
  CASE WHEN item_type IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Used' END
    AS CommitmentDiscountStatus,
  NULLIF(bill_invoice_id, '') AS InvoiceId,
  -- resource_tags without the `user:` prefix (cur_mapping.py drops it); AWS-defined
  -- keys (aws:...) keep theirs
  CASE WHEN _tags IS NULL OR len(_tags) = 0 THEN NULL ELSE map_from_entries(_tags) END AS Tags,
  CASE WHEN _cost_categories IS NULL OR cardinality(_cost_categories) = 0 THEN NULL
       ELSE _cost_categories END AS x_CostCategories,
  split_cost AS x_SplitCost,
  split_unused AS x_SplitUnusedCost,
  NULLIF(split_line_item_parent_resource_id, '') AS x_SplitParentResourceId
FROM classified
