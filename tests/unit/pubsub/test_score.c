/* Tests of pubsub/score: each of P1–P7, the topic cap, decay, retention and the
 * thresholds, with exact numbers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <math.h>

#include "lib/err/err.h"
#include "pubsub/score/score.h"
#include "pubsub/trust/trust.h"

#define EPS 1e-9
#define T ((const uint8_t *)"t")

static void
near_(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%.17g != %.17g (eps %g)\n", a, b, eps);
        _fail(file, line);
    }
}
#define assert_near(a, b, eps) near_((a), (b), (eps), __FILE__, __LINE__)

static peer_id_t
pid(unsigned i)
{
    uint8_t pk[32] = {0};
    peer_id_t id;
    pk[0] = (uint8_t)i;
    pk[1] = 0x55;
    peer_id_from_ed25519(&id, pk);
    return id;
}

/* A scorer with only the parts a test enables: every weight 0. */
static void
bare(score_topic_params_t *tp, score_params_t *p)
{
    score_params_default(p);
    p->app_specific_weight = 0;
    p->ip_colocation_factor_weight = 0;
    p->behaviour_penalty_weight = 0;
    p->topic_score_cap = 0;
    score_topic_params_default(tp);
    tp->time_in_mesh_weight = 0;
    tp->first_message_deliveries_weight = 0;
    tp->invalid_message_deliveries_weight = 0;
}

static score_t *
make(const score_topic_params_t *tp, const score_params_t *p, const score_env_t *env)
{
    score_t *s = score_new(p, env, 0);
    assert_int_equal(score_set_topic(s, T, 1, tp), 0);
    return s;
}

static void
test_p1_time_in_mesh(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    peer_id_t a = pid(1);
    (void)state;

    bare(&tp, &p);
    tp.time_in_mesh_weight = 0.01;
    tp.time_in_mesh_cap = 100;
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    assert_near(score_get(s, 0, &a), 0, 0);
    score_graft(s, 1000, &a, T, 1);
    assert_near(score_get(s, 31000, &a), 0.01 * 30, EPS);    /* 30 s in mesh */
    assert_near(score_get(s, 1000000, &a), 0.01 * 100, EPS); /* capped at 100 quanta */
    score_prune(s, 1000000, &a, T, 1);
    assert_near(score_get(s, 2000000, &a), 0, 0);
    score_free(s);
}

static void
test_p2_first_deliveries(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    peer_id_t a = pid(1);
    (void)state;

    bare(&tp, &p);
    tp.first_message_deliveries_weight = 2;
    tp.first_message_deliveries_cap = 5;
    tp.first_message_deliveries_decay = 0.5;
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    for (int i = 0; i < 3; i++)
        score_first_delivery(s, &a, T, 1);
    assert_near(score_get(s, 0, &a), 2 * 3, EPS);
    for (int i = 0; i < 10; i++)
        score_first_delivery(s, &a, T, 1);
    assert_near(score_get(s, 0, &a), 2 * 5, EPS); /* cap */
    assert_int_equal(score_tick(s, 1000), 2000);
    assert_near(score_get(s, 1000, &a), 2 * 2.5, EPS); /* decay 0.5 */
    score_tick(s, 3000);                               /* two intervals: 2.5 -> 0.625 */
    assert_near(score_get(s, 3000, &a), 2 * 0.625, EPS);
    /* unknown topics are not scored */
    score_first_delivery(s, &a, (const uint8_t *)"u", 1);
    assert_near(score_get(s, 3000, &a), 2 * 0.625, EPS);
    score_free(s);
}

static void
test_p3_mesh_deliveries(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    peer_id_t a = pid(1);
    (void)state;

    bare(&tp, &p);
    tp.mesh_message_deliveries_weight = -1;
    tp.mesh_message_deliveries_threshold = 4;
    tp.mesh_message_deliveries_activation_ms = 5000;
    tp.mesh_message_deliveries_window_ms = 10;
    tp.mesh_failure_penalty_weight = -2;
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    score_graft(s, 0, &a, T, 1);
    assert_near(score_get(s, 4999, &a), 0, 0); /* not active yet */
    assert_near(score_get(s, 5000, &a), -1 * 4 * 4, EPS);
    score_first_delivery(s, &a, T, 1);
    score_duplicate_delivery(s, 5000, 4995, &a, T, 1);    /* within 10 ms */
    score_duplicate_delivery(s, 5000, 4000, &a, T, 1);    /* too late: not counted */
    assert_near(score_get(s, 5000, &a), -1 * 2 * 2, EPS); /* deficit 4 - 2 */
    /* P3b: pruned with a deficit of 2 -> penalty 4, weight -2 */
    score_prune(s, 5000, &a, T, 1);
    assert_near(score_get(s, 5000, &a), -2 * 4, EPS);
    score_tick(s, 1000 * 6); /* decay 0.5 over six intervals */
    assert_near(score_get(s, 6000, &a), -2 * 4 * pow(0.5, 6), EPS);
    score_free(s);
}

static void
test_p4_invalid(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    score_thresholds_t th;
    peer_id_t a = pid(1);
    (void)state;

    score_params_default(&p);
    score_topic_params_default(&tp);
    score_thresholds_default(&th);
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    score_invalid(s, &a, T, 1);
    assert_near(score_get(s, 0, &a), -10, EPS);
    score_invalid(s, &a, T, 1);
    score_invalid(s, &a, T, 1);
    /* the defaults: three invalid messages, -10 x 3^2, are below the graylist */
    assert_near(score_get(s, 0, &a), -90, EPS);
    assert_true(score_get(s, 0, &a) < th.graylist);
    score_free(s);
}

