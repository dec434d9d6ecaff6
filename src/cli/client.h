/* client — the CLI's blocking HTTP/1.1 client for the daemon's API.
 *
 * The daemon is found through --api HOST:PORT, else the `api` file in the data
 * directory; the token for POSTs comes from `api.cookie` beside it. */
#ifndef LS_CLI_CLIENT_H
#define LS_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cli/cli.h"
#include "lib/buf/buf.h"

typedef struct client_resp_t {
    int status;           /* HTTP status */
    buf_t body;
    json_t *json;         /* parsed body when it is JSON, else NULL */
} client_resp_t;

/** Perform one request. `body` may be NULL. Returns 0 (any HTTP status),
 *  LS_ENOTRUNNING when no daemon answers, or another negative error. On error a
 *  message for the user is in `err`. Free the response with client_resp_free(). */
int client_call(const cli_t *cli, const char *method, const char *path, const char *body,
                size_t body_len, client_resp_t *resp, buf_t *err);
void client_resp_free(client_resp_t *resp);

/** Call and turn every failure into a printed message and an exit code:
 *  EXIT_OK with resp filled (2xx), else EXIT_NODAEMON / EXIT_FAIL with resp freed. */
int client_call_ok(const cli_t *cli, const char *cmd, const char *method, const char *path,
                   json_t *body /* taken */, client_resp_t *resp);

/** Called with each line of a streamed answer (without its newline, NUL-terminated,
 *  borrowed); return false to stop reading. */
typedef bool (*client_line_fn)(void *ctx, const char *line, size_t len);

/** POST `body` (taken) to `path` and read a streamed (chunked) answer line by line
 *  until the daemon ends it, `fn` returns false, or the connection drops. Returns an
 *  exit code as client_call_ok() does (EXIT_OK when the stream ended normally). */
int client_stream(const cli_t *cli, const char *cmd, const char *path, json_t *body,
                  client_line_fn fn, void *ctx);

/** Resolve the API endpoint of the daemon for `cli` into host/port. */
int client_endpoint(const cli_t *cli, char *host, size_t hostlen, unsigned *port, buf_t *err);

#endif
