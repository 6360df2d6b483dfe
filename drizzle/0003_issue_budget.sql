ALTER TABLE `campaigns` ADD `issue_allowance` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `coupons` ADD `quarantined_at` datetime(3);