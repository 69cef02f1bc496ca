/* arena.c — bump allocator for page-lifetime memory (see arena.h). */
#include "arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u
#define ARENA_DEFAULT_CHUNK (64u * 1024u)

typedef struct chunk {
  struct chunk *next;
  size_t size; /* usable bytes after the header */
  size_t used;
  _Alignas(16) unsigned char data[];
} chunk;

struct qw_arena {
  chunk *head;
  size_t chunk_size;
  size_t used;
  size_t reserved;
};

qw_arena *qw_arena_new(size_t chunk_size)
{
  qw_arena *a = calloc(1, sizeof(*a));
  if(!a)
    return NULL;
  a->chunk_size = chunk_size ? chunk_size : ARENA_DEFAULT_CHUNK;
  return a;
}

static chunk *chunk_new(size_t size)
{
  if(size > SIZE_MAX - sizeof(chunk))
    return NULL;
  chunk *c = malloc(sizeof(chunk) + size);
  if(!c)
    return NULL;
  c->next = NULL;
  c->size = size;
  c->used = 0;
  return c;
}

void *qw_arena_alloc(qw_arena *a, size_t size)
{
  if(size > SIZE_MAX - ARENA_ALIGN)
    return NULL;
  size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if(need == 0)
    need = ARENA_ALIGN;
  chunk *c = a->head;
  if(!c || c->size - c->used < need) {
    /* Big requests get their own chunk behind the head, so the head's free
     * space is not wasted. */
    if(need > a->chunk_size / 4 && c) {
      chunk *big = chunk_new(need);
      if(!big)
        return NULL;
      big->used = need;
      big->next = c->next;
      c->next = big;
      a->used += need;
      a->reserved += need;
      return big->data;
    }
    size_t sz = need > a->chunk_size ? need : a->chunk_size;
    chunk *n = chunk_new(sz);
    if(!n)
      return NULL;
    n->next = c;
    a->head = n;
    a->reserved += sz;
    c = n;
  }
  void *p = c->data + c->used;
  c->used += need;
  a->used += need;
  return p;
}

char *qw_arena_strndup(qw_arena *a, const char *s, size_t len)
{
  if(len == SIZE_MAX)
    return NULL;
  char *p = qw_arena_alloc(a, len + 1);
  if(!p)
    return NULL;
  if(len)
    memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

size_t qw_arena_used(const qw_arena *a)
{
  return a->used;
}

size_t qw_arena_reserved(const qw_arena *a)
{
  return a->reserved;
}

void qw_arena_destroy(qw_arena *a)
{
  if(!a)
    return;
  chunk *c = a->head;
  while(c) {
    chunk *n = c->next;
    free(c);
    c = n;
  }
  free(a);
}
