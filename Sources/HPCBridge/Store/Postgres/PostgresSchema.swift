import Foundation

/// The store's schema on PostgreSQL, as migrations applied in order at start-up, like SQLite's
/// (`JobStore.migrator`); a released migration is never edited, a change is a new one.
///
/// Version 1 is SQLite's schema as of its migration v11, built at once (PostgreSQL stores start there):
/// the same tables and columns, so the store's statements and row mapping serve both backends and
/// `hpcbridge store migrate` copies rows column for column. Names are unquoted (PostgreSQL folds them
/// to lower case, and the statements are unquoted too); times are seconds since 2001-01-01 as `double
/// precision`, as in SQLite. The open-jobs count per group (`groupOpenJobs`) is kept by triggers here
/// too. `checkSameColumns` in the tests compares both schemas table by table.
public enum PostgresSchema {
    /// One migration: its version, its name, and its statements, run in one transaction.
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let statements: [String]
    }

    /// The advisory lock a migration holds (namespace, purpose 3), so nodes starting together migrate once.
    static let migrationLockKeys: (namespace: Int32, purpose: Int32) = (0x6862, 3)

    /// The states that count against `max_active_jobs` (as SQLite's triggers list them).
    static let openStates = "('accepted', 'queued', 'held', 'running', 'suspended')"

    public static let migrations: [Migration] = [
        Migration(version: 1, name: "the store as SQLite's v11: jobs, transitions, keys, tokens, runs, sessions", statements: [
            """
            CREATE TABLE job (
                id text PRIMARY KEY, state text NOT NULL, failureKind text, failureReason text, exitCode bigint, exitSignal bigint,
                pipelineName text NOT NULL, pipelineVersion text NOT NULL, parametersJSON text NOT NULL, researchGroup text NOT NULL,
                description text, cluster text NOT NULL, nativeJobID text, createdAt double precision NOT NULL,
                submittedAt double precision, startedAt double precision, finishedAt double precision, scriptDigest text NOT NULL,
                requeueCount bigint NOT NULL DEFAULT 0, vanishedAt double precision, changeSequence bigint NOT NULL DEFAULT 0)
            """,
            "CREATE INDEX job_group_created ON job (researchGroup, createdAt, id)",
            "CREATE INDEX job_cluster_state ON job (cluster, state)",
            "CREATE INDEX job_native ON job (cluster, nativeJobID)",
            "CREATE INDEX job_group_state ON job (researchGroup, state)",
            "CREATE INDEX job_change ON job (changeSequence)",
            """
            CREATE TABLE jobTransition (
                sequence bigserial PRIMARY KEY, jobID text NOT NULL REFERENCES job (id) ON DELETE CASCADE, fromState text,
                toState text NOT NULL, at double precision NOT NULL, source text NOT NULL, reason text)
            """,
            "CREATE INDEX transition_job ON jobTransition (jobID, sequence)",
            """
            CREATE TABLE idempotencyKey (
                researchGroup text NOT NULL, key text NOT NULL, requestHash text NOT NULL,
                jobID text NOT NULL REFERENCES job (id) ON DELETE CASCADE, createdAt double precision NOT NULL, PRIMARY KEY (researchGroup, key))
            """,
            "CREATE TABLE jobIntent (jobID text PRIMARY KEY REFERENCES job (id) ON DELETE CASCADE, intentJSON text NOT NULL)",
            """
            CREATE TABLE apiToken (
                id text PRIMARY KEY, researchGroup text, label text, hash text NOT NULL, createdAt double precision NOT NULL,
                revokedAt double precision)
            """,
            "CREATE TABLE storeProbe (id bigint PRIMARY KEY CHECK (id = 1), writtenAt double precision NOT NULL)",
            """
            CREATE TABLE run (
                id text PRIMARY KEY, pipelineName text NOT NULL, pipelineVersion text NOT NULL, researchGroup text NOT NULL,
                cluster text NOT NULL, description text, parametersJSON text NOT NULL, samplesJSON text NOT NULL, runDirectory text NOT NULL,
                parallelLimit bigint, createdAt double precision NOT NULL, cancelRequestedAt double precision,
                tagsJSON text NOT NULL DEFAULT '{}', receivedRequestJSON text)
            """,
            "CREATE INDEX run_group_created ON run (researchGroup, createdAt)",
            """
            CREATE TABLE runStep (
                runID text NOT NULL REFERENCES run (id) ON DELETE CASCADE, name text NOT NULL,
                jobID text NOT NULL UNIQUE REFERENCES job (id) ON DELETE CASCADE, needs text NOT NULL, taskCount bigint,
                position bigint NOT NULL, directory text NOT NULL, outputsJSON text NOT NULL, previousJobIDs text NOT NULL DEFAULT '',
                PRIMARY KEY (runID, name))
            """,
            """
            CREATE TABLE runTask (
                runID text NOT NULL REFERENCES run (id) ON DELETE CASCADE, step text NOT NULL, taskIndex bigint NOT NULL,
                sampleID text NOT NULL, state text NOT NULL, failureKind text, exitCode bigint, nativeJobID text,
                startedAt double precision, finishedAt double precision, script text NOT NULL, PRIMARY KEY (runID, step, taskIndex))
            """,
            """
            CREATE TABLE runIdempotencyKey (
                researchGroup text NOT NULL, key text NOT NULL, requestHash text NOT NULL,
                runID text NOT NULL REFERENCES run (id) ON DELETE CASCADE, PRIMARY KEY (researchGroup, key))
            """,
            """
            CREATE TABLE webSession (
                cookieHash text PRIMARY KEY, tokenID text, declaredTokenHash text, researchGroup text, csrfToken text NOT NULL,
                createdAt double precision NOT NULL, expiresAt double precision NOT NULL)
            """,
            "CREATE INDEX webSession_expiry ON webSession (expiresAt)",
            "CREATE TABLE groupOpenJobs (researchGroup text PRIMARY KEY, count bigint NOT NULL)",
            // One trigger function for the three changes SQLite has a trigger each for: a group's count goes
            // down when a job leaves the open states (or the group) and up when one enters them.
            """
            CREATE FUNCTION job_open_count() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state IN \(openStates) THEN
                    UPDATE groupOpenJobs SET count = count - 1 WHERE researchGroup = OLD.researchGroup;
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.state IN \(openStates) THEN
                    INSERT INTO groupOpenJobs (researchGroup, count) VALUES (NEW.researchGroup, 1)
                        ON CONFLICT (researchGroup) DO UPDATE SET count = groupOpenJobs.count + 1;
                END IF;
                RETURN NULL;
            END $$
            """,
            "CREATE TRIGGER job_open_insert AFTER INSERT ON job FOR EACH ROW EXECUTE FUNCTION job_open_count()",
            "CREATE TRIGGER job_open_delete AFTER DELETE ON job FOR EACH ROW EXECUTE FUNCTION job_open_count()",
            """
            CREATE TRIGGER job_open_update AFTER UPDATE OF state, researchGroup ON job FOR EACH ROW
                WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.researchGroup IS DISTINCT FROM NEW.researchGroup)
                EXECUTE FUNCTION job_open_count()
            """,
        ]),
    ]

    /// Applies the migrations the database does not have yet, each in one transaction, under the
    /// migration lock; returns the versions applied (none when the schema is current).
    @discardableResult
    public static func migrate(_ session: PostgresSession) throws -> [Int] {
        try session.execute("SELECT pg_advisory_lock(?::integer, ?::integer)", [.integer(Int64(migrationLockKeys.namespace)), .integer(Int64(migrationLockKeys.purpose))])
        defer {
            _ = try? session.execute("SELECT pg_advisory_unlock(?::integer, ?::integer)", [.integer(Int64(migrationLockKeys.namespace)), .integer(Int64(migrationLockKeys.purpose))])
        }
        try session.execute("CREATE TABLE IF NOT EXISTS schemaMigration (version bigint PRIMARY KEY, name text NOT NULL, appliedAt double precision NOT NULL)")
        let applied = Set(try session.execute("SELECT version FROM schemaMigration").compactMap { $0.first?.integer })
        var done: [Int] = []
        for migration in migrations where !applied.contains(Int64(migration.version)) {
            try session.write { db in
                for statement in migration.statements { try db.execute(statement) }
                try db.execute("INSERT INTO schemaMigration (version, name, appliedAt) VALUES (?, ?, ?)",
                               [.integer(Int64(migration.version)), .text(migration.name), .real(Date().timeIntervalSinceReferenceDate)])
            }
            done.append(migration.version)
        }
        return done
    }
}
