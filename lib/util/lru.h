/*
 * lru.h - an intrusive least-recently-used list for bounded caches.
 *
 * An entry embeds a struct lru_link; the list keeps the most recently used
 * entry at the head, so the tail is the one to evict.  No allocation, no
 * locking: the cache that owns the list does both.
 */
#ifndef DANEMAIL_UTIL_LRU_H
#define DANEMAIL_UTIL_LRU_H

#include <stddef.h>

struct lru_link {
	struct lru_link *prev, *next;
};

struct lru_list {
	struct lru_link *head, *tail;
};

/* The entry of type T that holds link `l` as member `member`. */
#define LRU_ENTRY(l, T, member) ((T *)(void *)((char *)(l)-offsetof(T, member)))

/* Take l out of the list. */
void lru_unlink(struct lru_list *list, struct lru_link *l);
/* Put l at the head (most recently used); l must not be in the list. */
void lru_push_front(struct lru_list *list, struct lru_link *l);
/* Move l, which is in the list, to the head. */
void lru_touch(struct lru_list *list, struct lru_link *l);

#endif
