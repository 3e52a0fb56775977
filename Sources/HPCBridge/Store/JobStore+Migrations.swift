import Foundation
import GRDB

/// The store's schema, as the migrations that build it, in order. Applied at start-up (`JobStore.init`);
/// a migration is never edited once released: a change is a new one.
extension JobStore {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: jobs, transitions, idempotency keys") { db in
            try db.create(table: "job") { t in
                t.primaryKey("id", .text)
                t.column("state", .text).notNull()
                t.column("failureKind", .text)
                t.column("failureReason", .text)
                t.column("exitCode", .integer)
                t.column("exitSignal", .integer)
                t.column("pipelineName", .text).notNull()
                t.column("pipelineVersion", .text).notNull()
                t.column("parametersJSON", .text).notNull()
                t.column("researchGroup", .text).notNull()
                t.column("description", .text)
                t.column("cluster", .text).notNull()
                t.column("nativeJobID", .text)
                t.column("createdAt", .double).notNull()
                t.column("submittedAt", .double)
                t.column("startedAt", .double)
                t.column("finishedAt", .double)
                t.column("scriptDigest", .text).notNull()
                t.column("intentJSON", .text).notNull()
                t.column("requeueCount", .integer).notNull().defaults(to: 0)
                t.column("vanishedAt", .double)
            }
            try db.create(index: "job_group_created", on: "job", columns: ["researchGroup", "createdAt", "id"])
            try db.create(index: "job_cluster_state", on: "job", columns: ["cluster", "state"])
            try db.create(index: "job_native", on: "job", columns: ["cluster", "nativeJobID"])
            try db.create(table: "jobTransition") { t in
                t.autoIncrementedPrimaryKey("sequence")
                t.column("jobID", .text).notNull().references("job", onDelete: .cascade)
                t.column("fromState", .text)
                t.column("toState", .text).notNull()
                t.column("at", .double).notNull()
                t.column("source", .text).notNull()
                t.column("reason", .text)
            }
            try db.create(index: "transition_job", on: "jobTransition", columns: ["jobID", "sequence"])
            try db.create(table: "idempotencyKey") { t in
                t.column("researchGroup", .text).notNull()
                t.column("key", .text).notNull()
                t.column("requestHash", .text).notNull()
                t.column("jobID", .text).notNull().references("job", onDelete: .cascade)
                t.column("createdAt", .double).notNull()
                t.primaryKey(["researchGroup", "key"])
            }
        }
        migrator.registerMigration("v2: API tokens") { db in
            try db.create(table: "apiToken") { t in
                t.primaryKey("id", .text)
                t.column("researchGroup", .text)
                t.column("label", .text)
                t.column("hash", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("revokedAt", .double)
            }
        }
        migrator.registerMigration("v3: active jobs per group by index") { db in
            // The quota check counts a group's unfinished jobs on every submission; without this index
            // SQLite read every row of the group (scripts included), a sixth of a submission's time at a
            // thousand active jobs (BENCHMARKS.md).
            try db.create(index: "job_group_state", on: "job", columns: ["researchGroup", "state"])
        }
        migrator.registerMigration("v4: readiness write probe") { db in
            // One row that readiness rewrites: a write that really reaches the disk, so a store that
            // cannot take writes (read-only, immutable, failing) shows in /readyz, not only on a submission.
            try db.execute(sql: "CREATE TABLE storeProbe (id INTEGER PRIMARY KEY CHECK (id = 1), writtenAt REAL NOT NULL)")
        }
        migrator.registerMigration("v5: runs, their steps and array tasks", migrate: createRunTables)
        migrator.registerMigration("v6: a run's cancellation by a person") { db in
            // Cancelling a run cancels only its first open steps in the scheduler; Slurm ends the steps
            // that depend on them (DependencyNeverSatisfied). This says those were cancelled, not failed.
            try db.alter(table: "run") { t in t.add(column: "cancelRequestedAt", .double) }
        }
        migrator.registerMigration("v7: a job row's change position") { db in
            // Every insert and update of a job row sets it above every earlier one (writes are serialized),
            // so a reader that kept rows finds exactly those written since, from any process: the
            // reconciler re-reads only those each cycle instead of every open job.
            try db.alter(table: "job") { t in t.add(column: "changeSequence", .integer).notNull().defaults(to: 0) }
            try db.create(index: "job_change", on: "job", columns: ["changeSequence"])
        }
        migrator.registerMigration("v8: a job's intent in a table of its own") { db in
            // The intent (the rendered script and its submission parameters, about 9 KB for the GATK
            // pipeline) is written once and read rarely, while the job's row changes with every state.
            // SQLite rewrites a whole row on any update, its overflow pages included: with the intent in
            // the row, recording a submission wrote 11 KB to the WAL per job, and every later state as
            // much again; without it about 1 KB (BENCHMARKS.md, issue 15 session 14).
            try db.execute(sql: "CREATE TABLE jobIntent (jobID TEXT PRIMARY KEY NOT NULL REFERENCES job(id) ON DELETE CASCADE, intentJSON TEXT NOT NULL)")
            try db.execute(sql: "INSERT INTO jobIntent (jobID, intentJSON) SELECT id, intentJSON FROM job")
            try db.execute(sql: "ALTER TABLE job DROP COLUMN intentJSON")
        }
        migrator.registerMigration("v9: open jobs per group, kept by triggers", migrate: createOpenJobCounts)
        migrator.registerMigration("v10: a run's tags and the request a standard API received") { db in
            // GA4GH WES stores a run's tags and shows the request back as it was sent; both APIs show the
            // same run, so they live on the run.
            try db.alter(table: "run") { t in
                t.add(column: "tagsJSON", .text).notNull().defaults(to: "{}")
                t.add(column: "receivedRequestJSON", .text)
            }
        }
        migrator.registerMigration("v11: web sessions") { db in
            // A signed-in browser's session (`WebSessions`). Only a hash of the cookie is kept, so the
            // store holds nothing a reader could replay; the token is referred to by id (or by its hash
            // for one the config declares), never kept, and is checked again on every page.
            try db.create(table: "webSession") { t in
                t.primaryKey("cookieHash", .text)
                t.column("tokenID", .text)
                t.column("declaredTokenHash", .text)
                t.column("researchGroup", .text)
                t.column("csrfToken", .text).notNull()
                t.column("createdAt", .double).notNull()
                t.column("expiresAt", .double).notNull()
            }
            try db.create(index: "webSession_expiry", on: "webSession", columns: ["expiresAt"])
        }
        return migrator
    }

    /// Runs, their steps (each one `job` row, so the reconciler, the event stream and the metrics follow a
    /// step like any job) and the array tasks of scatter steps.
    static func createRunTables(_ db: Database) throws {
        try db.create(table: "run") { t in
            t.primaryKey("id", .text)
            t.column("pipelineName", .text).notNull()
            t.column("pipelineVersion", .text).notNull()
            t.column("researchGroup", .text).notNull()
            t.column("cluster", .text).notNull()
            t.column("description", .text)
            t.column("parametersJSON", .text).notNull()
            t.column("samplesJSON", .text).notNull()
            t.column("runDirectory", .text).notNull()
            t.column("parallelLimit", .integer)
            t.column("createdAt", .double).notNull()
        }
        try db.create(index: "run_group_created", on: "run", columns: ["researchGroup", "createdAt"])
        try db.create(table: "runStep") { t in
            t.column("runID", .text).notNull().references("run", onDelete: .cascade)
            t.column("name", .text).notNull()
            t.column("jobID", .text).notNull().unique().references("job", onDelete: .cascade)
            t.column("needs", .text).notNull()
            t.column("taskCount", .integer)
            t.column("position", .integer).notNull()
            t.column("directory", .text).notNull()
            t.column("outputsJSON", .text).notNull()
            // Jobs of earlier attempts of this step, oldest first, comma-separated (a resume replaces the job).
            t.column("previousJobIDs", .text).notNull().defaults(to: "")
            t.primaryKey(["runID", "name"])
        }
        try db.create(table: "runTask") { t in
            t.column("runID", .text).notNull().references("run", onDelete: .cascade)
            t.column("step", .text).notNull()
            t.column("taskIndex", .integer).notNull()
            t.column("sampleID", .text).notNull()
            t.column("state", .text).notNull()
            t.column("failureKind", .text)
            t.column("exitCode", .integer)
            t.column("nativeJobID", .text)
            t.column("startedAt", .double)
            t.column("finishedAt", .double)
            // The task's rendered script: durable before any scheduler call, as a job's intent is.
            t.column("script", .text).notNull()
            t.primaryKey(["runID", "step", "taskIndex"])
        }
        try db.create(table: "runIdempotencyKey") { t in
            t.column("researchGroup", .text).notNull()
            t.column("key", .text).notNull()
            t.column("requestHash", .text).notNull()
            t.column("runID", .text).notNull().references("run", onDelete: .cascade)
            t.primaryKey(["researchGroup", "key"])
        }
    }

    /// The active-jobs quota reads a group's unfinished jobs on every group commit. Counted from the
    /// index that cost time in proportion to them: 206 µs at 4,000 open jobs (BENCHMARKS.md, issue 15
    /// session 15), at every submission batch, and 10,000 open jobs are an ordinary day at a site. The
    /// count is kept instead, by triggers in the same transaction as every insert, state change and
    /// delete of a job, so it is exact without any code path having to remember it. The states are
    /// written into the triggers: a new unfinished state needs a migration that writes them again
    /// (`JobStoreTests` checks the count against COUNT(*) for every state).
    static func createOpenJobCounts(_ db: Database) throws {
        let open = "(" + openStates.map { "'\($0)'" }.joined(separator: ", ") + ")"
        try db.execute(sql: """
            CREATE TABLE groupOpenJobs (researchGroup TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL) WITHOUT ROWID;
            INSERT INTO groupOpenJobs (researchGroup, count)
                SELECT researchGroup, COUNT(*) FROM job WHERE state IN \(open) GROUP BY researchGroup;
            CREATE TRIGGER job_open_insert AFTER INSERT ON job WHEN NEW.state IN \(open) BEGIN
                INSERT INTO groupOpenJobs (researchGroup, count) VALUES (NEW.researchGroup, 1)
                    ON CONFLICT (researchGroup) DO UPDATE SET count = count + 1;
            END;
            CREATE TRIGGER job_open_delete AFTER DELETE ON job WHEN OLD.state IN \(open) BEGIN
                UPDATE groupOpenJobs SET count = count - 1 WHERE researchGroup = OLD.researchGroup;
            END;
            CREATE TRIGGER job_open_update AFTER UPDATE OF state, researchGroup ON job
                WHEN (OLD.state IN \(open)) <> (NEW.state IN \(open)) OR (OLD.researchGroup <> NEW.researchGroup AND NEW.state IN \(open)) BEGIN
                UPDATE groupOpenJobs SET count = count - 1 WHERE researchGroup = OLD.researchGroup AND OLD.state IN \(open);
                INSERT INTO groupOpenJobs (researchGroup, count) SELECT NEW.researchGroup, 1 WHERE NEW.state IN \(open)
                    ON CONFLICT (researchGroup) DO UPDATE SET count = count + 1;
            END;
            """)
    }
}
