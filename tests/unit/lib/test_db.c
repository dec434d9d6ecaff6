#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf/buf.h"
#include "lib/db/db.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

static const db_migration_t base_migrations[] = {
    {1, "create peers", "CREATE TABLE peers (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"},
    {2, "seed peers", "INSERT INTO peers(name) VALUES ('a'); INSERT INTO peers(name) VALUES ('b')"},
    {3, "add score", "ALTER TABLE peers ADD COLUMN score REAL DEFAULT 0.5"},
};

/* ---- scratch directories ---- */

typedef struct {
    char dir[512];
    char path[600];
} scratch_t;

static int
scratch_setup(void **state)
{
    scratch_t *s = calloc(1, sizeof *s);
    const char *base = getenv("LESTER_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    fs_mkdir_p(base, 0700);
    snprintf(s->dir, sizeof s->dir, "%s/test_db.XXXXXX", base);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->path, sizeof s->path, "%s/lester.db", s->dir);
    *state = s;
    return 0;
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int
scratch_teardown(void **state)
{
    scratch_t *s = *state;
    nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
    return 0;
}

static int64_t
query_int(db_t *db, const char *sql)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

/* ---- tests ---- */

static void
test_db_migrations_apply_once_in_order(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    assert_int_equal(db_schema_version(db), 3);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM peers"), 2);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM schema_migrations"), 3);
    assert_true(query_int(db, "SELECT MIN(applied_at) FROM schema_migrations") > 1700000000);
    db_free(db);
    assert_null(db);

    /* re-open: nothing applies again (migration 2 would add two more rows, and fail
     * on the UNIQUE name) */
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM peers"), 2);
    db_free(db);

    /* a binary with one more migration applies only that one */
    db_migration_t more[4];
    memcpy(more, base_migrations, sizeof base_migrations);
    more[3] = (db_migration_t){7, "add c", "INSERT INTO peers(name, score) VALUES ('c', 1)"};
    assert_int_equal(db_open(s->path, more, 4, &db, NULL), 0);
    assert_int_equal(db_schema_version(db), 7);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM peers"), 3);
    db_free(db);
    db_free(db); /* NULL is a no-op */
}

static void
test_db_gap_filled_later(void **state)
{
    /* a lower layer may add a migration below versions already applied */
    scratch_t *s = *state;
    db_migration_t m[3] = {
        base_migrations[0], {200, "upper", "CREATE TABLE upper_t (x INTEGER)"}, {0, NULL, NULL}};
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, m, 2, &db, NULL), 0);
    db_free(db);
    m[2] = m[1];
    m[1] = (db_migration_t){5, "lower", "CREATE TABLE lower_t (y INTEGER)"};
    assert_int_equal(db_open(s->path, m, 3, &db, NULL), 0);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM schema_migrations"), 3);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM lower_t"), 0);
    assert_int_equal(db_schema_version(db), 200);
    db_free(db);
}

static void
test_db_newer_schema_refused(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    db_free(db);
    assert_int_equal(db_open(s->path, base_migrations, 2, &db, &err), LS_ECORRUPT);
    assert_null(db);
    assert_non_null(strstr(buf_cstr(&err), "database schema version 3 is newer than this lester "
                                           "(max 2)"));
    buf_free(&err);

    /* a recorded version below the maximum that this binary does not know */
    db_migration_t other[4] = {
        base_migrations[0], base_migrations[1], base_migrations[2], {9, "nine", "SELECT 1"}};
    other[2].version = 4;
    assert_int_equal(db_open(s->path, other, 4, &db, &err), LS_ECORRUPT);
    assert_non_null(strstr(buf_cstr(&err), "migration 3 (add score)"));
    buf_free(&err);
}

static void
test_db_not_a_database(void **state)
{
    scratch_t *s = *state;
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)('A' + i % 26);
    assert_int_equal(fs_write_atomic(s->path, junk, sizeof junk, 0600), 0);
    db_t *db = NULL;
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, &err), LS_ECORRUPT);
    assert_null(db);
    assert_non_null(strstr(buf_cstr(&err), "is not a SQLite database"));
    buf_free(&err);

    /* a missing directory */
    char bad[700];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.db", s->dir);
    assert_int_equal(db_open(bad, base_migrations, 3, &db, NULL), LS_EIO);
    assert_null(db);
}

