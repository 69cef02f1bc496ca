/* arena.h — bump allocator for everything that lives as long as one page.
 *
 * One arena per analysed page (or per fetch): the page model, its strings and
 * Gumbo's allocations all come from it, and qw_arena_destroy() releases them
 * at once. Allocation failure returns NULL; nothing here aborts. */
#ifndef QW_ARENA_H
#define QW_ARENA_H

#include <stddef.h>

typedef struct qw_arena qw_arena;

/* Returns a new arena whose chunks are at least chunk_size bytes (0 picks a
 * default), or NULL when out of memory. Free with qw_arena_destroy(). */
qw_arena *qw_arena_new(size_t chunk_size);

/* Returns size bytes aligned for any type, valid until the arena is
 * destroyed, or NULL. A request of 0 bytes returns a valid unique pointer. */
void *qw_arena_alloc(qw_arena *a, size_t size);

/* Copies len bytes of s and a terminating NUL into the arena. */
char *qw_arena_strndup(qw_arena *a, const char *s, size_t len);

/* Bytes handed out so far (for memory accounting), and bytes reserved. */
size_t qw_arena_used(const qw_arena *a);
size_t qw_arena_reserved(const qw_arena *a);

/* Frees every chunk. NULL is accepted. */
void qw_arena_destroy(qw_arena *a);

#endif
