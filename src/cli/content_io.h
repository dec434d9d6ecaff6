/* content_io — CLI helpers of the content commands: a byte stream from the daemon
 * (`lester cat`), JSON-line events with a progress bar (`add`, `get`, `cat`). */
#ifndef LS_CLI_CONTENT_IO_H
#define LS_CLI_CONTENT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"

/** POST `body` (JSON text) to `path` and write the answer's bytes to `out`.
 *  Returns an exit code; errors are printed as "lester <cmd>: ...". */
int content_stream_bytes(const cli_t *cli, const char *cmd, const char *path, const char *body,
                         FILE *out, uint64_t *written);

/** A download by the daemon (/api/v0/fetch) followed with a progress bar. */
typedef struct content_fetch_t {
    const char *cmd;  /* for messages: "get", "cat", ... */
    const char *cid;  /* a CID or a content path <cid>/<name>/... */
    bool quiet;       /* no progress bar */
    long timeout_s;   /* give up when no block arrives for that long (0: never) */
    const char *path; /* get: the daemon writes the file there while downloading */
    bool block;       /* that one block only (block get) */
    bool written;     /* out: the daemon wrote `path` during the download */
} content_fetch_t;

/** Run the download `o` describes. Returns an exit code (errors printed); `*last`
 *  (may be NULL) gets the last progress event (new reference, or NULL). */
int content_fetch(cli_t *cli, content_fetch_t *o, json_t **last);

/** A progress bar on stderr, drawn only when stderr is a terminal. */
typedef struct progress_t {
    bool on;
    uint64_t last_ms;
    const char *label;
} progress_t;

void progress_init(progress_t *p, const char *label, bool quiet);
/** Redraw (at most every 100 ms): bytes of total, rate in bytes/s, peers (<0: hide),
 *  ETA in seconds (<0: unknown). */
void progress_draw(progress_t *p, uint64_t bytes, uint64_t total, double rate, int peers,
                   double eta);
/** Clear the bar's line. */
void progress_done(progress_t *p);

#endif
