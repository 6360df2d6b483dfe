ALTER TABLE `campaigns` ADD `end_time` datetime(3);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `paused_at` datetime(3);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `cancelled_at` datetime(3);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `voided` int unsigned DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `coupon_issues` ADD `redeemed_at` datetime(3);--> statement-breakpoint
ALTER TABLE `coupon_issues` ADD `redeemed_by` varchar(128);--> statement-breakpoint
ALTER TABLE `coupons` ADD `voided_at` datetime(3);--> statement-breakpoint
CREATE INDEX `coupon_issues_redeemed` ON `coupon_issues` (`campaign_id`,`redeemed_at`);