static double
app(void *ctx, const peer_id_t *peer)
{
    return trust_app_score(ctx, peer);
}

static void
test_p5_trust(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    trust_config_t tc;
    peer_id_t a = pid(1), self = pid(99);
    (void)state;

    bare(&tp, &p);
    p.app_specific_weight = 10;
    trust_config_default(&tc);
    trust_t *t = trust_new(&tc, NULL, &self, 0);
    score_env_t env = {t, app};
    score_t *s = make(&tp, &p, &env);
    assert_near(score_get(s, 0, &a), 0, EPS); /* a stranger: trust 0.5 - 0.5 */
    trust_report(t, 0, &a, TRUST_INVALID_MESSAGE);
    assert_near(score_get(s, 0, &a), 10 * (0.4 - 0.5), EPS);
    trust_report(t, 0, &a, TRUST_VALID_MESSAGE);
    assert_near(score_get(s, 0, &a), 10 * (0.401 - 0.5), EPS);
    score_free(s);
    trust_free(t);
}

static void
test_p6_colocation(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    (void)state;

    bare(&tp, &p);
    p.ip_colocation_factor_weight = -10;
    p.ip_colocation_factor_threshold = 3;
    score_t *s = make(&tp, &p, NULL);
    for (unsigned i = 0; i < 5; i++) {
        peer_id_t x = pid(i);
        score_add_peer(s, 0, &x, "10.0.0.1");
    }
    peer_id_t x = pid(0), y = pid(10), lo = pid(11), lo2 = pid(12);
    score_add_peer(s, 0, &y, "10.0.0.2");
    assert_near(score_get(s, 0, &x), -10 * (5 - 3) * (5 - 3), EPS);
    assert_near(score_get(s, 0, &y), 0, 0);
    x = pid(4);
    score_remove_peer(s, 0, &x);
    x = pid(0);
    assert_near(score_get(s, 0, &x), -10 * 1, EPS);
    for (unsigned i = 20; i < 30; i++) {
        peer_id_t z = pid(i);
        score_add_peer(s, 0, &z, "127.0.0.1");
    }
    score_add_peer(s, 0, &lo, "127.0.0.1");
    score_add_peer(s, 0, &lo2, NULL);
    assert_near(score_get(s, 0, &lo), 0, 0); /* loopback is exempt */
    assert_near(score_get(s, 0, &lo2), 0, 0);
    score_free(s);
}

static void
test_p7_behaviour_and_cap(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    peer_id_t a = pid(1);
    (void)state;

    bare(&tp, &p);
    p.behaviour_penalty_weight = -10;
    p.behaviour_penalty_threshold = 1;
    p.behaviour_penalty_decay = 0.5;
    p.topic_score_cap = 3;
    tp.first_message_deliveries_weight = 1;
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    score_add_penalty(s, &a, 1);
    assert_near(score_get(s, 0, &a), 0, 0); /* at the threshold */
    score_add_penalty(s, &a, 2);
    assert_near(score_get(s, 0, &a), -10 * 2 * 2, EPS);
    score_tick(s, 1000); /* 3 -> 1.5 */
    assert_near(score_get(s, 1000, &a), -10 * 0.5 * 0.5, EPS);
    for (int i = 0; i < 10; i++)
        score_first_delivery(s, &a, T, 1);
    /* topic part capped at 3 */
    assert_near(score_get(s, 1000, &a), 3 - 10 * 0.25, EPS);
    score_free(s);
}

static void
test_retain_and_thresholds(void **state)
{
    score_topic_params_t tp;
    score_params_t p;
    score_thresholds_t th;
    peer_id_t a = pid(1);
    (void)state;

    score_params_default(&p);
    p.retain_score_ms = 10000;
    score_topic_params_default(&tp);
    score_t *s = make(&tp, &p, NULL);
    score_add_peer(s, 0, &a, NULL);
    score_invalid(s, &a, T, 1);
    score_remove_peer(s, 0, &a);
    score_add_peer(s, 0, &a, NULL); /* reconnecting keeps the penalty */
    assert_near(score_get(s, 0, &a), -10, EPS);
    score_remove_peer(s, 0, &a);
    score_tick(s, 9000);
    assert_int_equal(score_count(s), 1);
    score_tick(s, 10000);
    assert_int_equal(score_count(s), 0);
    assert_near(score_get(s, 10000, &a), 0, 0);

    score_thresholds_default(&th);
    assert_true(score_thresholds_valid(&th));
    th.publish = -5; /* above gossip */
    assert_false(score_thresholds_valid(&th));
    tp.invalid_message_deliveries_weight = 1; /* wrong sign */
    assert_int_equal(score_set_topic(s, T, 1, &tp), LS_EINVAL);
    score_topic_params_default(&tp);
    tp.first_message_deliveries_decay = 1.0;
    assert_false(score_topic_params_valid(&tp));
    score_free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_p1_time_in_mesh),
        cmocka_unit_test(test_p2_first_deliveries),
        cmocka_unit_test(test_p3_mesh_deliveries),
        cmocka_unit_test(test_p4_invalid),
        cmocka_unit_test(test_p5_trust),
        cmocka_unit_test(test_p6_colocation),
        cmocka_unit_test(test_p7_behaviour_and_cap),
        cmocka_unit_test(test_retain_and_thresholds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
