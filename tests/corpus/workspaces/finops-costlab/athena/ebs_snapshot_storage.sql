-- Snapshot storage cost per account, last full month (EBS:SnapshotUsage).
SELECT
    line_item_usage_account_id                      AS account_id,
    ROUND(SUM(line_item_usage_amount), 0)           AS snapshot_gb_month,
    ROUND(SUM(line_item_unblended_cost), 2)         AS snapshot_usd
FROM cur_db.cur2_daily
WHERE billing_period = date_format(date_add('month', -1, current_date), '%Y-%m')
  AND line_item_usage_type LIKE '%EBS:SnapshotUsage%'
GROUP BY 1
ORDER BY snapshot_usd DESC;
