"""The ``commitments`` and ``commitment_tenants`` views over FOCUS commitment columns.

Rows with a ``CommitmentDiscountId`` (AWS Reserved Instances and Savings Plans,
GCP committed use discounts, any FOCUS export) per commitment, currency and
UTC day of ``ChargePeriodStart``:

- ``used_cost`` / ``unused_cost``: ``EffectiveCost`` of the rows whose
  ``CommitmentDiscountStatus`` is ``Used`` / ``Unused`` (the amortized
  commitment spent on usage, or wasted);
- ``utilization = used_cost / (used_cost + unused_cost)`` (NULL without either);
- ``list_cost`` / ``contracted_cost``: ``ListCost`` / ``ContractedCost`` of the
  ``Used`` rows: what the covered usage would have cost without the commitment;
- ``savings_vs_list = list_cost - used_cost - unused_cost`` (likewise
  ``savings_vs_contracted``): the saving net of the unused part, negative when
  the commitment cost more than it saved;
- ``purchase_cost``: ``BilledCost`` of its ``Purchase`` rows (the fee itself).

``commitment_tenants``: which tenants' rated rows the ``Used`` rows went to
(``rated_costs`` by ``x_source``/``x_row_id``), each tenant's share being its
part of the row's rated cost (an equal split when that is zero), with the
used cost, list cost and saving (before the unused part) that share carries.
"""

from __future__ import annotations

_ROWS = """SELECT strftime(timezone('UTC', BillingPeriodStart), '%Y-%m') AS period,
         CAST(timezone('UTC', ChargePeriodStart) AS DATE) AS day,
         ProviderName AS provider, CommitmentDiscountId AS commitment_id,
         CommitmentDiscountType AS commitment_type,
         CommitmentDiscountCategory AS commitment_category, BillingCurrency AS currency,
         CommitmentDiscountStatus AS cd_status, ChargeCategory, EffectiveCost, ListCost,
         ContractedCost, BilledCost, x_source, x_row_id
  FROM costs WHERE CommitmentDiscountId IS NOT NULL"""

COMMITMENTS = f"""CREATE OR REPLACE VIEW commitments AS
WITH c AS ({_ROWS}), agg AS (
  SELECT period, day, provider, commitment_id, any_value(commitment_type) AS commitment_type,
         any_value(commitment_category) AS commitment_category, currency,
         coalesce(sum(EffectiveCost) FILTER (WHERE cd_status = 'Used'), 0) AS used_cost,
         coalesce(sum(EffectiveCost) FILTER (WHERE cd_status = 'Unused'), 0) AS unused_cost,
         coalesce(sum(ListCost) FILTER (WHERE cd_status = 'Used'), 0) AS list_cost,
         coalesce(sum(ContractedCost) FILTER (WHERE cd_status = 'Used'), 0) AS contracted_cost,
         coalesce(sum(BilledCost) FILTER (WHERE ChargeCategory = 'Purchase'), 0)
           AS purchase_cost
  FROM c GROUP BY period, day, provider, commitment_id, currency
)
SELECT period, day, provider, commitment_id, commitment_type, commitment_category, currency,
       CAST(used_cost AS DECIMAL(38,12)) AS used_cost,
       CAST(unused_cost AS DECIMAL(38,12)) AS unused_cost,
       CAST(CASE WHEN used_cost + unused_cost <> 0
                 THEN used_cost / (used_cost + unused_cost) END AS DECIMAL(38,12))
         AS utilization,
       CAST(list_cost AS DECIMAL(38,12)) AS list_cost,
       CAST(contracted_cost AS DECIMAL(38,12)) AS contracted_cost,
       CAST(list_cost - used_cost - unused_cost AS DECIMAL(38,12)) AS savings_vs_list,
       CAST(contracted_cost - used_cost - unused_cost AS DECIMAL(38,12))
         AS savings_vs_contracted,
       CAST(purchase_cost AS DECIMAL(38,12)) AS purchase_cost
FROM agg"""

COMMITMENT_TENANTS = f"""CREATE OR REPLACE VIEW commitment_tenants AS
WITH c AS ({_ROWS}), r AS (
  SELECT x_source, x_row_id, tenant_id, tenant_currency, sum(cost) AS cost, sum(amount) AS amount
  FROM rated_costs GROUP BY ALL
), shares AS (
  SELECT r.*, CASE WHEN sum(cost) OVER w <> 0 THEN cost / sum(cost) OVER w
                   ELSE 1 / count(*) OVER w END AS share
  FROM r WINDOW w AS (PARTITION BY x_source, x_row_id)
)
SELECT c.period, c.provider, c.commitment_id, s.tenant_id, c.currency,
       count(*) AS rows,
       CAST(sum(c.EffectiveCost * s.share) AS DECIMAL(38,12)) AS used_cost,
       CAST(sum(c.ListCost * s.share) AS DECIMAL(38,12)) AS list_cost,
       CAST(sum((c.ListCost - c.EffectiveCost) * s.share) AS DECIMAL(38,12)) AS savings_vs_list,
       CAST(sum(s.amount) AS DECIMAL(38,12)) AS billed_amount, s.tenant_currency
FROM c JOIN shares s USING (x_source, x_row_id)
WHERE c.cd_status = 'Used'
GROUP BY c.period, c.provider, c.commitment_id, s.tenant_id, c.currency, s.tenant_currency"""

COMMITMENTS_SQL = {"commitments": COMMITMENTS, "commitment_tenants": COMMITMENT_TENANTS}
