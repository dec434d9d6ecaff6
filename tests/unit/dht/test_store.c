/* kad_store: limits, expiry, republish scheduling, and the SQLite round trip
 * (records and providers survive a restart). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "dht/dht_migrations.h"
#include "dht/kad.h"
#include "dht/kad_store.h"
#include "lib/crypto/ed25519.h"
#include "lib/db/db.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"

#define NOW 1800000000000ull
#define HOUR 3600000ull

typedef struct scratch_t {
    char dir[512], path[600];
} scratch_t;

static int
setup(void **state)
{
    scratch_t *s = calloc(1, sizeof *s);
    const char *base = getenv("LESTER_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    fs_mkdir_p(base, 0700);
    snprintf(s->dir, sizeof s->dir, "%s/test_dht_store.XXXXXX", base);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->path, sizeof s->path, "%s/lester.db", s->dir);
    *state = s;
    return 0;
}

static int
teardown(void **state)
{
    scratch_t *s = *state;
    char wal[700], shm[700];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    snprintf(shm, sizeof shm, "%s-shm", s->path);
    unlink(s->path), unlink(wal), unlink(shm);
    rmdir(s->dir);
    free(s);
    return 0;
}

static void
test_limits_and_expiry(void **state)
{
    (void)state;
    kad_store_limits_t lim = {2, 2, 2};
    kad_store_t *s = kad_store_new(&lim);
    const uint8_t *v = (const uint8_t *)"v";
    assert_int_equal(kad_store_put_record(s, (const uint8_t *)"a", 1, v, 1, NOW, NOW + HOUR, 0), 0);
    assert_int_equal(
        kad_store_put_record(s, (const uint8_t *)"b", 1, v, 1, NOW, NOW + 2 * HOUR, NOW + HOUR / 2),
        0);
    assert_int_equal(kad_store_put_record(s, (const uint8_t *)"c", 1, v, 1, NOW, NOW, 0),
                     LS_ELIMIT);
    assert_int_equal(kad_store_put_record(s, (const uint8_t *)"a", 1, v, 1, NOW, NOW + HOUR, 0),
                     0); /* replacing is always possible */
    assert_int_equal(kad_store_next_event(s), NOW + HOUR / 2);
    kad_store_due_t due;
    assert_int_equal(kad_store_next_due(s, NOW, &due), 0);
    assert_int_equal(kad_store_next_due(s, NOW + HOUR / 2, &due), 1);
    assert_memory_equal(due.key, "b", 1);

    peer_id_t p[3];
    for (int i = 0; i < 3; i++) {
        uint8_t pk[32] = {(uint8_t)i};
        peer_id_from_ed25519(&p[i], pk);
    }
    kad_provider_t prov = {p[0], NULL, 0, NULL, 0, NOW + HOUR, 0};
    assert_int_equal(kad_store_add_provider(s, (const uint8_t *)"k", 1, &prov), 0);
    prov.id = p[1], prov.expires_ms = NOW + 3 * HOUR;
    assert_int_equal(kad_store_add_provider(s, (const uint8_t *)"k", 1, &prov), 0);
    prov.id = p[2], prov.expires_ms = NOW + 2 * HOUR; /* full: replaces the soonest (p[0]) */
    assert_int_equal(kad_store_add_provider(s, (const uint8_t *)"k", 1, &prov), 0);
    prov.expires_ms = NOW;
    prov.id = p[0];
    assert_int_equal(kad_store_add_provider(s, (const uint8_t *)"k", 1, &prov), LS_ELIMIT);
    const kad_provider_t *list[4];
    assert_int_equal(kad_store_get_providers(s, (const uint8_t *)"k", 1, list, 4), 2);

    assert_int_equal(kad_store_expire(s, NOW + HOUR), 1);     /* record a */
    assert_int_equal(kad_store_expire(s, NOW + 2 * HOUR), 2); /* b and p[2] */
    assert_int_equal(kad_store_record_count(s), 0);
    assert_int_equal(kad_store_provider_count(s), 1);
    kad_store_free(s);
}

