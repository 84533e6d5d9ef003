/* metrics.c - counters, histograms, label tables and the text format (see
 * metrics.h). */
#include "lib/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double mx_bucket_le[MX_BUCKETS] = {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
					 0.1,     0.25,   0.5,   1,      2.5,   5,    10};

void mx_observe_us(struct mx_hist *h, uint64_t us)
{
	size_t i = 0;

	while (i < MX_BUCKETS && (double)us > mx_bucket_le[i] * 1e6)
		i++;
	mx_add(&h->bucket[i], 1);
	mx_add(&h->sum_us, us);
	mx_add(&h->count, 1);
}

/* ---- label values -------------------------------------------------------- */

#define MX_NAME_LEN 255
#define NSLOTS      (2 * MX_NAMES_MAX)

static size_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)(h % NSLOTS);
}

/* The slot holding `name`, or the empty slot where it would go. */
static size_t probe(struct mx_names *t, const char *name, struct mx_name **found)
{
	size_t i = hash(name);

	for (size_t k = 0; k < NSLOTS; k++, i = (i + 1) % NSLOTS) {
		struct mx_name *e = atomic_load_explicit(&t->slot[i], memory_order_acquire);
		if (e == NULL || strcmp(e->name, name) == 0) {
			*found = e;
			return i;
		}
	}
	*found = NULL; /* cannot happen: at most half the slots are used */
	return NSLOTS;
}

size_t mx_names_index(struct mx_names *t, const char *name)
{
	struct mx_name *e;
	size_t i, len = strlen(name), n;

	if (len > MX_NAME_LEN)
		return MX_OTHER;
	probe(t, name, &e);
	if (e != NULL)
		return e->index;
	pthread_mutex_lock(&t->mu);
	i = probe(t, name, &e); /* again: another thread may have added it */
	n = atomic_load_explicit(&t->n, memory_order_relaxed);
	if (e == NULL && i < NSLOTS && n < MX_NAMES_MAX && (e = malloc(sizeof *e + len + 1))) {
		e->index = n;
		memcpy(e->name, name, len + 1);
		atomic_store_explicit(&t->name[n], e->name, memory_order_release);
		atomic_store_explicit(&t->slot[i], e, memory_order_release);
		atomic_store_explicit(&t->n, n + 1, memory_order_release);
	}
	pthread_mutex_unlock(&t->mu);
	return e != NULL ? e->index : MX_OTHER;
}

size_t mx_names_count(const struct mx_names *t)
{
	return atomic_load_explicit((atomic_size_t *)&t->n, memory_order_acquire);
}

const char *mx_names_get(const struct mx_names *t, size_t i)
{
	const char *s = NULL;

	if (i != MX_OTHER && i < MX_NAMES_MAX)
		s = atomic_load_explicit((_Atomic(const char *) *)&t->name[i],
					 memory_order_acquire);
	return s != NULL ? s : MX_OTHER_NAME;
}

/* ---- the text format ----------------------------------------------------- */

void mx_family(struct mx_out *o, const char *name, const char *type, const char *help)
{
	if (o->st == ST_OK)
		o->st = buf_printf(o->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void mx_sample(struct mx_out *o, const char *name, const char *labels, uint64_t value)
{
	if (o->st == ST_OK)
		o->st =
		    buf_printf(o->b, "%s%s%s%s %llu\n", name, labels ? "{" : "",
			       labels ? labels : "", labels ? "}" : "", (unsigned long long)value);
}

void mx_histogram(struct mx_out *o, const char *name, const char *labels, const struct mx_hist *h)
{
	uint64_t cum = 0, count;
	const char *sep = labels ? "," : "";

	/* count first: a bucket observed during the scrape then shows in
	 * +Inf without making a bucket exceed the count */
	count = mx_get(&h->count);
	for (size_t i = 0; i <= MX_BUCKETS && o->st == ST_OK; i++) {
		cum += mx_get(&h->bucket[i]);
		if (i == MX_BUCKETS)
			cum = cum > count ? cum : count;
		if (i < MX_BUCKETS)
			o->st = buf_printf(o->b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
					   labels ? labels : "", sep, mx_bucket_le[i],
					   (unsigned long long)cum);
		else
			o->st = buf_printf(o->b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name,
					   labels ? labels : "", sep, (unsigned long long)cum);
	}
	if (o->st == ST_OK)
		o->st =
		    buf_printf(o->b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name,
			       labels ? "{" : "", labels ? labels : "", labels ? "}" : "",
			       (double)mx_get(&h->sum_us) / 1e6, name, labels ? "{" : "",
			       labels ? labels : "", labels ? "}" : "", (unsigned long long)cum);
}

const char *mx_labels(char *dst, size_t cap, size_t n, const char *const kv[])
{
	size_t at = 0;

	if (cap == 0)
		return dst;
	dst[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *k = kv[2 * i], *v = kv[2 * i + 1];
		size_t need = strlen(k) + 4 + 2 * strlen(v);
		if (at + need >= cap)
			continue;
		if (at > 0)
			dst[at++] = ',';
		at += (size_t)snprintf(dst + at, cap - at, "%s=\"", k);
		for (; *v != '\0'; v++) {
			if (*v == '\\' || *v == '"' || *v == '\n') {
				dst[at++] = '\\';
				dst[at++] = *v == '\n' ? 'n' : *v;
			} else {
				dst[at++] = *v;
			}
		}
		dst[at++] = '"';
		dst[at] = '\0';
	}
	return dst;
}