static void
test_db_bad_migration_arrays(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    db_migration_t m[2] = {base_migrations[1], base_migrations[0]};
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(db_open(s->path, m, 2, &db, &err), LS_EINVAL);
    assert_non_null(strstr(buf_cstr(&err), "must increase"));
    buf_free(&err);

    /* a failing migration is rolled back; the earlier ones stay */
    db_migration_t f[2] = {base_migrations[0],
                           {2, "broken", "INSERT INTO peers(name) VALUES ('x'); SELEKT"}};
    assert_int_equal(db_open(s->path, f, 2, &db, &err), LS_EIO);
    assert_non_null(strstr(buf_cstr(&err), "migration 2 (broken) failed"));
    buf_free(&err);
    assert_int_equal(db_open(s->path, f, 1, &db, NULL), 0);
    assert_int_equal(db_schema_version(db), 1);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM peers"), 0);
    db_free(db);
}

static void
test_db_merge(void **state)
{
    (void)state;
    static const db_migration_t net[] = {{100, "n1", "SELECT 1"}, {101, "n2", "SELECT 2"}};
    static const db_migration_t lib[] = {{1, "l1", "SELECT 3"}, {2, "l2", "SELECT 4"}};
    db_migration_list_t lists[] = {{net, 2}, {lib, 2}, {NULL, 0}};
    db_migration_t *all = NULL;
    size_t n = 0;
    assert_int_equal(db_migrations_merge(lists, 3, &all, &n, NULL), 0);
    assert_int_equal(n, 4);
    assert_int_equal(all[0].version, 1);
    assert_int_equal(all[1].version, 2);
    assert_int_equal(all[2].version, 100);
    assert_string_equal(all[3].name, "n2");
    free(all);

    static const db_migration_t dup[] = {{2, "again", "SELECT 5"}};
    db_migration_list_t lists2[] = {{lib, 2}, {dup, 1}};
    buf_t err = BUF_INIT(BUF_UNLIMITED);
    all = NULL;
    assert_int_equal(db_migrations_merge(lists2, 2, &all, &n, &err), LS_EINVAL);
    assert_null(all);
    assert_non_null(strstr(buf_cstr(&err), "two migrations have version 2"));
    buf_free(&err);
}

static void
test_db_wal_and_pragmas(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    sqlite3_stmt *st = db_stmt(db, "PRAGMA journal_mode");
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_reset(st);
    assert_int_equal(query_int(db, "PRAGMA synchronous"), 1); /* NORMAL */
    assert_int_equal(query_int(db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(query_int(db, "PRAGMA busy_timeout"), 5000);

    char wal[700];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    assert_true(fs_exists(wal));
    int64_t before = db_size_bytes(db);
    assert_true(before > 0);
    assert_int_equal(db_begin(db), 0);
    for (int i = 0; i < 500; i++) {
        st = db_stmt(db, "INSERT INTO peers(name) VALUES (?)");
        char name[96];
        snprintf(name, sizeof name, "peer-%d-with-a-longer-name-to-fill-pages", i);
        sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
        assert_int_equal(db_check(db, sqlite3_step(st), "insert"), 0);
    }
    assert_int_equal(db_commit(db), 0);
    assert_true(db_size_bytes(db) > before);

    buf_t report = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(db_integrity_check(db, &report), 0);
    assert_string_equal(buf_cstr(&report), "ok\n");
    buf_free(&report);
    db_free(db);
    /* the close checkpointed and removed (or truncated) the WAL */
    struct stat stw;
    assert_true(stat(wal, &stw) != 0 || stw.st_size == 0);
}

static void
test_db_stmt_cache_and_errors(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);

    char sql[64];
    snprintf(sql, sizeof sql, "SELECT name FROM peers WHERE id >= ? ORDER BY id");
    sqlite3_stmt *a = db_stmt(db, "SELECT name FROM peers WHERE id >= ? ORDER BY id");
    sqlite3_bind_int(a, 1, 1);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW); /* left mid-way on purpose */
    sqlite3_stmt *b = db_stmt(db, sql);            /* same text, other pointer */
    assert_ptr_equal(a, b);
    assert_int_equal(sqlite3_step(b), SQLITE_DONE); /* reset, bindings cleared: id >= NULL */
    sqlite3_reset(b);
    /* many distinct statements: the cache grows and keeps them */
    for (int i = 0; i < 100; i++) {
        char q[64];
        snprintf(q, sizeof q, "SELECT %d", i);
        assert_non_null(db_stmt(db, q));
    }
    assert_ptr_equal(db_stmt(db, sql), a);
    assert_null(db_stmt(db, "SELEKT nonsense"));

    /* error mapping */
    sqlite3_stmt *ins = db_stmt(db, "INSERT INTO peers(name) VALUES ('a')");
    assert_int_equal(db_check(db, sqlite3_step(ins), "dup insert"), LS_EEXIST);
    sqlite3_reset(ins);
    assert_int_equal(db_exec(db, "INSERT INTO nowhere VALUES (1)"), LS_EIO);
    assert_int_equal(db_error_code(SQLITE_BUSY), LS_ELOCKED);
    assert_int_equal(db_error_code(SQLITE_CORRUPT), LS_ECORRUPT);
    assert_int_equal(db_error_code(SQLITE_NOTADB), LS_ECORRUPT);
    assert_int_equal(db_error_code(SQLITE_IOERR_FSYNC), LS_EIO);
    assert_int_equal(db_error_code(SQLITE_DONE), 0);

    /* a second connection cannot take the write lock */
    db_t *other = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &other, NULL), 0);
    assert_int_equal(db_begin(db), 0);
    sqlite3_busy_timeout(db_handle(other), 0);
    assert_int_equal(db_begin(other), LS_ELOCKED);
    assert_int_equal(db_rollback(other), 0); /* none open: harmless */
    assert_int_equal(db_rollback(db), 0);
    assert_int_equal(db_begin(other), 0);
    assert_int_equal(db_commit(other), 0);
    db_free(other);
    db_free(db);
}