static void
test_sqlite_round_trip(void **state)
{
    scratch_t *sc = *state;
    db_t *db = NULL;
    assert_int_equal(db_open(sc->path, dht_migrations, dht_migrations_len, &db, NULL), 0);
    kad_store_t *s = kad_store_new(NULL);
    assert_int_equal(kad_store_attach_db(s, db, NOW), 0);
    peer_id_t id;
    uint8_t pk[32] = {7};
    peer_id_from_ed25519(&id, pk);
    const uint8_t addrs[] = {0, 8, 0x04, 1, 2, 3, 4, 0x06, 0x0f, 0xa1};
    kad_provider_t prov = {id, addrs,      sizeof addrs,  (const uint8_t *)"meta",
                           4,  NOW + HOUR, NOW + HOUR / 2};
    assert_int_equal(kad_store_put_record(s, (const uint8_t *)"/lester/a", 9,
                                          (const uint8_t *)"value-a", 7, NOW, NOW + HOUR, 0),
                     0);
    assert_int_equal(kad_store_put_record(s, (const uint8_t *)"/lester/b", 9,
                                          (const uint8_t *)"value-b", 7, NOW, NOW + 5, NOW + 1),
                     0);
    assert_int_equal(kad_store_add_provider(s, (const uint8_t *)"cid", 3, &prov), 0);
    assert_int_equal(
        kad_store_set_provider_republish(s, (const uint8_t *)"cid", 3, &id, NOW + HOUR / 4), 0);
    kad_store_free(s);
    db_free(db);

    /* restart, later: the expired record is gone, the rest is back */
    assert_int_equal(db_open(sc->path, dht_migrations, dht_migrations_len, &db, NULL), 0);
    assert_int_equal(db_schema_version(db), 200);
    s = kad_store_new(NULL);
    assert_int_equal(kad_store_attach_db(s, db, NOW + 10), 0);
    assert_int_equal(kad_store_record_count(s), 1);
    const kad_stored_record_t *r = kad_store_get_record(s, (const uint8_t *)"/lester/a", 9);
    assert_non_null(r);
    assert_int_equal(r->vlen, 7);
    assert_memory_equal(r->value, "value-a", 7);
    assert_int_equal(r->expires_ms, NOW + HOUR);
    assert_null(kad_store_get_record(s, (const uint8_t *)"/lester/b", 9));
    const kad_provider_t *list[2];
    assert_int_equal(kad_store_get_providers(s, (const uint8_t *)"cid", 3, list, 2), 1);
    assert_true(peer_id_equal(&list[0]->id, &id));
    assert_int_equal(list[0]->addrs_len, sizeof addrs);
    assert_memory_equal(list[0]->meta, "meta", 4);
    assert_int_equal(list[0]->republish_ms, NOW + HOUR / 4);
    /* a later expiry pass deletes from disk as well */
    assert_int_equal(kad_store_expire(s, NOW + HOUR), 2);
    kad_store_free(s);
    s = kad_store_new(NULL);
    assert_int_equal(kad_store_attach_db(s, db, NOW), 0);
    assert_int_equal(kad_store_record_count(s) + kad_store_provider_count(s), 0);
    kad_store_free(s);
    db_free(db);
}

static int
noop_send(void *ctx, uint64_t id, const peer_id_t *to, const uint8_t *addrs, size_t alen,
          const uint8_t *msg, size_t len, bool want)
{
    (void)ctx, (void)id, (void)to, (void)addrs, (void)alen, (void)msg, (void)len, (void)want;
    return 0;
}

static void
done(void *arg, const kad_result_t *res)
{
    (void)arg, (void)res;
}

/* A node's own value survives a restart and is scheduled for republishing. */
static void
test_kad_own_value_persists(void **state)
{
    scratch_t *sc = *state;
    ed25519_keypair_t kp;
    ed25519_keypair_generate(&kp);
    peer_id_t self;
    peer_id_from_ed25519(&self, kp.pk);
    kad_env_t env = {NULL, noop_send, NULL};
    db_t *db = NULL;
    assert_int_equal(db_open(sc->path, dht_migrations, dht_migrations_len, &db, NULL), 0);
    kad_t *kad = kad_new(&self, NULL, &env);
    assert_int_equal(kad_attach_db(kad, db, NOW), 0);
    const uint8_t key[] = "/lester/mine";
    buf_t v = BUF_INIT(BUF_UNLIMITED);
    kad_lester_value_make(key, sizeof key - 1, (const uint8_t *)"x", 1, 1, NOW, NOW + 24 * HOUR,
                          &kp, &v);
    /* no peers: the lookup cannot start, but the value is kept locally */
    assert_int_equal(kad_put_value(kad, NOW, key, sizeof key - 1, v.data, v.len, done, NULL),
                     LS_ENOENT);
    kad_free(kad);
    kad = kad_new(&self, NULL, &env);
    assert_int_equal(kad_attach_db(kad, db, NOW + 1), 0);
    const kad_stored_record_t *r = kad_store_get_record(kad_store(kad), key, sizeof key - 1);
    assert_non_null(r);
    assert_int_equal(r->republish_ms, NOW + HOUR);
    assert_int_equal(r->expires_ms, NOW + 24 * HOUR);
    kad_free(kad);
    db_free(db);
    buf_free(&v);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_and_expiry),
        cmocka_unit_test_setup_teardown(test_sqlite_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kad_own_value_persists, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
