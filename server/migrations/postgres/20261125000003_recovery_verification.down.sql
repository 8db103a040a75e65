ALTER TABLE selfservice_flows DROP COLUMN submit_count;
DROP TABLE selfservice_one_time_secrets;
