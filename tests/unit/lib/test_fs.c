/* lib/fs: atomic replace, bounded reads, mkdir -p; lib/err: every code has a name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/err/err.h"
#include "lib/fs/fs.h"

static char dir[256];

static int
setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/lester-test-fs-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int
count_entries(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void
test_fs_atomic_write_replaces_and_leaves_no_temp(void **state)
{
    (void)state;
    char *p = fs_join(dir, "f.json");
    assert_int_equal(fs_write_atomic(p, "one", 3, 0600), 0);
    assert_int_equal(fs_write_atomic(p, "second", 6, 0644), 0);
    buf_t b = BUF_INIT(64);
    assert_int_equal(fs_read_all(p, 64, &b), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "second", 6);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(count_entries(dir), 1);            /* no temp file left */
    buf_free(&b);
    free(p);
}

static void
test_fs_read_all_limits(void **state)
{
    (void)state;
    char *p = fs_join(dir, "big");
    char data[100];
    memset(data, 'x', sizeof data);
    assert_int_equal(fs_write_atomic(p, data, sizeof data, 0600), 0);
    buf_t b = BUF_INIT(BUF_UNLIMITED);
    assert_int_equal(fs_read_all(p, 99, &b), LS_ETOOBIG);
    buf_clear(&b);
    assert_int_equal(fs_read_all(p, 100, &b), 0);
    assert_int_equal(b.len, 100);
    char *missing = fs_join(dir, "missing");
    assert_int_equal(fs_read_all(missing, 10, &b), -ENOENT);
    assert_false(fs_exists(missing));
    assert_true(fs_exists(p));
    buf_free(&b);
    free(missing);
    free(p);
}

static void
test_fs_mkdir_p_and_join(void **state)
{
    (void)state;
    char *deep = fs_join(dir, "a/b/c");
    assert_int_equal(fs_mkdir_p(deep, 0700), 0);
    assert_int_equal(fs_mkdir_p(deep, 0700), 0);         /* again: fine */
    assert_true(fs_exists(deep));
    char *j = fs_join("/x/", "y");
    assert_string_equal(j, "/x/y");
    free(j);
    free(deep);
}

static void
test_err_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(ls_strerror(0), "success");
    for (int c = LS_ELAST + 1; c <= LS_ETOOBIG; c++)
        assert_string_not_equal(ls_strerror(c), "unknown error");
    assert_string_equal(ls_strerror(LS_EINVAL), "malformed input");
    assert_string_equal(ls_strerror(-ENOENT), strerror(ENOENT));
    assert_string_equal(ls_strerror(LS_ELAST - 5), "unknown error");
    assert_string_equal(ls_strerror(42), "unknown error");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fs_atomic_write_replaces_and_leaves_no_temp),
        cmocka_unit_test(test_fs_read_all_limits),
        cmocka_unit_test(test_fs_mkdir_p_and_join),
        cmocka_unit_test(test_err_names_every_code),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
