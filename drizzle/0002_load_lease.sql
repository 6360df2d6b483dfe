ALTER TABLE `campaigns` ADD `load_owner` varchar(80);--> statement-breakpoint
ALTER TABLE `campaigns` ADD `load_heartbeat` datetime(3);