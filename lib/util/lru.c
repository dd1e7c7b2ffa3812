/*
 * lru.c - intrusive LRU list (see lru.h).
 */
#include "util/lru.h"

void
lru_unlink(struct lru_list *list, struct lru_link *l)
{
	if (l->prev)
		l->prev->next = l->next;
	else
		list->head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	else
		list->tail = l->prev;
	l->prev = l->next = NULL;
}

void
lru_push_front(struct lru_list *list, struct lru_link *l)
{
	l->prev = NULL;
	l->next = list->head;
	if (list->head)
		list->head->prev = l;
	list->head = l;
	if (list->tail == NULL)
		list->tail = l;
}

void
lru_touch(struct lru_list *list, struct lru_link *l)
{
	lru_unlink(list, l);
	lru_push_front(list, l);
}
