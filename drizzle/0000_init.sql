CREATE TABLE `campaigns` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`name` varchar(200) NOT NULL,
	`start_time` datetime(3) NOT NULL,
	`total_coupons` int unsigned NOT NULL,
	`code_offset` bigint NOT NULL,
	`status` varchar(16) NOT NULL DEFAULT 'loading',
	`loaded` int unsigned NOT NULL DEFAULT 0,
	`created_at` datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
	CONSTRAINT `campaigns_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `code_allocator` (
	`id` tinyint NOT NULL,
	`secret` varbinary(32) NOT NULL,
	`next_counter` bigint NOT NULL,
	CONSTRAINT `code_allocator_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `coupon_issues` (
	`campaign_id` bigint unsigned NOT NULL,
	`sequence` int unsigned NOT NULL,
	`code` varchar(10) NOT NULL,
	`user_id` varchar(128),
	`issued_at` datetime(3) NOT NULL,
	CONSTRAINT `coupon_issues_campaign_id_sequence_pk` PRIMARY KEY(`campaign_id`,`sequence`),
	CONSTRAINT `coupon_issues_code_unique` UNIQUE(`code`)
);
--> statement-breakpoint
CREATE TABLE `coupons` (
	`campaign_id` bigint unsigned NOT NULL,
	`seq` int unsigned NOT NULL,
	`code` varchar(10) NOT NULL,
	CONSTRAINT `coupons_campaign_id_seq_pk` PRIMARY KEY(`campaign_id`,`seq`),
	CONSTRAINT `coupons_code_unique` UNIQUE(`code`)
);
--> statement-breakpoint
CREATE INDEX `coupon_issues_user` ON `coupon_issues` (`campaign_id`,`user_id`);