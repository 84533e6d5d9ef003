/* metrics.h - the pieces of GET /metrics (docs/operations.md, "Metrics"):
 * lock-free counters and latency histograms, a bounded table of label
 * values, and the Prometheus text exposition format 0.0.4.
 *
 * Counters are relaxed atomic adds: no lock and no syscall on the paths
 * that count. A scrape reads them without stopping anyone, so two series
 * read in one scrape may be a few events apart; each series is monotonic.
 * Label values are either fixed literals of the caller or names taken from
 * an `mx_names` table, which holds at most MX_NAMES_MAX of them (the rest
 * count under MX_OTHER): no request can grow the series without bound. */
#ifndef GRANTD_LIB_METRICS_H
#define GRANTD_LIB_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/str.h"

typedef _Atomic uint64_t mx_counter;

static inline void mx_add(mx_counter *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t mx_get(const mx_counter *c)
{
	return atomic_load_explicit((mx_counter *)c, memory_order_relaxed);
}

/* Latency buckets: upper bounds in seconds (0.25 ms .. 10 s). */
#define MX_BUCKETS 15
extern const double mx_bucket_le[MX_BUCKETS];

struct mx_hist {
	mx_counter bucket[MX_BUCKETS + 1]; /* per bucket, the last one +Inf; not cumulative */
	mx_counter sum_us;
	mx_counter count;
};

void mx_observe_us(struct mx_hist *h, uint64_t us);

/* ---- label values -------------------------------------------------------- */

#define MX_NAMES_MAX  256
#define MX_OTHER      0        /* the index of every name past the table's capacity */
#define MX_OTHER_NAME "_other" /* its label value */

/* Names (tenant domains) to dense indexes 1..MX_NAMES_MAX-1, assigned in
 * first-seen order. Looking a known name up takes no lock (an open-addressed
 * hash of published pointers); a new name takes the table's mutex once.
 * Names are kept for the life of the process. */
struct mx_name {
	size_t index;
	char name[];
};

struct mx_names {
	_Atomic(struct mx_name *) slot[2 * MX_NAMES_MAX]; /* the hash */
	_Atomic(const char *) name[MX_NAMES_MAX];         /* by index; [0] unused */
	atomic_size_t n;                                  /* indexes handed out, 1 + names */
	pthread_mutex_t mu;
};
#define MX_NAMES_INIT                                                                              \
	{                                                                                          \
		.n = 1, .mu = PTHREAD_MUTEX_INITIALIZER                                            \
	}

/* The index of `name` (at most 255 bytes), adding it; MX_OTHER when the table is
 * full or memory is short. */
size_t mx_names_index(struct mx_names *t, const char *name);
/* How many indexes are in use (1 + names): iterate 0 .. mx_names_count()-1. */
size_t mx_names_count(const struct mx_names *t);
/* The label value of index `i`: MX_OTHER_NAME for MX_OTHER. */
const char *mx_names_get(const struct mx_names *t, size_t i);

/* ---- the text format ----------------------------------------------------- */

/* A scrape's output: the first failure sticks and later calls do nothing. */
struct mx_out {
	struct buf *b;
	status st;
};

/* `# HELP name help` and `# TYPE name type` ("counter", "gauge", "histogram"). */
void mx_family(struct mx_out *o, const char *name, const char *type, const char *help);
/* `name{labels} value`: `labels` is NULL or made by mx_labels (without braces). */
void mx_sample(struct mx_out *o, const char *name, const char *labels, uint64_t value);
/* name_bucket{labels,le=...} (cumulative), name_sum (seconds), name_count. */
void mx_histogram(struct mx_out *o, const char *name, const char *labels, const struct mx_hist *h);

/* Writes `k1="v1",k2="v2"...` for `n` key/value pairs into `dst` (values
 * escaped as the format wants: \\, \" and \n). Returns `dst`; a pair that
 * does not fit is left out (the callers' values are short). */
const char *mx_labels(char *dst, size_t cap, size_t n, const char *const kv[]);

#endif
