-- notes: 0
-- Top 20 services by unblended cost per account for the last full month.
-- CUR 2.0, table created by the Data Exports Athena integration.
SELECT
    line_item_usage_account_id                    AS account_id,
    line_item_usage_account_name                  AS account_name,
    product['product_name']                       AS service,
    ROUND(SUM(line_item_unblended_cost), 2)       AS unblended_usd,
    ROUND(SUM(line_item_net_unblended_cost), 2)   AS net_unblended_usd
FROM cur_db.cur2_daily
WHERE billing_period = date_format(date_add('month', -1, current_date), '%Y-%m')
  AND line_item_line_item_type IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage')
GROUP BY 1, 2, 3
ORDER BY unblended_usd DESC
LIMIT 20;
