-- notes: 0
-- Spend without a cost-center tag, by account and service (last 30 days).
-- Tag keys come through CUR 2.0 as resource_tags['user_cost_center'].
SELECT
    line_item_usage_account_id                          AS account_id,
    product['product_name']                             AS service,
    COUNT(DISTINCT line_item_resource_id)               AS resources,
    ROUND(SUM(line_item_unblended_cost), 2)             AS untagged_usd
FROM cur_db.cur2_daily
WHERE line_item_usage_start_date >= current_date - INTERVAL '30' DAY
  AND (resource_tags['user_cost_center'] IS NULL OR resource_tags['user_cost_center'] = '')
  AND line_item_resource_id <> ''
GROUP BY 1, 2
HAVING SUM(line_item_unblended_cost) > 50
ORDER BY untagged_usd DESC;