static void
test_db_corruption_detected(void **state)
{
    scratch_t *s = *state;
    db_t *db = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    assert_int_equal(db_exec(db, "CREATE TABLE blob_t (k INTEGER PRIMARY KEY, v BLOB);"
                                 "CREATE INDEX blob_v ON blob_t(v);"
                                 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c "
                                 "WHERE x < 2000) INSERT INTO blob_t SELECT x, randomblob(64) "
                                 "FROM c;"),
                     0);
    db_free(db);
    /* scribble over the middle of the file, past the schema page */
    int fd = open(s->path, O_WRONLY);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    char junk[8192];
    memset(junk, 0x5a, sizeof junk);
    assert_int_equal(pwrite(fd, junk, sizeof junk, st.st_size / 2), (ssize_t)sizeof junk);
    close(fd);

    int rc = db_open(s->path, base_migrations, 3, &db, NULL);
    if (rc == 0) {
        buf_t report = BUF_INIT(BUF_UNLIMITED);
        rc = db_integrity_check(db, &report);
        assert_true(report.len > 0);
        buf_free(&report);
        db_free(db);
    }
    assert_int_equal(rc, LS_ECORRUPT);
}

/* A committed transaction survives kill -9 of the process that made it. */
static void
test_db_commit_survives_kill9(void **state)
{
    scratch_t *s = *state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        db_t *db = NULL;
        if (db_open(s->path, base_migrations, 3, &db, NULL) < 0 || db_begin(db) < 0 ||
            db_exec(db, "INSERT INTO peers(name) VALUES ('durable')") < 0 || db_commit(db) < 0)
            _exit(1);
        (void)!write(fds[1], "c", 1);
        for (;;)
            pause(); /* killed here, connection still open, WAL not checkpointed */
    }
    close(fds[1]);
    char c = 0;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));

    db_t *db = NULL;
    assert_int_equal(db_open(s->path, base_migrations, 3, &db, NULL), 0);
    assert_int_equal(query_int(db, "SELECT COUNT(*) FROM peers WHERE name = 'durable'"), 1);
    assert_int_equal(db_integrity_check(db, NULL), 0);
    db_free(db);
}

static void
test_db_memory(void **state)
{
    (void)state;
    db_t *db = NULL;
    assert_int_equal(db_open(":memory:", base_migrations, 3, &db, NULL), 0);
    assert_int_equal(db_schema_version(db), 3);
    assert_true(db_size_bytes(db) > 0);
    db_free(db);
}

#define T(f) cmocka_unit_test_setup_teardown(f, scratch_setup, scratch_teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_db_migrations_apply_once_in_order),
        T(test_db_gap_filled_later),
        T(test_db_newer_schema_refused),
        T(test_db_not_a_database),
        T(test_db_bad_migration_arrays),
        T(test_db_merge),
        T(test_db_wal_and_pragmas),
        T(test_db_stmt_cache_and_errors),
        T(test_db_corruption_detected),
        T(test_db_commit_survives_kill9),
        T(test_db_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
