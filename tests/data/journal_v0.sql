-- A journal written by sheetsync at commit dbbb262 (no schema version: user_version 0),
-- made with the Journal API: every row state and a tracked run. `sqlite3 x.db < this`.
BEGIN TRANSACTION;
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    state TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
INSERT INTO "events" VALUES(1,'2026-01-05T09:00:00Z','w0','r1','claimed','Scrape product page');
INSERT INTO "events" VALUES(2,'2026-01-05T09:00:00Z','w0','r2','claimed','Scrape product page');
INSERT INTO "events" VALUES(3,'2026-01-05T09:00:00Z','w0','r3','claimed','Scrape product page');
INSERT INTO "events" VALUES(4,'2026-01-05T09:00:00Z','w0','r4','claimed','Scrape product page');
INSERT INTO "events" VALUES(5,'2026-01-05T09:00:00Z','w0','r5','claimed','Scrape product page');
INSERT INTO "events" VALUES(6,'2026-01-05T09:00:00Z','w0','r6','claimed','Scrape product page');
INSERT INTO "events" VALUES(7,'2026-01-05T09:00:00Z','w0','r7','claimed','Scrape product page');
INSERT INTO "events" VALUES(8,'2026-01-05T09:00:00Z','w0','r1','sending','');
INSERT INTO "events" VALUES(9,'2026-01-05T09:00:00Z','w0','r2','sending','');
INSERT INTO "events" VALUES(10,'2026-01-05T09:00:00Z','w0','r3','sending','');
INSERT INTO "events" VALUES(11,'2026-01-05T09:00:00Z','w0','r4','sending','');
INSERT INTO "events" VALUES(12,'2026-01-05T09:00:00Z','w0','r5','sending','');
INSERT INTO "events" VALUES(13,'2026-01-05T09:00:00Z','w0','r6','sending','');
INSERT INTO "events" VALUES(14,'2026-01-05T09:00:00Z','w0','r1','triggered','');
INSERT INTO "events" VALUES(15,'2026-01-05T09:00:00Z','w0','r2','queued','queued behind another run');
INSERT INTO "events" VALUES(16,'2026-01-05T09:00:00Z','w0','r1','overlapped','a later run of ''Scrape product page'' started');
INSERT INTO "events" VALUES(17,'2026-01-05T09:00:00Z','w0','r3','error','Task not found');
INSERT INTO "events" VALUES(18,'2026-01-05T09:00:00Z','w0','r4','waiting','rate limit');
INSERT INTO "events" VALUES(19,'2026-01-05T09:00:00Z','w0','r5','unknown','timed out after sending');
INSERT INTO "events" VALUES(20,'2026-01-05T09:00:00Z','w1','*','skipped','1 rows present at the first cycle');
INSERT INTO "events" VALUES(21,'2026-01-05T09:00:00Z','w1','s2','claimed','Scrape product page');
INSERT INTO "events" VALUES(22,'2026-01-05T09:00:00Z','w1','s2','abandoned','claimed row left the sheet');
CREATE TABLE plans (
    watch TEXT PRIMARY KEY,
    plan TEXT NOT NULL
);
INSERT INTO "plans" VALUES('w0','{"v": 1}');
CREATE TABLE rows (
    watch TEXT NOT NULL,
    row_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT NOT NULL DEFAULT '',
    automation TEXT NOT NULL DEFAULT '',
    link TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    triggered_at TEXT NOT NULL DEFAULT '',
    run_status TEXT NOT NULL DEFAULT '',
    waits INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    wait_reason TEXT NOT NULL DEFAULT '',
    trigger_id TEXT NOT NULL DEFAULT '',
    poll_at TEXT NOT NULL DEFAULT '',
    poll_seconds REAL NOT NULL DEFAULT 0, checked INTEGER NOT NULL DEFAULT 1, shown INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (watch, row_id)
);
INSERT INTO "rows" VALUES('w0','r1','triggered',1,'fp1','Scrape product page','https://app.axiom.ai/viewer/1?password=x','a later run of this automation started before this one ended; axiom reports only the latest run of a name, so this run''s outcome is not tracked (max_in_flight = 1 tracks every run)','2026-01-05T09:00:00Z','overlapped',0,'','2026-01-05T09:00:00Z','','r1','',5.0,1,0);
INSERT INTO "rows" VALUES('w0','r2','queued',1,'fp2','Scrape product page','','queued behind another run','2026-01-05T09:00:00Z','',0,'','2026-01-05T09:00:00Z','','','',0.0,1,0);
INSERT INTO "rows" VALUES('w0','r3','error',1,'fp3','Scrape product page','','Task not found','','',0,'','2026-01-05T09:00:00Z','','','',0.0,1,0);
INSERT INTO "rows" VALUES('w0','r4','waiting',1,'fp4','Scrape product page','','rate limit','','',1,'2026-01-05T09:01:00Z','2026-01-05T09:00:00Z','rate_limit','','',0.0,1,0);
INSERT INTO "rows" VALUES('w0','r5','unknown',1,'fp5','Scrape product page','','timed out after sending','','',0,'','2026-01-05T09:00:00Z','','','',0.0,1,0);
INSERT INTO "rows" VALUES('w0','r6','sending',1,'fp6','Scrape product page','','','','',0,'','2026-01-05T09:00:00Z','','','',0.0,0,0);
INSERT INTO "rows" VALUES('w0','r7','claimed',1,'fp7','Scrape product page','','','','',0,'','2026-01-05T09:00:00Z','','','',0.0,0,0);
INSERT INTO "rows" VALUES('w1','s1','skipped',0,'fps1','','','present before sheetsync started watching (start_from = now); type retry to send','','',0,'','2026-01-05T09:00:00Z','','','',0.0,1,0);
INSERT INTO "rows" VALUES('w1','s2','abandoned',1,'fps2','Scrape product page','','','','',0,'','2026-01-05T09:00:00Z','','','',0.0,1,0);
CREATE TABLE watches (
    watch TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);
INSERT INTO "watches" VALUES('w0','2026-01-05T09:00:00Z');
CREATE INDEX events_by_watch ON events (watch, id);
CREATE INDEX rows_to_show ON rows (watch) WHERE shown = 0;
CREATE INDEX rows_running ON rows (automation) WHERE run_status = 'running';
CREATE INDEX rows_unchecked ON rows (watch) WHERE checked = 0;
CREATE INDEX rows_by_state ON rows (watch, state);
CREATE INDEX rows_polled ON rows (watch, poll_at) WHERE run_status = 'running';
CREATE INDEX rows_overlapped ON rows (automation) WHERE run_status = 'overlapped';
CREATE INDEX rows_in_flight ON rows (watch) WHERE run_status IN ('running', 'overlapped');
CREATE INDEX rows_sending ON rows (watch) WHERE state = 'sending';
CREATE TRIGGER rows_unshown
AFTER UPDATE OF state, link, message, triggered_at, run_status ON rows
WHEN NEW.shown = 1
BEGIN
    UPDATE rows SET shown = 0 WHERE watch = NEW.watch AND row_id = NEW.row_id;
END;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('events',22);
COMMIT;
