#define LOG_MODULE "home"
#include "node/home/home.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/config/config.h"
#include "lib/crypto/keyfile.h"
#include "lib/db/db.h"
#include "lib/err/err.h"
#include "lib/fs/fs.h"
#include "lib/log/log.h"
#include "lib/mem/mem.h"
#include "node/config/node_config.h"
#include "node/store/node_store.h"

char *
home_resolve(const char *flag)
{
    if (flag && *flag)
        return ls_strdup(flag);
    const char *env = getenv("LESTER_HOME");
    if (env && *env)
        return ls_strdup(env);
    const char *h = getenv("HOME");
    return fs_join(h && *h ? h : ".", ".lester");
}

char *
home_path(const char *dir, const char *name)
{
    return fs_join(dir, name);
}

/* A directory we may initialise: missing, empty, or already a Lester home. */
static int
check_initialisable(const char *dir, buf_t *err)
{
    struct stat st;
    if (stat(dir, &st) < 0)
        return errno == ENOENT ? 0 : (buf_printf(err, "%s: %s", dir, strerror(errno)), -errno);
    if (!S_ISDIR(st.st_mode)) {
        buf_printf(err, "%s exists and is not a directory; choose another --home", dir);
        return LS_EACCES;
    }
    DIR *d = opendir(dir);
    if (!d) {
        buf_printf(err, "cannot read %s: %s", dir, strerror(errno));
        return -errno;
    }
    bool empty = true, ours = false;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        empty = false;
        ours |= strcmp(e->d_name, HOME_CONFIG) == 0 || strcmp(e->d_name, HOME_IDENTITY) == 0;
    }
    closedir(d);
    if (!empty && !ours) {
        buf_printf(err, "%s is not empty and is not a Lester data directory; "
                        "choose an empty or new directory with --home", dir);
        return LS_EACCES;
    }
    return 0;
}

static int
write_config(const char *dir, const home_init_opts_t *o, bool force, buf_t *err)
{
    char *path = home_path(dir, HOME_CONFIG);
    int rc = 0;
    if (!fs_exists(path) || force) {
        config_t *cfg = node_config_new();
        rc = node_config_apply_profile(cfg, o->profile ? o->profile : "default", err);
        if (rc == 0 && (rc = config_save(cfg, path)) < 0)
            buf_printf(err, "cannot write %s: %s", path, ls_strerror(rc));
        config_free(cfg);
    }
    free(path);
    return rc;
}

static int
write_identity(const char *dir, const home_init_opts_t *o, ed25519_keypair_t *kp, buf_t *err)
{
    char *path = home_path(dir, HOME_IDENTITY);
    int rc = 0;
    if (fs_exists(path) && !o->force) {
        buf_printf(err, "%s already holds an identity; use --force to replace it "
                        "(the old peer ID is lost)", dir);
        rc = LS_EEXIST;
        goto out;
    }
    ed25519_keypair_generate(kp);
    if ((rc = keyfile_write(path, kp, o->passphrase)) < 0)
        buf_printf(err, "cannot write %s: %s", path, ls_strerror(rc));
out:
    free(path);
    return rc;
}

int
home_init(const char *dir, const home_init_opts_t *o, ed25519_keypair_t *kp, buf_t *err)
{
    int rc = check_initialisable(dir, err);
    if (rc < 0)
        return rc;
    if ((rc = fs_mkdir_p(dir, 0700)) < 0) {
        buf_printf(err, "cannot create %s: %s", dir, strerror(-rc));
        return rc;
    }
    int lock = -1;
    if ((rc = home_lock(dir, &lock, err)) < 0)
        return rc;   /* a daemon is running on it: do not touch its identity */
    if ((rc = write_identity(dir, o, kp, err)) == 0 &&
        (rc = write_config(dir, o, o->force, err)) == 0) {
        char *dbp = home_path(dir, HOME_DB);
        db_t *db = NULL;
        if ((rc = node_store_open(dbp, &db, err)) == 0)
            db_free(db);
        free(dbp);
    }
    home_unlock(lock);
    return rc;
}

int
home_check(const char *dir, buf_t *err)
{
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        buf_printf(err, "no Lester data directory at %s; run 'lester init' first", dir);
        return LS_ENOENT;
    }
    char *id = home_path(dir, HOME_IDENTITY);
    int rc = 0;
    if (access(id, F_OK) < 0) {
        buf_printf(err, "%s has no identity; run 'lester init' first", dir);
        rc = LS_ENOENT;
    } else if (access(id, R_OK) < 0 || access(dir, W_OK) < 0) {
        buf_printf(err, "%s is not readable and writable by this user", dir);
        rc = LS_EACCES;
    }
    free(id);
    return rc;
}

int
home_load_identity(const char *dir, const char *passphrase, ed25519_keypair_t *kp, buf_t *err)
{
    char *path = home_path(dir, HOME_IDENTITY);
    int rc = keyfile_read(path, passphrase, kp);
    if (rc == LS_EPASSPHRASE)
        buf_printf(err, passphrase ? "wrong passphrase for %s"
                                   : "%s is encrypted: give its passphrase with "
                                     "--passphrase-file or LESTER_PASSPHRASE", path);
    else if (rc < 0)
        buf_printf(err, "cannot load %s: %s", path, ls_strerror(rc));
    free(path);
    return rc;
}

int
home_passphrase(const char *file, char **out, buf_t *err)
{
    *out = NULL;
    if (!file) {
        const char *env = getenv("LESTER_PASSPHRASE");
        if (env && *env)
            *out = ls_strdup(env);
        return 0;
    }
    buf_t b = BUF_INIT(4096);
    int rc = fs_read_all(file, 4096, &b);
    if (rc < 0) {
        buf_printf(err, "cannot read passphrase file %s: %s", file, ls_strerror(rc));
        buf_wipe(&b);
        return rc;
    }
    size_t n = 0;
    while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
        n++;
    *out = ls_strndup(b.len ? (const char *)b.data : "", n);
    buf_wipe(&b);
    return 0;
}

int
home_lock(const char *dir, int *fd_out, buf_t *err)
{
    char *path = home_path(dir, HOME_LOCK);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0) {
        buf_printf(err, "cannot open the lock file in %s: %s", dir, strerror(errno));
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int pid = home_daemon_pid(dir);
        buf_printf(err, "another lester daemon (pid %d) is using %s; stop it first", pid, dir);
        close(fd);
        return LS_ELOCKED;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
        log_warn("cannot record pid in the lock file: %s", strerror(errno));
    *fd_out = fd;
    return 0;
}

void
home_unlock(int fd)
{
    if (fd < 0)
        return;
    if (ftruncate(fd, 0) < 0)
        log_debug("lock truncate: %s", strerror(errno));
    close(fd);
}

int
home_daemon_pid(const char *dir)
{
    char *path = home_path(dir, HOME_LOCK);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd < 0)
        return 0;
    int pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) < 0) {   /* held: a daemon is alive */
        char b[32] = { 0 };
        if (pread(fd, b, sizeof b - 1, 0) > 0)
            pid = (int)strtol(b, NULL, 10);
    }
    close(fd);
    return pid;
}
