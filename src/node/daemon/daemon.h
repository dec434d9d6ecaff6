/* daemon — `lester daemon`: bring a node up, serve until SIGINT/SIGTERM, shut down
 * cleanly. */
#ifndef LS_NODE_DAEMON_H
#define LS_NODE_DAEMON_H

typedef struct daemon_opts_t {
    const char *home;            /* resolved data directory */
    const char *log_level;       /* NULL: from config */
    const char *log_file;        /* NULL: from config */
    int api_port;                /* -1: from config */
    const char *passphrase;      /* for an encrypted identity, or NULL */
} daemon_opts_t;

/** Run until stopped. Returns 0 after a clean shutdown, or a negative error after
 *  printing what went wrong and what to do to standard error. */
int daemon_run(const daemon_opts_t *opts);

#endif
