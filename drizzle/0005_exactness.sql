CREATE TABLE `integrity_alarms` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`campaign_id` bigint unsigned NOT NULL,
	`kind` varchar(32) NOT NULL,
	`sequence` int unsigned NOT NULL,
	`code` varchar(10) NOT NULL,
	`user_id` varchar(128),
	`existing` varchar(400) NOT NULL,
	`detected_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `integrity_alarms_id` PRIMARY KEY(`id`),
	CONSTRAINT `integrity_alarms_issue` UNIQUE(`campaign_id`,`kind`,`sequence`,`code`)
);
--> statement-breakpoint
ALTER TABLE `campaigns` ADD `load_fence` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `code_allocator` ADD `deployment_id` varchar(64);--> statement-breakpoint
CREATE INDEX `integrity_alarms_campaign` ON `integrity_alarms` (`campaign_id`);