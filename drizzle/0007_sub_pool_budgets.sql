CREATE TABLE `sub_pool_budgets` (
	`campaign_id` bigint unsigned NOT NULL,
	`sub` tinyint unsigned NOT NULL,
	`issue_allowance` int unsigned NOT NULL,
	CONSTRAINT `sub_pool_budgets_campaign_id_sub_pk` PRIMARY KEY(`campaign_id`,`sub`)
);
