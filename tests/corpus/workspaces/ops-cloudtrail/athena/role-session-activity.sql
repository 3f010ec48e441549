-- Every call made with one access key id, with source and outcome.
SELECT eventtime, eventsource, eventname, sourceipaddress, errorcode, useragent
FROM cloudtrail_logs_acme_org
WHERE account = '123456789012'
  AND useridentity.accesskeyid = 'ASIA4BILLINGQX7T2LMN'
  AND timestamp BETWEEN '2026/11/20' AND '2026/11/21'
ORDER BY eventtime;
